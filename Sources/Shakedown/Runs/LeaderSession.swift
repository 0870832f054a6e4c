#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A run leader kept alive between the runs of a ``PreparedCommandRun``, with what it was forked with: the
/// control block, the pipes, the run's cgroup and the test process's pidfd for it.
///
/// Why: a repetition of `shakedown run --repeat` paid, besides its commands, a fork of the test process (the
/// leader), a cgroup made, joined and removed, a memfd and a dozen pipes. A kept leader pays none of them again:
/// the next run resets the control block and writes one byte. It is kept only after a run that left nothing to
/// doubt: the leader said it is idle (``ChannelMessage/leaderIdle``: every process reaped, nothing adopted, no
/// teardown, no failed call of its own), the run did not time out, no note was taken, and the run's cgroup holds
/// the leader alone. After any other run the leader ends as it always did, is reaped, and its status read; the
/// next run forks a fresh one. Each run's verdict is judged as before: the leader is the shepherds' parent either way.
///
/// Costs while kept: one idle process (in `poll`), its pidfd and the run's pipes in the test process.
package final class LeaderSession: @unchecked Sendable {
    let control: RunControl
    let plumbing: RunPlumbing
    let group: Result<ControlGroup, ContainmentUnavailable>
    let leader: Supervisor.Leader
    /// The counters the leader's workers were forked with (the run-owned ones live in ``control``).
    let observed: [SharedCounter]
    private var closed = false

    init(control: RunControl, plumbing: RunPlumbing, group: Result<ControlGroup, ContainmentUnavailable>,
         leader: Supervisor.Leader, observed: [SharedCounter]) {
        self.control = control
        self.plumbing = plumbing
        self.group = group
        self.leader = leader
        self.observed = observed
    }

    /// Tells the idle leader to leave, reaps it (SIGKILL after 5 s), empties and removes the run's cgroup, and
    /// closes the test process's ends. Only for an idle session: a run in progress ends through the supervisor.
    func close() {
        guard !closed else { return }
        closed = true
        _ = writeAllWithoutSIGPIPE(plumbing.commands.writeEnd, [RunLeader.quit])
        if reapChild(leader.pid, handle: leader.handle, within: .seconds(5)) == nil {
            leader.handle.signal(SIGKILL)
            _ = reapChild(leader.pid, handle: leader.handle, within: .seconds(5))
        }
        if case let .success(controlGroup) = group {
            if controlGroup.isPopulated != false { _ = controlGroup.killAndWait(within: .seconds(5)) }
            _ = controlGroup.remove()
        }
        plumbing.closeSupervisorEnds()
        leader.handle.close()
    }

    /// The supervisor reaped the leader and cleaned up after it (a run that did not keep it): nothing is left to
    /// close, and the leader's pid and pidfd must not be used again.
    func ended() {
        closed = true
    }

    deinit { close() }
}

/// Where a ``PreparedCommandRun`` keeps its idle ``LeaderSession`` between runs: at most one, handed to one run at
/// a time (two runs of the same prepared command at once each get a leader of their own).
package final class LeaderSessions: Sendable {
    private let idle = Mutex<LeaderSession?>(nil)

    /// Empty: the first run forks a leader, and a run that ends cleanly leaves it here.
    package init() {}

    /// The idle session, now owned by the caller; nil when there is none.
    func take() -> LeaderSession? {
        idle.withLock { session in
            defer { session = nil }
            return session
        }
    }

    /// Keeps `session` for the next run (ending any other that was idle).
    func keep(_ session: LeaderSession) {
        let previous = idle.withLock { kept in
            defer { kept = session }
            return kept
        }
        previous?.close()
    }

    /// The pid of the idle leader, if one is kept: a child of this process that a sweep of its children must spare.
    package var idleLeaderPid: Int32? {
        idle.withLock { $0?.leader.pid }
    }

    /// Ends the idle leader, if any, and removes its cgroup.
    package func close() {
        take()?.close()
    }

    deinit { close() }
}
