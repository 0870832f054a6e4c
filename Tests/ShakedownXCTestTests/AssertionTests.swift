import Shakedown
import ShakedownXCTest
import XCTest

/// Runs the assertions for real and captures what they record instead of failing this test.
final class AssertionTests: XCTestCase {
    private struct Recorded: Equatable {
        let description: String
        let file: String
        let line: Int
    }

    private var capturing = false
    private var recorded: [Recorded] = []

    override func recordFailure(withDescription description: String, inFile filePath: String, atLine lineNumber: Int, expected: Bool) {
        if capturing {
            recorded.append(Recorded(description: description, file: filePath, line: lineNumber))
        } else {
            super.recordFailure(withDescription: description, inFile: filePath, atLine: lineNumber, expected: expected)
        }
    }

    private func capture(_ body: () throws -> Void) rethrows -> [Recorded] {
        capturing = true
        recorded = []
        defer { capturing = false }
        try body()
        return recorded
    }

    func testLostUpdatesFailAtTheCallerWithSeedAndHistogram() throws {
        let counter = try SharedCounter("hits")
        let run = try Shake.fork(processes: 4, rounds: 200, jitter: .sleepy, observing: [counter]) { _ in
            counter.racyIncrement()
        }
        let line = #line + 1
        let failures = capture { XCTAssertNoLostUpdates(counter, expected: 800, in: run) }
        XCTAssertEqual(failures.count, 1)
        let failure = try XCTUnwrap(failures.first)
        XCTAssertEqual(failure.line, line)
        XCTAssertTrue(failure.file.hasSuffix("AssertionTests.swift"))
        XCTAssertTrue(failure.description.contains("lost updates"), failure.description)
        XCTAssertTrue(failure.description.contains("SHAKEDOWN_SEED=\(run.seed.value)"), failure.description)
        XCTAssertTrue(failure.description.contains("per-round outcomes"), failure.description)
        XCTAssertEqual(capture { XCTAssertLostUpdates(counter, expected: 800, in: run) }, [])
    }

    func testLockedCounterPassesAndACrashIsNeverHidden() throws {
        let counter = try SharedCounter("locked")
        let lock = try ProcessMutex()
        let clean = try Shake.fork(processes: 2, rounds: 50, jitter: .sleepy, observing: [counter]) { _ in
            try lock.withLock { counter.racyIncrement() }
        }
        XCTAssertEqual(capture { XCTAssertNoLostUpdates(counter, expected: 100, in: clean); XCTAssertClean(clean) }, [])

        let crashed = try Shake.fork(processes: 2, rounds: 5, jitter: .none, observing: [counter]) { worker in
            if worker.index == 1 { abort() }
            counter.increment()
        }
        let failures = capture { XCTAssertNoLostUpdates(counter, expected: counter.value, in: crashed) }
        XCTAssertEqual(failures.count, 1, "an exact counter proves nothing when a worker crashed")
        XCTAssertTrue(failures.first?.description.contains("SIGABRT") ?? false, failures.first?.description ?? "")
    }

    func testWorkerFailuresAreRecordedAtTheirOwnFileAndLine() throws {
        let line = #line + 3
        let run = try capture {
            _ = try shakedown(processes: 2, rounds: 2, jitter: .none) { worker in
                worker.check(worker.index == 0, "worker \(worker.index) disagrees")
            }
        }
        XCTAssertEqual(run.count, 2, "\(run)")
        for failure in run {
            XCTAssertEqual(failure.line, line)
            XCTAssertTrue(failure.file.hasSuffix("AssertionTests.swift"), failure.file)
            XCTAssertTrue(failure.description.contains("worker 1 disagrees"), failure.description)
            XCTAssertTrue(failure.description.contains("SHAKEDOWN_SEED="), failure.description)
        }
    }

    func testXCTAssertInsideAWorkerReachesTheParent() throws {
        let line = #line + 3
        let report = try Shake.fork(processes: 1, jitter: .none) { _ in
            // In the child this records nothing the parent sees; Shakedown reads XCTest's printed failure line.
            XCTAssertEqual(1 + 1, 3, "arithmetic in a worker")
        }
        let failure = try XCTUnwrap(report.failures.first, report.summary)
        XCTAssertEqual(failure.line, line)
        XCTAssertTrue(failure.file.hasSuffix("AssertionTests.swift"), failure.file)
        XCTAssertTrue(failure.message.contains("arithmetic in a worker"), failure.message)
        let recorded = capture { XCTAssertNoWorkerFailures(report) }
        XCTAssertEqual(recorded.count, 1)
        XCTAssertTrue(recorded.first?.description.contains("AssertionTests.swift:\(line)") ?? false)
    }

    func testCleanAssertionNamesHangsAndLeaks() throws {
        let hung = try Shake.fork(processes: 1, timeout: .milliseconds(300), jitter: .none) { _ in
            while true { sleep(1) }
        }
        let failures = capture { XCTAssertClean(hung) }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.description.contains("hung") ?? false, failures.first?.description ?? "")

        let leaky = try Shake.fork(processes: 1, jitter: .none) { _ in
            if fork() == 0 { sleep(30); _exit(0) }
        }
        let leakFailures = capture { XCTAssertNoLeakedProcesses(leaky) }
        XCTAssertEqual(leakFailures.count, 1)
        XCTAssertTrue(leakFailures.first?.description.contains("orphan") ?? false, leakFailures.first?.description ?? "")
    }

    func testForbiddenOutcomesFailAtTheCallerWithHistogramGradeAndReplay() throws {
        let hits = try SharedCounter("hits")
        let judge = try RoundJudge<Int64>.lostUpdates(on: hits, perRound: 4)
        let run = try Shake.fork(RunConfiguration(processes: 4, rounds: 200, jitter: .sleepy), judge: judge) { _ in
            hits.racyIncrement()
        }
        let line = #line + 1
        let failures = capture { XCTAssertNoForbiddenOutcomes(run) }
        let failure = try XCTUnwrap(failures.first)
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(failure.line, line)
        XCTAssertEqual(failure.file, #filePath)
        XCTAssertTrue(failure.description.contains("ended in a forbidden outcome"), failure.description)
        XCTAssertTrue(failure.description.contains("forbidden (first in round"), failure.description)
        XCTAssertTrue(failure.description.contains(run.seed.replayHint), failure.description)
        XCTAssertEqual(capture { XCTAssertOutcomeSeen(.forbidden, in: run) }, [], "the race is visible")
    }

    func testOutcomeSeenFailsWhenTheRaceIsNeverVisible() throws {
        let hits = try SharedCounter("hits")
        let judge = try RoundJudge<Int64>.lostUpdates(on: hits, perRound: 2)
        let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 20, jitter: .none), judge: judge) { _ in
            hits.increment()
        }
        XCTAssertEqual(capture { XCTAssertNoForbiddenOutcomes(run) }, [])
        let failures = capture { XCTAssertOutcomeSeen(.forbidden, in: run) }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.description.contains("no forbidden outcome in 20 rounds") == true,
                      failures.first?.description ?? "")
    }
}
