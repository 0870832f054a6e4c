#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Whatever a worker does, the test process survives, the report says what happened, and nothing is left.
final class WorkerFaultTests: XCTestCase {
    /// A crash just before the deadline: the runtime's backtracer is still at work when the deadline passes, so the
    /// worker is crashing, not hung; the run waits for the crash (once) instead of freezing it.
    func testCrashJustBeforeTheDeadlineIsACrashNotAHang() throws {
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: 1, timeout: .milliseconds(500), jitter: .none) { _ in
                usleep(450_000)
                writeToUnmappedMemory()
            }
        }
        XCTAssertEqual(run.workers[0].outcome, .crashed(.segmentationFault), run.summary)
        XCTAssertTrue(run.hungWorkers.isEmpty, run.summary)
    }

    func testCrashingWorkerIsReportedWithItsSignal() throws {
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: 3, rounds: 5, jitter: .none) { worker in
                if worker.index == 1 && worker.round == 2 { writeToUnmappedMemory() }
            }
        }
        XCTAssertEqual(run.workers[1].outcome, .crashed(.segmentationFault), run.summary)
        XCTAssertEqual(run.workers[1].exit?.signal, .segmentationFault)
        XCTAssertEqual(run.workers[1].roundsCompleted, 2)
        for other in [0, 2] {
            XCTAssertEqual(run.workers[other].outcome, .stoppedByOtherWorker(1), run.summary)
        }
        XCTAssertFalse(run.isClean)
        XCTAssertTrue(run.summary.contains("SIGSEGV"), run.summary)
    }

    func testFatalErrorMessageIsInTheOutputTail() throws {
        let run = try Shake.fork(processes: 2, jitter: .none) { worker in
            if worker.index == 0 { fatalError("invariant broken in worker zero") }
        }
        guard case .crashed = run.workers[0].outcome else { return XCTFail(run.summary) }
        XCTAssertEqual(run.workers[0].crashMessage?.contains("Fatal error: invariant broken in worker zero"), true,
                       run.workers[0].outputTail)
        XCTAssertTrue(run.summary.contains("invariant broken in worker zero"), run.summary)
    }

    func testHungWorkerIsKilledAtTheDeadline() throws {
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: 2, timeout: .milliseconds(500), jitter: .none) { worker in
                if worker.index == 0 { while true { pause() } }
            }
        }
        XCTAssertTrue(run.timedOut, run.summary)
        XCTAssertEqual(run.workers[0].outcome, .hung, run.summary)
        // Worker 1 finished its body but waits at the round barrier for worker 0: stuck as well.
        XCTAssertEqual(run.hungWorkers.map(\.index), [0, 1])
        for worker in run.workers {
            XCTAssertFalse(ProcessChecks.exists(worker.pid), "hung worker \(worker.index) must be gone")
        }
    }

    func testThrowingBodyIsReported() throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom in round 3" } }
        let run = try Shake.fork(processes: 2, rounds: 10, jitter: .none) { worker in
            if worker.index == 1 && worker.round == 3 { throw Boom() }
        }
        XCTAssertEqual(run.workers[1].outcome, .threw("boom in round 3"), run.summary)
        XCTAssertEqual(run.workers[0].outcome, .stoppedByOtherWorker(1), run.summary)
    }

    func testBodyCallingExitIsReportedAsAnEarlyExit() throws {
        let run = try Shake.fork(processes: 2, rounds: 4, jitter: .none) { worker in
            if worker.index == 0 && worker.round == 1 { exit(3) }
        }
        XCTAssertEqual(run.workers[0].outcome, .exited(code: 3), run.summary)
        XCTAssertEqual(run.workers[1].outcome, .stoppedByOtherWorker(0), run.summary)
    }

    func testGarbageOnTheResultChannelIsReportedAndEarlierResultsKept() throws {
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: 2, jitter: .none) { worker in
                guard worker.index == 1 else { return }
                worker.fail("recorded before the garbage")
                let garbage: [UInt8] = [0xFF, 0xFF, 0xFF, 0x7F, 0x01, 0x02, 0x03]
                _ = garbage.withUnsafeBytes { write(worker.channel, $0.baseAddress, $0.count) }
            }
        }
        let problem = try XCTUnwrap(run.workers[1].channelProblem, run.summary)
        XCTAssertTrue(problem.contains("garbage"), problem)
        XCTAssertEqual(run.workers[1].failures.map(\.message), ["recorded before the garbage"])
        XCTAssertNil(run.workers[0].channelProblem)
        XCTAssertFalse(run.isClean)
    }

    func testWorkerWritingNothingAndDyingIsReported() throws {
        let run = try Shake.fork(processes: 1, jitter: .none) { _ in _exit(0) }
        XCTAssertEqual(run.workers[0].outcome, .exited(code: 0), run.summary)
        XCTAssertFalse(run.workers[0].outcome == .completed)
        XCTAssertNil(run.workers[0].jitterDigest, "no result was sent")
    }

    func testFailuresRecordedInWorkersComeBackWithFileAndLine() throws {
        let line = #line + 2
        let run = try Shake.fork(processes: 2, rounds: 3, jitter: .none) { worker in
            worker.check(worker.round != 2, "round two is bad in worker \(worker.index)")
        }
        XCTAssertEqual(run.failures.count, 2, run.summary)
        for failure in run.failures {
            XCTAssertEqual(failure.line, line)
            XCTAssertTrue(failure.file.hasSuffix("WorkerFaultTests.swift"), failure.file)
            XCTAssertEqual(failure.round, 2)
            XCTAssertEqual(failure.origin, .resultChannel)
        }
        XCTAssertFalse(run.isClean)
    }

    func testPrintedXCTestFailureLinesAreCaught() throws {
        let run = try Shake.fork(processes: 1, jitter: .none) { _ in
            print("/src/Tests/CacheTests.swift:42: error: -[CacheTests.CacheTests testHits] : XCTAssertEqual failed: (\"1\") is not equal to (\"2\")")
        }
        XCTAssertEqual(run.failures, [RecordedFailure(message: "XCTAssertEqual failed: (\"1\") is not equal to (\"2\")",
                                                      file: "/src/Tests/CacheTests.swift", line: 42, round: nil, origin: .output)])
    }
}

/// A real segmentation fault (raise(SIGSEGV) would be caught and survived by the Swift runtime's backtracer).
@inline(never)
func writeToUnmappedMemory() {
    guard let pointer = UnsafeMutablePointer<Int>(bitPattern: 8) else { return }
    pointer.pointee = 1
}

/// A test process that ignores SIGCHLD (some servers do) must still get a full report.
final class IgnoredChildSignalTests: XCTestCase {
    func testRunsWorkWhenTheTestProcessIgnoresSIGCHLD() throws {
        let previous = signal(SIGCHLD, SIG_IGN)
        defer { signal(SIGCHLD, previous) }
        let run = try Shake.fork(processes: 2, rounds: 3, timeout: .seconds(30), jitter: .none) { worker in
            if worker.index == 1, worker.round == 1, fork() == 0 { sleep(30); _exit(0) }
        }
        XCTAssertEqual(run.workers.map(\.outcome), [.completed, .completed], run.summary)
        XCTAssertEqual(run.orphans.count, 1, run.summary)
        XCTAssertFalse(run.timedOut)
    }
}
