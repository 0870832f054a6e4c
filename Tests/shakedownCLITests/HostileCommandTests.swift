#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// Commands that abuse what a copy inherits, and bad values that only a run finds: found by a hostile review of
/// the CLI. Each of these crashed the CLI, named no reason, or waited out the whole grace before.
final class HostileCommandTests: XCTestCase {
    /// Descriptor 3 is the run's control block (for cooperative commands): random bytes over it must not crash
    /// the CLI, and the run is not clean. (Random bytes may also wedge the round barrier the shepherds share: then
    /// the copies are reported hung, exit 3; otherwise their own exit code 1 is kept.)
    func testScribbledControlBlockCrashesNothingAndIsNotClean() throws {
        for _ in 0..<3 {
            let result = try CLI.shakedown(["run", "-n", "2", "--timeout", "3", "--",
                                            "/bin/sh", "-c", "head -c 65536 /dev/urandom >&3; exit 1"])
            XCTAssertTrue([1, 3].contains(result.status), "exit \(result.status)\n" + result.stdout + result.stderr)
            XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
            XCTAssertFalse(result.stdout.contains("Fatal error"), result.stdout)
            if result.status == 1 { XCTAssertTrue(result.stdout.contains("exited with code 1"), result.stdout) }
            XCTAssertFalse(result.stdout.contains("judge"), "a command run has no judge: \(result.stdout)")
        }
    }

    /// Descriptor 5 is the copy's result channel: garbage there fails the run and the verdict says why.
    func testGarbageOnTheResultChannelIsNamedInTheVerdict() throws {
        let result = try CLI.shakedown(["run", "-n", "1", "--", "/bin/sh", "-c", "echo garbage >&5"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("not clean (exit 1): copy 0's result channel: garbage"), result.stdout)
    }

    /// Hung copies are stopped at the deadline, their shepherds too, so the teardown's SIGTERM wait is skipped.
    func testHungCommandsDoNotWaitOutTheGrace() throws {
        let started = ContinuousClock.now
        let result = try CLI.shakedown(["run", "-n", "2", "--timeout", "1", "--grace", "20", "--",
                                        "/bin/sh", "-c", "trap 'echo h\"\"andler' TERM; sleep 100 & wait"])
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(15), "the 20 s grace was waited out")
        // The handler's echo is a line of a copy's output, `| handler`; a bare "handler" also matches the preload
        // library's `sp_handler` frame in the hang report when the run preempts (SHAKEDOWN_JITTER=preempt or mix).
        XCTAssertFalse(result.stdout.contains("| handler"), "a frozen copy's SIGTERM handler ran: \(result.stdout)")
    }

    func testUnwritableTraceIsAUsageErrorBeforeAnythingRuns() throws {
        let result = try CLI.shakedown(["run", "-n", "2", "--jitter", "syscalls", "--trace", "/nonexistent-dir/trace",
                                        "--", "/bin/true"])
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("ENOENT"), result.stderr)
    }

    func testBadJitterEnvironmentIsAUsageError() throws {
        let result = try CLI.shakedown(["run", "-n", "1", "--", "/bin/true"], environment: ["SHAKEDOWN_JITTER": "garbage"])
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("SHAKEDOWN_JITTER"), result.stderr)
    }
}
