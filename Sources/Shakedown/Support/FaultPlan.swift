#if canImport(Glibc)
import Glibc
#endif

/// Failures to inject into a run's own system calls, so tests drive the error paths with real processes:
/// "fail the Nth call of X with errno E".
///
/// No hidden global state: the plan travels in ``RunConfiguration/faults``, and each process of the run (the test
/// process, the run leader) counts its own calls from 1 with a ``FaultInjector`` it creates for the run. An empty
/// plan (the default) costs one `isEmpty` check per call site.
package struct FaultPlan: Hashable, Sendable {
    /// The system calls a plan can fail, named as the error messages name them.
    package enum Call: String, Hashable, Sendable, CaseIterable {
        /// The leader's forks of workers (call N forks worker N-1).
        case fork
        /// `pipe2` while the test process opens a run's pipes.
        case pipe2
        /// The leader's `signalfd` for SIGCHLD.
        case signalfd
        /// `pidfd_open`, in the leader (the test process) and in the test process (the leader).
        case pidfdOpen = "pidfd_open"
        /// The leader's `prctl(PR_SET_CHILD_SUBREAPER)`.
        case prctl
        /// Reads of `/proc/PID/task/TID/children` in the leader.
        case procRead = "/proc read"
        /// The leader's write of itself into the run's cgroup (`cgroup.procs`).
        case cgroupJoin = "cgroup.procs"
    }

    /// One injected failure.
    package struct Fault: Hashable, Sendable {
        package var call: Call
        /// Which call fails, counting from 1 in the process making it; 0 fails every call.
        package var occurrence: Int
        /// The errno the failed call leaves.
        package var errno: Int32

        package init(_ call: Call, occurrence: Int = 0, errno: Int32) {
            self.call = call
            self.occurrence = occurrence
            self.errno = errno
        }
    }

    package var faults: [Fault]
    /// The leader stops itself (SIGSTOP) before anything else, as a leader wedged before `setpgid` would be.
    package var stallsLeaderAtStart: Bool

    package init(_ faults: [Fault] = [], stallsLeaderAtStart: Bool = false) {
        self.faults = faults
        self.stallsLeaderAtStart = stallsLeaderAtStart
    }

    package var isEmpty: Bool { faults.isEmpty && !stallsLeaderAtStart }
}

/// One process's counters for a ``FaultPlan``: asks, call by call, whether this one is to fail.
package final class FaultInjector {
    package let plan: FaultPlan
    private var counts: [FaultPlan.Call: Int] = [:]

    package init(_ plan: FaultPlan) { self.plan = plan }

    /// Counts one call of `call`; returns the errno to fail it with, or `nil` to make the real call.
    package func failure(_ call: FaultPlan.Call) -> Int32? {
        if plan.faults.isEmpty { return nil }
        let count = (counts[call] ?? 0) + 1
        counts[call] = count
        return plan.faults.first { $0.call == call && ($0.occurrence == 0 || $0.occurrence == count) }?.errno
    }

    /// Runs `body` (a call returning -1 with errno on failure), or fails it as planned: sets errno, returns -1.
    package func call<Result: FixedWidthInteger>(_ call: FaultPlan.Call, _ body: () -> Result) -> Result {
        if let injected = failure(call) {
            errno = injected
            return -1
        }
        return body()
    }
}
