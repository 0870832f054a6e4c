#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// Decides, seeded, which process's controlled system call goes on next: the `syscalls` mode's scheduler.
///
/// It holds every copy's seccomp listener. The rule: wait until every live copy is parked in a controlled call (or
/// has exited), then let one go on, chosen by a SplitMix64 generator seeded with the run's seed. With one copy
/// running at a time, the order of controlled calls (``events``) depends only on the seed: the same seed gives the
/// same order. A copy that blocks outside a controlled call (a `flock` whose holder is parked, a futex, a pipe) would
/// wedge that rule, so the wait is bounded: when every unparked copy sleeps in the kernel (its /proc state is S on two
/// checks in a row, after its first controlled call; ``blockedReleases``), or an unparked copy used ``boundedWait`` of
/// processor time without a new notification (``timeoutReleases``), one parked copy is released anyway. After a
/// timeout release the order is no longer guaranteed to repeat; a blocked release repeats as long as the blocking
/// does (a copy waiting for a lock a parked copy holds is blocked on every run).
///
/// Cost: one notification round trip per controlled call, about 4–6 µs on a 2-core VM, idle or loaded, with
/// synchronous wake-ups (Linux 6.6+; without them ~60 µs on an idle VM, where each hand-off woke a halted vCPU)
/// (docs/benchmarks.md, "Controlled system calls").
package final class SyscallScheduler {
    /// One released call: which copy, which system call number.
    package struct Event: Hashable, Sendable, CustomStringConvertible {
        package let copy: Int
        package let syscall: Int32
        package var description: String { "\(copy):\(syscall)" }
    }

    private struct Copy {
        let pid: pid_t
        let listener: CInt
        var pending: [(id: UInt64, syscall: Int32)] = []
        var alive = true
        /// Whether it reached a controlled call yet: before that it is still being exec'd and loaded, and a sleep
        /// there (a page read from disk) is not a block on another copy.
        var started = false
    }

    /// How the next parked copy is chosen.
    package enum Strategy: Hashable, Sendable {
        /// Uniformly among the parked copies.
        case random
        /// PCT (Burckhardt et al., ASPLOS 2010): distinct random priorities per copy, the highest-priority parked copy
        /// goes on, and at `depth - 1` random steps within `1...expectedSteps` the running copy drops below all others.
        /// For n copies and k steps a bug of depth d is found with probability at least 1/(n·k^(d−1)) per run, as long
        /// as one copy runs at a time (no bounded-wait releases) and k bounds the run's controlled calls.
        case pct(depth: Int, expectedSteps: Int)
    }

    private var copies: [Copy] = []
    private var generator: SplitMix64
    private let strategy: Strategy
    private var priorities: [Int: Int] = [:]
    private var changePoints: [Int] = []
    /// PCT's guard against a yield loop: how often in a row the same copy was released from `sched_yield` while
    /// others were parked, and the priority below every other one handed out next.
    private var yieldStreak = (copy: -1, count: 0)
    private var lowestPriority = 0
    private static let yieldNumber = shakedown_syscall_number("sched_yield")
    /// Releases of one copy's `sched_yield` in a row (others parked) after which PCT lowers it below all others.
    package static let yieldStreakLimit = 64
    /// The longest wait for a copy that is neither parked nor asleep before releasing a parked one anyway.
    package let boundedWait: Duration
    /// Listeners on which the kernel wakes the other side of a round trip on the waker's processor
    /// (``shakedown_notify_sync_wakeup``, Linux 6.6+); placement only, the released order does not depend on it.
    package private(set) var synchronousWakeups = 0
    /// Every released call, in order.
    package private(set) var events: [Event] = []
    /// Releases made while every unparked copy slept in the kernel outside a controlled call (a lock, a barrier, a
    /// pipe): the parked ones were let go so the run does not wedge.
    package private(set) var blockedReleases = 0
    /// Releases made because ``boundedWait`` passed while a copy ran outside a controlled call: after one, the order
    /// depends on timing and need not repeat.
    package private(set) var timeoutReleases = 0
    /// Releases made under either bounded-wait rule.
    package var fallbacks: Int { blockedReleases + timeoutReleases }
    /// A schedule to follow (``SyscallSchedule/events``): while it lasts, each release goes to the copy it names.
    private let replay: [Event]?
    /// The index in the replayed schedule at which the run did something else (the named copy was not parked when
    /// every other one was, or it was parked in another call); from there on the strategy chose. `nil` while it
    /// follows, or without a replay.
    package private(set) var divergedAt: Int?

    /// - Throws: `.invalidArgument("boundedWait")` outside 100 µs...10 s; `.invalidArgument("strategy")` for a PCT
    ///   depth outside 1...100 or expected steps outside 1...100,000,000.
    package init(seed: Seed, strategy: Strategy = .random, boundedWait: Duration = .milliseconds(20),
                 replay: [Event]? = nil) throws(ShakedownError) {
        guard boundedWait >= .microseconds(100), boundedWait <= .seconds(10) else {
            throw .invalidArgument("boundedWait", "must be within 100 µs...10 s, got \(boundedWait)")
        }
        generator = SplitMix64(seed: seed.value)
        self.boundedWait = boundedWait
        self.replay = replay
        self.strategy = strategy
        if case let .pct(depth, steps) = strategy {
            guard depth >= 1, depth <= 100, steps >= 1, steps <= 100_000_000 else {
                throw .invalidArgument("strategy", "PCT depth must be within 1...100 and steps within 1...100000000")
            }
            // Sorted: the i-th change point in time (0-based) lowers the running copy to depth − 1 − i, below every
            // copy lowered before it, as in the paper (priority d − i for the i-th point, counted from 1).
            changePoints = (0..<(depth - 1)).map { _ in 1 + Int(generator.next() % UInt64(steps)) }.sorted()
        }
    }

    deinit {
        for copy in copies where copy.listener >= 0 { close(copy.listener) }
    }

    /// Adds a copy started by ``SyscallControl/spawn(_:environment:syscalls:)``; the scheduler owns the listener.
    /// Returns the copy's index in ``events``.
    /// `started`: the copy is past exec and loading already (a closure worker), so a sleep before its first
    /// controlled call is a block too.
    @discardableResult
    package func add(pid: pid_t, listener: CInt, started: Bool = false) -> Int {
        // One copy runs at a time, so a round trip is a hand-off: waking the other side on the waker's processor
        // avoids waking a halted one, which on an idle VM cost ~50 µs per controlled call. Best effort: an older
        // kernel refuses the flag and the listener works as before.
        if shakedown_notify_sync_wakeup(listener) == 0 { synchronousWakeups += 1 }
        copies.append(Copy(pid: pid, listener: listener, started: started))
        // PCT: initial priorities above every change-point priority (1...depth-1), distinct, in random order.
        if case let .pct(depth, _) = strategy {
            let index = copies.count - 1
            let slot = Int(generator.next() % UInt64(copies.count))
            for (other, priority) in priorities where priority >= depth + slot { priorities[other] = priority + 1 }
            priorities[index] = depth + slot
        }
        return copies.count - 1
    }

    /// Schedules until every copy has exited or `deadline` (monotonic nanoseconds) passes. Returns false at the
    /// deadline (the copies are left stopped in their calls for the caller to kill).
    package func run(until deadline: Int64, stop: () -> Bool = { false }) -> Bool {
        var lastProgress = monotonicNanoseconds()
        // Taken when the scheduler first waits after a release, not at every release: /proc reads per controlled
        // call would dominate its cost.
        var cpuBaseline: [Int64]?
        while copies.contains(where: \.alive) {
            let now = monotonicNanoseconds()
            if now >= deadline || stop() {
                _ = collect(timeoutMilliseconds: 0)
                return !copies.contains(where: \.alive)
            }
            if collect(timeoutMilliseconds: allLiveParked ? 0 : 1) {
                lastProgress = monotonicNanoseconds()
                cpuBaseline = nil
            }
            if !copies.contains(where: \.alive) { break }
            let parked = copies.indices.filter { copies[$0].alive && !copies[$0].pending.isEmpty }
            if parked.isEmpty { continue }
            if allLiveParked {
                asleepChecks = 0
                release(from: parked)
            } else if unparkedAllAsleep() {
                blockedReleases += 1
                asleepChecks = 0
                release(from: parked)
            } else if ranTooLong(since: &cpuBaseline, wall: lastProgress) {
                timeoutReleases += 1
                asleepChecks = 0
                release(from: parked)
            } else {
                continue
            }
            lastProgress = monotonicNanoseconds()
            cpuBaseline = nil
        }
        return true
    }

    private var allLiveParked: Bool {
        copies.allSatisfy { !$0.alive || !$0.pending.isEmpty }
    }

    /// Polls every live listener; receives new notifications, marks exited copies. True when something changed.
    private func collect(timeoutMilliseconds: CInt) -> Bool {
        let live = copies.indices.filter { copies[$0].alive }
        var descriptors = live.map { pollfd(fd: copies[$0].listener, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&descriptors, nfds_t(descriptors.count), timeoutMilliseconds)
        var changed = false
        if ready > 0 {
            for (slot, index) in live.enumerated() {
                let events = descriptors[slot].revents
                if events & Int16(POLLIN) != 0 {
                    var id: UInt64 = 0
                    var number: CInt = 0
                    var tid: CInt = 0
                    if shakedown_notify_receive(copies[index].listener, &id, &number, &tid) == 0 {
                        copies[index].pending.append((id, number))
                        copies[index].started = true
                        changed = true
                    }
                } else if events & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    copies[index].alive = false
                    changed = true
                }
            }
        }
        // A zombie may keep its filter referenced until it is reaped: treat it as gone. Looked at only when nothing
        // arrived (a /proc read per controlled call would dominate the scheduler's cost).
        for index in live where !changed && copies[index].alive && copies[index].pending.isEmpty {
            let state = state(of: copies[index].pid)
            guard state == "Z" || state == nil else { continue }
            copies[index].alive = false
            changed = true
        }
        return changed
    }

    /// Releases the oldest pending call of one of `parked`, chosen by the seeded generator. Decides nothing when a
    /// parked call was withdrawn meanwhile (a signal interrupted its caller, which runs its handler and makes the
    /// call again, notified anew): the copy is not parked, and releasing a stale call would record a step that never
    /// happened.
    private func release(from parked: [Int]) {
        var withdrawn = false
        for index in parked {
            while let call = copies[index].pending.first,
                  shakedown_notify_id_valid(copies[index].listener, call.id) != 0 {
                copies[index].pending.removeFirst()
                withdrawn = true
            }
        }
        if withdrawn { return }
        if let chosen = replayed(parked) {
            let call = copies[chosen].pending.removeFirst()
            if shakedown_notify_continue(copies[chosen].listener, call.id) == 0 {
                events.append(Event(copy: chosen, syscall: call.syscall))
            }
            return
        }
        let chosen: Int
        switch strategy {
        case .random:
            chosen = parked[Int(generator.next() % UInt64(parked.count))]
        case .pct:
            var highest = parked.max { (priorities[$0] ?? 0) < (priorities[$1] ?? 0) } ?? parked[0]
            // A copy that waits by yielding (a spin with sched_yield, a jitter point in a loop) for something a
            // lower-priority copy must do would be released forever: after a streak it drops below every copy.
            if parked.count > 1, copies[highest].pending.first?.syscall == Self.yieldNumber {
                yieldStreak = yieldStreak.copy == highest ? (highest, yieldStreak.count + 1) : (highest, 1)
                if yieldStreak.count >= Self.yieldStreakLimit {
                    lowestPriority -= 1
                    priorities[highest] = lowestPriority
                    yieldStreak = (-1, 0)
                    highest = parked.max { (priorities[$0] ?? 0) < (priorities[$1] ?? 0) } ?? parked[0]
                }
            } else {
                yieldStreak = (-1, 0)
            }
            chosen = highest
            // A change point at this step: the running copy drops below every other, including those lowered by
            // earlier change points.
            let step = events.count + 1
            if case let .pct(depth, _) = strategy {
                for (order, point) in changePoints.enumerated() where point == step {
                    priorities[chosen] = depth - 1 - order
                }
            }
        }
        let call = copies[chosen].pending.removeFirst()
        // ENOENT: the caller died, or a signal withdrew the call after the check above (it makes the call again):
        // nothing was released, so nothing is recorded.
        if shakedown_notify_continue(copies[chosen].listener, call.id) == 0 {
            events.append(Event(copy: chosen, syscall: call.syscall))
        }
    }

    /// The copy the replayed schedule names for this release, when it is parked in the named call; otherwise marks
    /// the divergence and returns `nil` (the strategy chooses from then on).
    private func replayed(_ parked: [Int]) -> Int? {
        guard let replay, divergedAt == nil else { return nil }
        let step = events.count
        guard step < replay.count else { return nil }
        let wanted = replay[step]
        if parked.contains(wanted.copy), copies[wanted.copy].pending.first?.syscall == wanted.syscall {
            return wanted.copy
        }
        divergedAt = step
        return nil
    }

    /// Whether every live copy that is not parked sleeps in the kernel: blocked outside a controlled call. Only
    /// interruptible sleep (S: a lock, a futex, a pipe) counts, only for copies past their first controlled call, and
    /// only when seen on two checks in a row (a millisecond apart): a short sleep in a page fault is not a block.
    private var asleepChecks = 0
    private func unparkedAllAsleep() -> Bool {
        let unparked = copies.filter { $0.alive && $0.pending.isEmpty }
        let asleep = !unparked.isEmpty && unparked.allSatisfy { copy in
            guard copy.started else { return false }
            let state = state(of: copy.pid)
            return state == "S" || state == "Z" || state == nil
        }
        asleepChecks = asleep ? asleepChecks + 1 : 0
        return asleepChecks >= 2
    }

    /// Whether an unparked copy has run ``boundedWait`` of processor time since the last progress without reaching a
    /// controlled call (it computes or spins, maybe on something a parked copy holds), or 100 × ``boundedWait`` of wall
    /// time passed. Processor time, not wall time: on a loaded machine a released copy can wait long for a processor,
    /// and releasing another meanwhile would make the order depend on the load.
    private func ranTooLong(since baselineSlot: inout [Int64]?, wall: Int64) -> Bool {
        if monotonicNanoseconds() - wall >= boundedWait.nanoseconds * 100 { return true }
        let now = cpuTimes()
        guard let baseline = baselineSlot else {
            baselineSlot = now
            return false
        }
        for index in copies.indices where copies[index].alive && copies[index].pending.isEmpty {
            if now[index] < 0 || baseline[index] < 0 {
                // No schedstat: wall time is all there is.
                if monotonicNanoseconds() - wall >= boundedWait.nanoseconds { return true }
            } else if now[index] - baseline[index] >= boundedWait.nanoseconds {
                return true
            }
        }
        return false
    }

    /// Each copy's processor time in nanoseconds (/proc/PID/schedstat, first field), -1 where unreadable.
    private func cpuTimes() -> [Int64] {
        copies.map { copy in
            guard copy.alive else { return -1 }
            let fd = open("/proc/\(copy.pid)/schedstat", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return -1 }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = read(fd, &buffer, 63)
            guard count > 0 else { return -1 }
            var value: Int64 = 0
            for byte in buffer[..<count] {
                guard byte >= 48 && byte <= 57 else { break }
                value = value &* 10 &+ Int64(byte - 48)
            }
            return value
        }
    }

    /// The state letter in /proc/PID/stat, or nil when the process is gone.
    private func state(of pid: pid_t) -> Character? {
        guard let status = ProcessTable.status(of: pid) else { return nil }
        return status.state
    }
}
