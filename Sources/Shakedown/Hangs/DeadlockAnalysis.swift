/// Deadlocks among Shakedown process mutexes, found from captured snapshots.
///
/// Every mutex record names its owner thread and the threads waiting for it. A waiting thread points at the owner
/// of the mutex it waits for; a cycle of such pointers is a deadlock: nobody in it can ever proceed. Mutexes
/// mapped by several processes (one memfd, many mappings) are counted once, keyed by device and inode. Building the
/// analysis reads nothing from the system except whether owners are still alive (done at capture).
public struct DeadlockAnalysis: Hashable, Sendable, Codable {
    /// One step of a cycle: `waiter` is blocked on `mutex`, which `owner` holds.
    public struct Wait: Hashable, Sendable, Codable {
        /// The blocked thread.
        public var waiter: ThreadID
        /// The waiter as the explanation names it ("worker 2 / thread 4711").
        public var waiterLabel: String
        /// The name of the mutex it waits for.
        public var mutex: String
        /// The thread holding that mutex.
        public var owner: ThreadID
        /// The owner as the explanation names it.
        public var ownerLabel: String
        /// Where the waiter is blocked in its own code: its innermost user frames (at most three, innermost
        /// first), empty when its stack was not captured.
        public var waiterFrames: [Frame]
    }

    /// A cycle of waits: every thread in it waits for the next one, the last for the first.
    public struct Deadlock: Hashable, Sendable, Codable {
        /// The waits around the cycle, starting at its smallest thread id.
        public var waits: [Wait]
        /// The cycle in words: "worker 2 / thread 4711 waits for mutex `accounts` held by worker 5 / thread 4733,
        /// which waits for mutex `ledger` held by worker 2 / thread 4711", then where each thread is blocked.
        public var explanation: String
    }

    /// Every distinct mutex seen, by name.
    public var mutexes: [MutexSnapshot]
    /// The cycles found; empty when there is no deadlock among the captured processes.
    public var deadlocks: [Deadlock]
    /// Mutexes whose recorded owner no longer exists.
    public var abandonedMutexes: [MutexSnapshot]

    /// Analyses `snapshots`, given in the order they were captured (for a mutex seen in several, the last read
    /// counts). `labels` names processes in the explanation ("worker 2"); unlabelled ones are "pid 1234".
    ///
    /// Snapshots of different processes are taken one after another, not at one instant: a process captured
    /// earlier may show a thread still on its way to the lock that a later snapshot shows it waiting for. A real
    /// deadlock does not change, so capturing again gives the same answer; a cycle seen once may be a moment.
    public init(snapshots: [ProcessSnapshot], labels: [Int32: String] = [:]) {
        var byIdentity: [String: MutexSnapshot] = [:]
        var order: [String] = []
        for snapshot in snapshots {
            for mutex in snapshot.mutexes {
                let key = "\(mutex.device) \(mutex.inode)"
                if byIdentity[key] == nil { order.append(key) }
                // The same record read from several processes: snapshots come in capture order, so the last read
                // is the newest.
                byIdentity[key] = mutex
            }
        }
        mutexes = order.compactMap { byIdentity[$0] }
        abandonedMutexes = mutexes.filter { $0.owner != nil && $0.ownerIsAlive == false }

        var userFrames: [ThreadID: [Frame]] = [:]
        for snapshot in snapshots {
            for thread in snapshot.threads {
                userFrames[ThreadID(pid: snapshot.pid, tid: thread.tid)] = Array(thread.frames.filter(\.isUserCode).prefix(3))
            }
        }
        // Each blocked thread waits for exactly one mutex.
        var waitsFor: [ThreadID: (mutex: MutexSnapshot, owner: ThreadID)] = [:]
        for mutex in mutexes {
            guard let owner = mutex.owner else { continue }
            for waiter in mutex.waiters where waiter != owner { waitsFor[waiter] = (mutex, owner) }
        }
        var deadlocks: [Deadlock] = []
        var finished = Set<ThreadID>()
        for start in waitsFor.keys.sorted() where !finished.contains(start) {
            var path: [ThreadID] = []
            var position: [ThreadID: Int] = [:]
            var current: ThreadID? = start
            while let thread = current, !finished.contains(thread) {
                if let index = position[thread] {
                    let cycle = Self.rotated(Array(path[index...]))
                    let waits = cycle.compactMap { waiter -> Wait? in
                        guard let edge = waitsFor[waiter] else { return nil }
                        return Wait(waiter: waiter, waiterLabel: Self.label(waiter, labels), mutex: edge.mutex.name,
                                    owner: edge.owner, ownerLabel: Self.label(edge.owner, labels),
                                    waiterFrames: userFrames[waiter] ?? [])
                    }
                    deadlocks.append(Deadlock(waits: waits, explanation: Self.explain(waits)))
                    break
                }
                position[thread] = path.count
                path.append(thread)
                current = waitsFor[thread]?.owner
            }
            finished.formUnion(path)
        }
        self.deadlocks = deadlocks
    }

    /// Everything found, in words; "no deadlock among N mutexes" when there is nothing.
    public var explanation: String {
        var lines: [String] = []
        for (index, deadlock) in deadlocks.enumerated() {
            lines.append("Deadlock \(index + 1) of \(deadlocks.count): " + deadlock.explanation)
        }
        for mutex in abandonedMutexes {
            lines.append("Mutex `\(mutex.name)` is held by \(mutex.owner.map { "\($0)" } ?? "?"), which no longer exists: "
                + "the work it did under the lock was cut off (the next locker recovers the mutex, it is robust).")
        }
        if lines.isEmpty {
            lines.append("No deadlock among \(mutexes.count) Shakedown mutex\(mutexes.count == 1 ? "" : "es").")
        }
        return lines.joined(separator: "\n")
    }

    static func label(_ thread: ThreadID, _ labels: [Int32: String]) -> String {
        "\(labels[thread.pid] ?? "pid \(thread.pid)") / thread \(thread.tid)"
    }

    /// Starts the cycle at its smallest thread, so the same deadlock always reads the same way.
    private static func rotated(_ cycle: [ThreadID]) -> [ThreadID] {
        guard let smallest = cycle.indices.min(by: { cycle[$0] < cycle[$1] }) else { return cycle }
        return Array(cycle[smallest...] + cycle[..<smallest])
    }

    private static func explain(_ waits: [Wait]) -> String {
        guard let first = waits.first else { return "" }
        var text = "\(first.waiterLabel) waits for mutex `\(first.mutex)` held by \(first.ownerLabel)"
        for wait in waits.dropFirst() {
            text += ", which waits for mutex `\(wait.mutex)` held by \(wait.ownerLabel)"
        }
        text += "."
        for wait in waits {
            if !wait.waiterFrames.isEmpty {
                text += "\n  \(wait.waiterLabel) is blocked in "
                    + wait.waiterFrames.map(\.shortDescription).joined(separator: ", called from ")
            } else {
                text += "\n  \(wait.waiterLabel): no stack captured"
            }
        }
        return text
    }
}
