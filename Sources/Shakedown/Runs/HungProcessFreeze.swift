import Glibc

/// Stops every process of the hung workers at the deadline, before anything is captured or killed, and keeps
/// them stopped until the teardown's SIGKILL.
///
/// Why: killing one hung worker releases what it held (a robust mutex becomes owner-dead, a flock is dropped), and
/// a peer that waited for it would run its round to the end after the deadline, so the report would show progress
/// that never happened in time. A stopped process runs no user code: a SIGTERM from the teardown stays pending, a
/// SIGKILL ends it. The capture restores each process to its prior state, which is now "stopped".
///
/// Cost: one `kill` per process and a few reads of `/proc/PID/task/*/stat` while the stops take effect (usually
/// microseconds; bounded by ``settleLimit``).
enum HungProcessFreeze {
    /// How long to wait for the stops to take effect; a thread in uninterruptible sleep (D) stops only when it
    /// leaves the kernel, and the run must not wait for that.
    static let settleLimit = Duration.milliseconds(200)

    /// SIGSTOPs `targets` (each root before its descendants, which are listed again after their parent stopped,
    /// so a child forked meanwhile is caught) and waits until every thread of each is stopped, exited, or in
    /// uninterruptible sleep, within ``settleLimit``. Returns the pids it stopped.
    @discardableResult
    static func freeze(_ targets: [HangTarget], descendants: (Int32) -> [Int32]) -> [Int32] {
        var stopped: [Int32] = []
        var seen = Set<Int32>()
        for target in targets where seen.insert(target.pid).inserted {
            if kill(target.pid, SIGSTOP) == 0 { stopped.append(target.pid) }
        }
        // A parent that forked between the listing and its stop: its new child is not in `targets`.
        for pid in stopped {
            for child in descendants(pid) where seen.insert(child).inserted {
                if kill(child, SIGSTOP) == 0 { stopped.append(child) }
            }
        }
        waitUntilStopped(stopped)
        return stopped
    }

    private static func waitUntilStopped(_ pids: [Int32]) {
        let deadline = monotonicNanoseconds() + settleLimit.nanoseconds
        var pending = pids
        while !pending.isEmpty && monotonicNanoseconds() < deadline {
            pending = pending.filter { !isSettled($0) }
            if !pending.isEmpty { _ = sched_yield() }
        }
    }

    /// Every thread is stopped (T or t), gone, a zombie, or in uninterruptible sleep, which SIGSTOP cannot
    /// interrupt but which runs no user code either.
    private static func isSettled(_ pid: Int32) -> Bool {
        for tid in ProcessTable.threads(of: pid) {
            guard let stat = ProcStat.read(pid: pid, tid: tid) else { continue }
            switch stat.state {
            case .stopped, .tracingStop, .zombie, .dead, .uninterruptible: continue
            default: return false
            }
        }
        return true
    }
}
