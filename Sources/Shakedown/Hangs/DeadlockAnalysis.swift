/// Deadlocks among the captured threads and processes, over every lock capture can read: glibc pthread mutexes
/// (NSLock), PI futexes (Swift `Mutex`), file locks (flock, fcntl) and Shakedown process mutexes.
///
/// Each blocked thread points at the holder of the lock it waits for (see ``WaitForGraph``); a cycle of such
/// pointers is a deadlock: nobody in it can ever proceed. Threads outside a cycle that wait, directly or through
/// others, for a member of one are listed as blocked behind it. A wait whose owner no longer exists is "owner gone",
/// never part of a cycle; a lock whose owner runs is no cycle either. Building the analysis reads nothing from the
/// system (what owners are alive was read at capture).
public struct DeadlockAnalysis: Hashable, Sendable, Codable {
    /// One step of a cycle: `waiter` is blocked on `mutex`, which `owner` holds.
    public struct Wait: Hashable, Sendable, Codable {
        /// The blocked thread.
        public var waiter: ThreadID
        /// The waiter as the explanation names it ("worker 2 / thread 4711").
        public var waiterLabel: String
        /// The name of the lock it waits for: the Shakedown mutex's name, or for other locks how reports name them
        /// ("pthread mutex `ledger`", "pthread mutex 0x55d0…", "file lock `flock /tmp/a`").
        public var mutex: String
        /// The family of the lock.
        public var lockKind: LockWait.Kind
        /// The thread holding that lock (for a lock held by a process as a whole: its main thread).
        public var owner: ThreadID
        /// The owner as the explanation names it.
        public var ownerLabel: String
        /// Where the waiter is blocked in its own code: its innermost user frames (at most three, innermost
        /// first), empty when its stack was not captured.
        public var waiterFrames: [Frame]

        /// "worker 1 / thread 11 (transfer at main.swift:20) waits for pthread mutex `ledger` held by …".
        public var sentence: String {
            "\(waiterLabel)\(waiterFrames.first.map { " (\(DeadlockAnalysis.compact($0)))" } ?? "") waits for "
                + (lockKind == .shakedownMutex ? "mutex `\(mutex)`" : mutex) + " held by \(ownerLabel)"
        }
    }

    /// A cycle of waits: every thread in it waits for the next one, the last for the first.
    public struct Deadlock: Hashable, Sendable, Codable {
        /// The waits around the cycle, starting at its smallest thread id.
        public var waits: [Wait]
        /// The cycle in words, one wait per line ("worker 1 / thread 11 (transfer at main.swift:20) waits for mutex
        /// `ledger` held by worker 2 / thread 12 (…)"), then where each thread is blocked.
        public var explanation: String
    }

    /// Every distinct Shakedown mutex seen.
    public var mutexes: [MutexSnapshot]
    /// The cycles found; empty when there is no deadlock among the captured processes.
    public var deadlocks: [Deadlock]
    /// Shakedown mutexes whose recorded owner no longer exists.
    public var abandonedMutexes: [MutexSnapshot]
    /// The whole wait-for graph: every blocked thread with a known lock holder.
    public var graph: WaitForGraph
    /// Threads that are in no cycle but wait, directly or through others, for a thread or process in one.
    public var blockedBehindDeadlock: [Wait]
    /// Waits for a lock whose owner thread no longer exists ("owner gone"): nobody will ever unlock it.
    public var ownerGone: [Wait]

