#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown
import CShakedown

/// The pipe's bounded busy wait: it catches a reply that is already there, stops spinning on every wait once spins
/// keep failing (probing once per 32 waits), and comes back when probes succeed again. Real sockets.
final class AdaptiveSpinTests: XCTestCase {
    func testSpinsBackOffWhileRepliesDoNotComeAndResumeWhenTheyDo() throws {
        var fds: [CInt] = [-1, -1]
        XCTAssertEqual(shakedown_socket_pair(&fds), 0)
        defer { for fd in fds { _ = Glibc.close(fd) } }
        var spin = AdaptiveSpin(limit: 100_000)
        let far = try Deadline(after: .seconds(60))
        // Nothing ever arrives: three failed spins bring the success rate under 3 in 4 ...
        for _ in 0..<3 { XCTAssertFalse(spin.spinUntilReadable(fds[0], deadline: far)) }
        XCTAssertEqual(spin.spins, 3)
        // ... after which only every 32nd wait spins.
        for _ in 0..<(32 * 4) { XCTAssertFalse(spin.spinUntilReadable(fds[0], deadline: far)) }
        XCTAssertEqual(spin.spins, 3 + 4)
        // Replies are there again: the probes succeed and spinning on every wait resumes.
        XCTAssertEqual(Glibc.write(fds[1], "x", 1), 1)
        var waits = 0
        let before = spin.spins
        while spin.spins - before < 20 && waits < 10_000 {
            _ = spin.spinUntilReadable(fds[0], deadline: far)
            waits += 1
        }
        XCTAssertLessThan(waits, 32 * 10, "a few successful probes restore spinning on every wait (took \(waits) waits)")
        XCTAssertTrue(spin.spinUntilReadable(fds[0], deadline: far), "a readable socket is caught without sleeping")
    }

    /// Once backed off, a probe lasts 10 spins: long enough to see a reply that has to wake a sleeping peer first. A
    /// probe as short as a spin never saw one in time, so two backed-off ends of a ping-pong stayed slow for good (on
    /// an idle 2-vCPU VM, 13,000-28,000 round trips/s against 85,000-97,000 once the probe was longer).
    func testABackedOffProbeLastsLongEnoughToSeeALateReply() throws {
        var fds: [CInt] = [-1, -1]
        XCTAssertEqual(shakedown_socket_pair(&fds), 0)
        defer { for fd in fds { _ = Glibc.close(fd) } }
        var spin = AdaptiveSpin(limit: 5_000_000)  // 5 ms spins; the probe lasts 50 ms
        let far = try Deadline(after: .seconds(60))
        for _ in 0..<3 { XCTAssertFalse(spin.spinUntilReadable(fds[0], deadline: far)) }
        for _ in 0..<31 { XCTAssertFalse(spin.spinUntilReadable(fds[0], deadline: far)) }
        XCTAssertEqual(spin.spins, 3, "backed off: the next wait is the probe")
        // The reply comes 10 ms into the probe: after a spin's length, well within the probe's.
        let writer = fds[1]
        let written = DispatchSemaphore(value: 0)
        Thread {
            var pause = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&pause, nil)
            _ = Glibc.write(writer, "x", 1)
            written.signal()
        }.start()
        XCTAssertTrue(spin.spinUntilReadable(fds[0], deadline: far), "the probe saw the reply that came after a spin's length")
        written.wait()
    }

    func testZeroLimitNeverSpinsAndAPassedDeadlineEndsTheSpin() throws {
        var fds: [CInt] = [-1, -1]
        XCTAssertEqual(shakedown_socket_pair(&fds), 0)
        defer { for fd in fds { _ = Glibc.close(fd) } }
        var off = AdaptiveSpin(limit: 0)
        XCTAssertEqual(Glibc.write(fds[1], "x", 1), 1)
        XCTAssertFalse(off.spinUntilReadable(fds[0], deadline: try Deadline(after: .seconds(1))), "off: the caller sleeps in poll")
        XCTAssertEqual(off.spins, 0)
        var on = AdaptiveSpin(limit: Int64(1_000_000_000))  // a 1 s limit, cut short by a deadline already passed
        var other: [CInt] = [-1, -1]
        XCTAssertEqual(shakedown_socket_pair(&other), 0)
        defer { for fd in other { _ = Glibc.close(fd) } }
        let start = monotonicNanoseconds()
        XCTAssertFalse(on.spinUntilReadable(other[0], deadline: try Deadline(after: .zero)))
        XCTAssertLessThan(monotonicNanoseconds() - start, 500_000_000, "the deadline, not the limit, ended the spin")
    }

    func testPipeRefusesASpinOutOfRange() throws {
        XCTAssertThrowsError(try MessagePipe(spinBeforeSleeping: .microseconds(-1))) { error in
            XCTAssertTrue("\(error)".contains("spinBeforeSleeping"), "\(error)")
        }
        XCTAssertThrowsError(try MessagePipe(spinBeforeSleeping: .milliseconds(2)))
        XCTAssertNoThrow(try MessagePipe(spinBeforeSleeping: .zero))
    }
}
