#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// One forked child process running a closure: the `Process` of classic multiprocessing.
///
/// The child runs `body` and leaves with `_exit` — exit 0 when `body` returns, 1 when it throws — so it never
/// returns into the test runner. It gets `SIGKILL` if the creating thread's process dies, so it cannot outlive
/// the test. ``join(timeout:)`` reaps it (only this pid: it never steals other children's statuses); a child
/// still unreaped when the object goes away is killed and reaped, so nothing leaks.
///
/// Cost: one `fork()` of the calling process (≈ 0.7 ms for a test process) and one `waitpid` at join.
public final class ForkedChild: @unchecked Sendable {
    /// The child's process id.
    public let pid: Int32
    private var exit: ProcessExit?

    /// Forks a child that runs `body` and exits.
    /// - Throws: `.systemCall("fork")` when the kernel refuses (EAGAIN: process limit).
    public init(_ body: () throws -> Void) throws(ShakedownError) {
        fflush(nil)  // or buffered output would be written twice, once by each process
        let parent = getpid()
        let pid = fork()
        if pid < 0 { throw .systemCall("fork") }
        if pid == 0 {
            _ = shakedown_set_parent_death_signal(SIGKILL)
            if getppid() != parent { shakedown_exit_now(125) }  // the parent died before the signal was armed
            var status: Int32 = 0
            do { try body() } catch { status = 1 }
            fflush(nil)
            shakedown_exit_now(status)
        }
        self.pid = pid
    }

    /// Waits at most `timeout` for the child to end and reaps it. Returns how it ended, or `nil` when it is still
    /// running. A zero timeout checks once without waiting. Safe to call again after it returned an exit.
    public func join(timeout: Duration) throws(ShakedownError) -> ProcessExit? {
        if let exit { return exit }
        let deadline = try Deadline(after: timeout)
        var pause: Int64 = 50_000
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let ended = ProcessExit(waitStatus: status)
                exit = ended
                return ended
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw .systemCall("waitpid")
            }
            if deadline.hasPassed { return nil }
            // Short sleeps first (most children end quickly), then up to 5 ms: cheap and bounded.
            var interval = timespec(tv_sec: 0, tv_nsec: Int(min(pause, deadline.remaining)))
            nanosleep(&interval, nil)
            pause = min(pause * 2, 5_000_000)
        }
    }

    /// Sends `signal` to the child (no effect once it has been reaped).
    public func send(_ signal: Signal) {
        if exit == nil { _ = Glibc.kill(pid, signal.rawValue) }
    }

    /// How the child ended, once ``join(timeout:)`` has seen it.
    public var exitStatus: ProcessExit? { exit }

    deinit {
        if exit == nil {
            _ = Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }
}
