#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import XCTest
@testable import Shakedown

/// The scheduler's listeners wake the other side of a round trip on the waker's processor: on an idle VM, waking a
/// halted vCPU twice per controlled call cost ~50 µs a call (docs/benchmarks.md, "Controlled system calls").
final class SyscallWakeupTests: XCTestCase {
    /// Linux 6.6 added SECCOMP_IOCTL_NOTIF_SET_FLAGS; on an older kernel the scheduler runs without it.
    private var kernelHasSyncWakeups: Bool {
        var name = utsname()
        guard uname(&name) == 0 else { return false }
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return parts[0] > 6 || (parts[0] == 6 && parts[1] >= 6)
    }

    func testEveryAddedListenerGetsSynchronousWakeupsAndTheRunStillFinishesInOrder() throws {
        try XCTSkipUnless(kernelHasSyncWakeups, "needs Linux 6.6+ (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)")
        var template = Array("/tmp/shakedown-wake-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        let directory = String(cString: made)
        defer { RaceCatalogue.removeTree(directory) }
        func run(seed: UInt64) throws -> (events: [SyscallScheduler.Event], sync: Int, fallbacks: Int) {
            let scheduler = try SyscallScheduler(seed: Seed(seed))
            var pids: [pid_t] = []
            for _ in 0..<2 {
                let arguments = ["\(RaceCatalogue.buildDirectory)/race-file-counter", "\(directory)/counter-\(seed)", "20"]
                let (pid, listener) = try SyscallControl.spawn(arguments, environment: RaceCatalogue.currentEnvironment())
                scheduler.add(pid: pid, listener: listener)
                pids.append(pid)
            }
            let finished = scheduler.run(until: monotonicNanoseconds() + 60_000_000_000)
            if !finished { for pid in pids { kill(pid, SIGKILL) } }
            for pid in pids {
                var status: Int32 = 0
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                XCTAssertEqual(status, 0)
            }
            XCTAssertTrue(finished, "the scheduler wedged")
            return (scheduler.events, scheduler.synchronousWakeups, scheduler.fallbacks)
        }
        let first = try run(seed: 7)
        let second = try run(seed: 7)
        XCTAssertEqual(first.sync, 2, "both listeners hand off on the waker's processor")
        XCTAssertEqual(first.fallbacks, 0)
        XCTAssertGreaterThanOrEqual(first.events.count, 80, "every pread and pwrite of 2 × 20 is controlled")
        XCTAssertEqual(first.events, second.events, "same seed, same order with synchronous wake-ups")
    }

    func testSynchronousWakeupsAreRefusedOnSomethingThatIsNotAListener() {
        var ends: [CInt] = [-1, -1]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[0]); close(ends[1]) }
        XCTAssertEqual(shakedown_notify_sync_wakeup(ends[0]), -1)
        XCTAssertEqual(shakedown_notify_sync_wakeup(-1), -1)
        XCTAssertEqual(errno, EBADF)
    }
}