    /// Analyses `snapshots`, given in the order they were captured (for a Shakedown mutex seen in several, the last
    /// read counts). `labels` names processes in the explanation ("worker 2"); unlabelled ones are "pid 1234".
    ///
    /// Without ``HangInspector/captureAll(pids:)`` (which stops every process first) snapshots of different
    /// processes are taken one after another: a process captured earlier may show a thread still on its way to
    /// the lock that a later snapshot shows it waiting for. A real deadlock does not change, so capturing again
    /// gives the same answer.
    public init(snapshots: [ProcessSnapshot], labels: [Int32: String] = [:]) {
        var byIdentity: [String: MutexSnapshot] = [:]
        var order: [String] = []
        for snapshot in snapshots {
            for mutex in snapshot.mutexes {
                let key = "\(mutex.device) \(mutex.inode)"
                if byIdentity[key] == nil { order.append(key) }
                byIdentity[key] = mutex
            }
        }
        mutexes = order.compactMap { byIdentity[$0] }
        abandonedMutexes = mutexes.filter { $0.owner != nil && $0.ownerIsAlive == false }

        var threads: [ThreadID: ThreadSnapshot] = [:]
        var threadsOf: [Int32: [ThreadID]] = [:]
        for snapshot in snapshots {
            for thread in snapshot.threads {
                let id = ThreadID(pid: snapshot.pid, tid: thread.tid)
                threads[id] = thread
                threadsOf[snapshot.pid, default: []].append(id)
            }
        }
        let edges = Self.edges(mutexes: mutexes, snapshots: snapshots)
        graph = WaitForGraph(edges: edges)
        let next = graph.adjacency(threadsOf: threadsOf)
        let describe = Describer(labels: labels, threads: threads)

        var inCycle = Set<WaitForGraph.Node>()
        var deadlocks: [Deadlock] = []
        for component in WaitForGraph.cycles(next) {
            inCycle.formUnion(component)
            let loop = WaitForGraph.walk(component, next)
            let waits = Self.waits(along: loop, edges: edges, describe: describe)
            deadlocks.append(Deadlock(waits: waits, explanation: Self.explain(waits)))
        }
        self.deadlocks = deadlocks
        blockedBehindDeadlock = Self.behind(inCycle, next: next, edges: edges, describe: describe)
        ownerGone = edges.compactMap { edge in
            guard case let .gone(tid) = edge.owner else { return nil }
            return describe.wait(edge, owner: ThreadID(pid: 0, tid: tid), ownerLabel: "thread \(tid), which no longer exists (owner gone)")
        }
    }

    /// Shakedown mutex records first (they know names); a thread they cover is not read again from its futex.
    private static func edges(mutexes: [MutexSnapshot], snapshots: [ProcessSnapshot]) -> [WaitForGraph.Edge] {
        var edges: [WaitForGraph.Edge] = []
        var covered = Set<ThreadID>()
        for mutex in mutexes {
            guard let owner = mutex.owner else { continue }
            for waiter in mutex.waiters where waiter != owner && covered.insert(waiter).inserted {
                edges.append(.init(waiter: waiter, lock: mutex.name, lockIdentity: "shakedown \(mutex.device) \(mutex.inode)",
                                   kind: .shakedownMutex, owner: mutex.ownerIsAlive == false ? .gone(tid: owner.tid) : .thread(id: owner)))
            }
        }
        for snapshot in snapshots {
            for thread in snapshot.threads {
                let waiter = ThreadID(pid: snapshot.pid, tid: thread.tid)
                guard let wait = thread.waitsFor, !covered.contains(waiter) else { continue }
                for owner in wait.owners {
                    edges.append(.init(waiter: waiter, lock: wait.name, lockIdentity: wait.identity, kind: wait.kind, owner: owner))
                }
            }
        }
        return edges
    }

    /// The thread-to-holder waits around a loop of nodes (process nodes are the "held by pid P" of the wait before).
    private static func waits(along loop: [WaitForGraph.Node], edges: [WaitForGraph.Edge], describe: Describer) -> [Wait] {
        var waits: [Wait] = []
        for (position, node) in loop.enumerated() {
            guard case let .thread(waiter) = node else { continue }
            let following = loop[(position + 1) % loop.count]
            let edge = edges.first { edge in
                guard edge.waiter == waiter else { return false }
                switch (edge.owner, following) {
                case let (.thread(owner), .thread(next)): return owner == next
                case let (.process(pid), .process(next)): return pid == next
                default: return false
                }
            }
            if let edge { waits.append(describe.wait(edge)) }
        }
        return waits
    }

    private static func behind(
        _ inCycle: Set<WaitForGraph.Node>, next: [WaitForGraph.Node: [WaitForGraph.Node]], edges: [WaitForGraph.Edge],
        describe: Describer
    ) -> [Wait] {
        guard !inCycle.isEmpty else { return [] }
        var reaches = inCycle
        var changed = true
        while changed {
            changed = false
            for (node, successors) in next where !reaches.contains(node) && successors.contains(where: reaches.contains) {
                reaches.insert(node)
                changed = true
            }
        }
        return edges.filter { edge in
            let node = WaitForGraph.Node.thread(edge.waiter)
            guard !inCycle.contains(node), reaches.contains(node) else { return false }
            switch edge.owner {
            case let .thread(owner): return reaches.contains(.thread(owner))
            case let .process(pid): return reaches.contains(.process(pid))
            case .gone: return false
            }
        }.map { describe.wait($0) }
    }

