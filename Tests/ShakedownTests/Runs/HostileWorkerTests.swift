#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import XCTest
@testable import Shakedown

/// Verdicts under attack: a hostile review found each of these reported clean (or crashing the test process).
final class HostileWorkerTests: XCTestCase {
    private let config = RunConfiguration(processes: 2, timeout: .seconds(20), jitter: .none)

    /// A command wrote a "command exited 0" frame to its channel and SIGKILLed its shepherd: every copy was "exit 0".
    func testForgedExitAndKilledShepherdIsNotSuccess() throws {
        let frame = "\\020\\000\\000\\000\\006" + String(repeating: "\\000", count: 16)
        let report = try Shake.run(
            command: ["/bin/bash", "-c", "sleep 0.2; printf '\(frame)' >&$SHAKEDOWN_RESULT_FD; kill -9 $PPID"], config)
        for worker in report.workers { XCTAssertFalse(worker.outcome.isSuccess, report.summary) }
        XCTAssertFalse(report.isClean)
    }

    /// A command rewrote its own shepherd's record in the run's control block (SIGSEGV made to look like exit 0).
    func testOverwrittenCommandRecordIsNotSuccess() throws {
        let status = MemoryLayout<shakedown_worker_slot>.offset(of: \shakedown_worker_slot.command_exited) ?? 0
        let slots = MemoryLayout<shakedown_run_control>.size
        // Copy 1 waits for copy 0 to die by SIGSEGV, then writes "exited, status 0" into copy 0's record.
        let script = """
            if [ "$SHAKEDOWN_WORKER" = 0 ]; then kill -SEGV $$; fi
            sleep 0.5
            printf '\\001\\000\\000\\000\\000\\000\\000\\000' | dd of=/proc/self/fd/$SHAKEDOWN_RUN_FD bs=1 seek=\(slots + status) conv=notrunc status=none
            """
        let report = try Shake.run(command: ["/bin/bash", "-c", script], config)
        guard case let .unknown(reason) = report.workers[0].outcome else { return XCTFail(report.summary) }
        XCTAssertTrue(reason.contains("control block was overwritten"), reason)
        XCTAssertFalse(report.isClean, report.summary)
    }

    /// The Swift runtime's crash handler returns for a raised signal and the worker carried on to "completed".
    func testRaisedSignalCaughtByTheRuntimeIsNotClean() throws {
        let run = try Shake.fork(processes: 2, rounds: 3, jitter: .none) { worker in
            if worker.index == 0 && worker.round == 0 { raise(SIGSEGV) }
        }
        XCTAssertFalse(run.workers[0].outcome.isSuccess, run.summary)
        XCTAssertFalse(run.isClean, run.summary)
    }

    func testTearDownThatExitsIsNotClean() throws {
        let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 3, jitter: .none),
                                     lifecycle: WorkerLifecycle(tearDown: { worker in if worker.index == 1 { _exit(0) } })) { _ in }
        XCTAssertEqual(run.workers[1].outcome, .exited(code: 0), run.summary)
        XCTAssertFalse(run.isClean)
    }

    func testFailureLineAfterALongUnterminatedLineIsFound() {
        var capture = OutputCapture(tailLimit: 64)
        capture.append(Array(String(repeating: "x", count: 8_200).utf8)[...])
        capture.append(Array("/tmp/Long.swift:5: error: -[M.C test] : XCTAssertEqual failed\n".utf8)[...])
        capture.finish()
        XCTAssertEqual(capture.failures.map(\.file), ["/tmp/Long.swift"])
        XCTAssertEqual(capture.failures.first?.line, 5)
    }

    /// A forged frame with a pid that does not fit in 32 bits trapped in the test process.
    func testOutOfRangeNumbersInForgedFramesDoNotCrash() throws {
        let frame = "\\010\\000\\000\\000\\005\\000\\000\\000\\000\\000\\001\\000\\000"
        let report = try Shake.run(command: ["/bin/bash", "-c", "printf '\(frame)' >&$SHAKEDOWN_RESULT_FD"], config)
        XCTAssertEqual(report.workers.count, 2)
    }

    func testHugeOutputTailIsRefused() {
        var configuration = RunConfiguration(processes: 1)
        configuration.outputTailBytes = Int.max
        XCTAssertThrowsError(try Shake.fork(configuration) { _ in })
    }
}

final class SwiftTestingLineCaptureTests: XCTestCase {
    /// A `#expect` that fails in a raw-forked worker prints this line; the parent's test used to pass regardless.
    func testSwiftTestingIssueLinesInWorkerOutputAreFailures() throws {
        let run = try Shake.fork(processes: 1, jitter: .none) { _ in
            print("✘ Test racyIncrement() recorded an issue at CounterTests.swift:9:9: Expectation failed: (a → 1) == 2")
        }
        XCTAssertEqual(run.failures.map(\.file), ["CounterTests.swift"], run.summary)
        XCTAssertEqual(run.failures.first?.line, 9)
        XCTAssertFalse(run.isClean)
    }
}
