#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// A process to signal or wait for, held by a pidfd where the kernel has them (Linux 5.3+), so a signal can
/// never reach another process that reused the pid; by pid otherwise.
///
/// Costs one descriptor while open; ``close()`` releases it.
package struct ProcessHandle {
    /// The process id it was opened for.
    package let pid: pid_t
    /// The pidfd, or -1 when `pidfd_open` failed (then signals go by pid).
    package let descriptor: CInt
    /// The errno of a failed `pidfd_open`, for a note; 0 when the pidfd is open.
    package let openError: Int32

    /// Opens a pidfd for `pid`. Only safe against pid reuse for a process that cannot have been reaped yet (an
    /// unreaped child of the caller) or whose identity is checked after the open.
    package init(pid: pid_t, faults: FaultInjector? = nil) {
        self.pid = pid
        let fd = faults?.call(.pidfdOpen) { shakedown_pidfd_open(pid) } ?? shakedown_pidfd_open(pid)
        descriptor = fd
        openError = fd < 0 ? errno : 0
    }

    /// Sends `signal`. Returns false when the process is gone (ESRCH) or the signal was refused.
    @discardableResult
    package func signal(_ signal: Int32) -> Bool {
        if descriptor >= 0 {
            if shakedown_pidfd_send_signal(descriptor, signal) == 0 { return true }
            if errno != ENOSYS { return false }
        }
        return kill(pid, signal) == 0
    }

    /// Waits until the process has exited (the pidfd turns readable), at most `duration`. Without a pidfd it
    /// cannot tell and returns false at once.
    package func waitForExit(within duration: Duration) -> Bool {
        guard descriptor >= 0 else { return false }
        let deadline = monotonicNanoseconds() + duration.nanoseconds
        while true {
            var fd = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let left = deadline - monotonicNanoseconds()
            let ready = poll(&fd, 1, Int32(clamping: max(0, left / 1_000_000)))
            if ready > 0 { return true }
            if ready == 0 || errno != EINTR { return false }
        }
    }

    /// Closes the pidfd.
    package func close() { closeQuietly(descriptor) }
}

/// Reaps `pid`, a child of the caller, waiting at most `duration` (retrying EINTR). Returns its wait status, or
/// `nil` when it has not exited in time. `handle`, when it has a pidfd, avoids polling by time.
package func reapChild(_ pid: pid_t, handle: ProcessHandle?, within duration: Duration) -> Int32? {
    let deadline = monotonicNanoseconds() + duration.nanoseconds
    while true {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        if reaped == pid { return status }
        if reaped < 0 && errno != EINTR { return nil }
        let left = deadline - monotonicNanoseconds()
        if left <= 0 { return nil }
        if let handle, handle.descriptor >= 0 {
            _ = handle.waitForExit(within: .nanoseconds(min(left, 100_000_000)))
        } else {
            usleep(UInt32(min(left / 1_000, 5_000)))
        }
    }
}