    /// Everything found, in words: deadlocks first (jstack style), then what waits behind them, owners gone and
    /// abandoned Shakedown mutexes; "No deadlock among …" when there is nothing.
    public var explanation: String {
        var lines: [String] = []
        if deadlocks.count == 1, let only = deadlocks.first {
            lines.append("Found one deadlock (\(only.waits.count) thread\(only.waits.count == 1 ? "" : "s")):" + Self.indented(only.explanation))
        } else {
            for (index, deadlock) in deadlocks.enumerated() {
                lines.append("Deadlock \(index + 1) of \(deadlocks.count) (\(deadlock.waits.count) threads):" + Self.indented(deadlock.explanation))
            }
        }
        if !blockedBehindDeadlock.isEmpty {
            lines.append("Blocked behind the deadlock\(deadlocks.count == 1 ? "" : "s"):")
            lines += blockedBehindDeadlock.map { "  " + $0.sentence }
        }
        for wait in ownerGone {
            lines.append("Owner gone: \(wait.sentence); nobody will ever unlock it.")
        }
        for mutex in abandonedMutexes {
            lines.append("Mutex `\(mutex.name)` is held by \(mutex.owner.map { "\($0)" } ?? "?"), which no longer exists: "
                + "the work it did under the lock was cut off (the next locker recovers the mutex, it is robust).")
        }
        if lines.isEmpty {
            let others = graph.edges.filter { $0.kind != .shakedownMutex }.count
            lines.append("No deadlock among \(mutexes.count) Shakedown mutex\(mutexes.count == 1 ? "" : "es")"
                + (others > 0 ? " and \(others) other lock wait\(others == 1 ? "" : "s")" : "") + ".")
        }
        return lines.joined(separator: "\n")
    }

    /// "pthread_abba.moveLedgerToAccounts at main.swift:18": the function without its Swift signature.
    static func compact(_ frame: Frame) -> String {
        var function = frame.function ?? frame.shortDescription
        if function.hasPrefix("@objc ") { function.removeFirst(6) }
        if !function.hasPrefix("closure"), let parenthesis = function.firstIndex(of: "("), parenthesis != function.startIndex {
            function = String(function[..<parenthesis])
        }
        guard let file = frame.file else { return function }
        return function + " at " + (file.split(separator: "/").last.map(String.init) ?? file) + (frame.line.map { ":\($0)" } ?? "")
    }

    static func label(_ thread: ThreadID, _ labels: [Int32: String]) -> String {
        "\(labels[thread.pid] ?? "pid \(thread.pid)") / thread \(thread.tid)"
    }

    /// One wait per line, then where each waiter is blocked (when more than one user frame is known).
    private static func explain(_ waits: [Wait]) -> String {
        var lines = waits.map(\.sentence)
        for wait in waits where wait.waiterFrames.count > 1 {
            // A thunk (`@objc f`) reads like its function: show each name once.
            var names: [String] = []
            for name in wait.waiterFrames.map(DeadlockAnalysis.compact) where !(names.last.map { $0.hasPrefix(name) } ?? false) {
                names.append(name)
            }
            lines.append("\(wait.waiterLabel) is blocked in " + names.joined(separator: ", called from "))
        }
        return lines.joined(separator: "\n")
    }

    private static func indented(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { "\n  " + $0 }.joined()
    }

    /// Labels and frames for waits.
    private struct Describer {
        var labels: [Int32: String]
        var threads: [ThreadID: ThreadSnapshot]

        func frames(_ id: ThreadID) -> [Frame] {
            Array((threads[id]?.frames ?? []).filter(\.isUserCode).prefix(3))
        }

        func wait(_ edge: WaitForGraph.Edge, owner: ThreadID? = nil, ownerLabel: String? = nil) -> Wait {
            let holder: ThreadID
            var holderLabel: String
            switch edge.owner {
            case let .thread(id):
                holder = id
                holderLabel = DeadlockAnalysis.label(id, labels)
                if let frame = frames(id).first { holderLabel += " (\(DeadlockAnalysis.compact(frame)))" }
            case let .process(pid):
                holder = ThreadID(pid: pid, tid: pid)
                holderLabel = labels[pid] ?? "pid \(pid)"
            case let .gone(tid):
                holder = ThreadID(pid: 0, tid: tid)
                holderLabel = "thread \(tid), which no longer exists (owner gone)"
            }
            return Wait(waiter: edge.waiter, waiterLabel: DeadlockAnalysis.label(edge.waiter, labels), mutex: edge.lock,
                        lockKind: edge.kind, owner: owner ?? holder, ownerLabel: ownerLabel ?? holderLabel,
                        waiterFrames: frames(edge.waiter))
        }
    }
}
