#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Async bodies under a hostile user: tasks that outlive the round.
final class HostileAsyncTests: XCTestCase {
    /// A detached task the body never awaits, still sleeping when the last round ends: the worker used to exit
    /// and drop it, and the run said clean although the task's work (here: an increment) never happened.
    func testATaskThatOutlivesTheLastRoundIsAFailureNotASilentLoss() throws {
        let counter = try SharedCounter("detached work")
        let line = #line + 1
        let run = try Shake.fork(processes: 2, rounds: 2, timeout: .seconds(30), jitter: .none) { _ async in
            Task.detached {
                try? await Task.sleep(for: .seconds(3600))
                _ = counter.increment()
            }
        }
        XCTAssertFalse(run.isClean, run.summary)
        XCTAssertEqual(counter.value, 0)
        XCTAssertEqual(run.failures.count, 2, run.summary)
        for failure in run.failures {
            XCTAssertTrue(failure.message.contains("outlived the run"), failure.message)
            XCTAssertTrue(failure.message.contains("waiting on a delay"), failure.message)
            XCTAssertTrue(failure.file.hasSuffix("HostileAsyncTests.swift"), failure.file)
            XCTAssertEqual(failure.line, line)
        }
    }

    /// Short follow-up work is let finish: every detached increment lands and the run is clean.
    func testShortTasksThatOutliveTheirRoundStillFinish() throws {
        let counter = try SharedCounter("short detached work")
        let run = try Shake.fork(processes: 2, rounds: 3, timeout: .seconds(30), jitter: .none) { _ async in
            Task.detached {
                try? await Task.sleep(for: .milliseconds(20))
                _ = counter.increment()
            }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(counter.value, 6, run.summary)
    }
}
