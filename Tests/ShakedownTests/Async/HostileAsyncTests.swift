#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import XCTest
@testable import Shakedown

/// Async bodies under a hostile user: tasks that outlive the round.
final class HostileAsyncTests: XCTestCase {
    /// A detached task the body never awaits, looping forever: the worker used to exit and drop it, and the run
    /// said clean whatever the task had still to do. Now each worker records a failure at the fork's line.
    func testATaskThatOutlivesTheLastRoundIsAFailureNotASilentLoss() throws {
        let counter = try SharedCounter("detached work")
        let line = #line + 1
        let run = try Shake.fork(processes: 2, rounds: 2, timeout: .seconds(30), jitter: .none) { _ async in
            Task.detached {
                while true {
                    try? await Task.sleep(for: .milliseconds(5))
                    _ = counter.increment()
                }
            }
        }
        XCTAssertFalse(run.isClean, run.summary)
        XCTAssertEqual(run.failures.count, 2, run.summary)
        for failure in run.failures {
            XCTAssertTrue(failure.message.contains("keeps working after the run"), failure.message)
            XCTAssertTrue(failure.file.hasSuffix("HostileAsyncTests.swift"), failure.file)
            XCTAssertEqual(failure.line, line)
        }
    }

    /// The same from a synchronous body: the `Task` it starts runs on the worker's executor and was dropped at exit
    /// without a word. Each worker now reports it (the run has no caller line for it: a worker error).
    func testATaskStartedByASynchronousBodyAndNeverAwaitedIsReported() throws {
        let counter = try SharedCounter("detached work from a synchronous body")
        let run = try Shake.fork(processes: 2, rounds: 1, timeout: .seconds(30), jitter: .none) { _ in
            Task.detached {
                while true {
                    try? await Task.sleep(for: .milliseconds(5))
                    _ = counter.increment()
                }
            }
        }
        XCTAssertFalse(run.isClean, run.summary)
        XCTAssertEqual(run.unsuccessfulWorkers.count, 2, run.summary)
        XCTAssertTrue(run.summary.contains("keeps working after the run"), run.summary)
    }

    /// A synchronous body whose tasks finish within the round leaves nothing behind: clean.
    func testASynchronousBodyWhoseTaskFinishesIsClean() throws {
        let counter = try SharedCounter("finished work from a synchronous body")
        let run = try Shake.fork(processes: 2, rounds: 2, timeout: .seconds(30), jitter: .none) { _ in
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                _ = counter.increment()
                done.signal()
            }
            done.wait()
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(counter.value, 4)
    }

    /// A task still sleeping (for an hour) when the last round ends is woken instead of dropped: its work is done
    /// and the run is clean. The same for the sleep job a cancelled `Task.sleep` leaves queued (a timeout raced
    /// against work, the loser cancelled): it is not lost work, and it must not cost the grace period.
    func testSleepersLeftByTheLastRoundAreWokenNotDroppedAndCancelledSleepsCostNothing() throws {
        let counter = try SharedCounter("woken work")
        let run = try Shake.fork(processes: 2, rounds: 2, timeout: .seconds(30), jitter: .none) { _ async in
            Task.detached {
                try? await Task.sleep(for: .seconds(3600))
                _ = counter.increment()
            }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(counter.value, 4, "every sleeper did its work")
        let started = monotonicNanoseconds()
        let raced = try Shake.fork(processes: 2, rounds: 3, timeout: .seconds(30), jitter: .none) { worker async in
            let winner = await withTaskGroup(of: String.self) { group in
                group.addTask { try? await Task.sleep(for: .seconds(3600)); return "timeout" }
                group.addTask { await Task.yield(); return "work" }
                let first = await group.next() ?? "none"
                group.cancelAll()
                return first
            }
            worker.check(winner == "work", "the hour-long timeout won")
        }
        XCTAssertTrue(raced.isClean, raced.summary)
        XCTAssertLessThan(monotonicNanoseconds() - started, 900_000_000, "a cancelled sleep made the worker wait out the grace")
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

    /// A worker forked from a test process that runs Dispatch worker threads sends work to
    /// `DispatchQueue.global()`: it never runs there. The run was already "hung", but the report did not say
    /// why; now the hang diagnosis names Dispatch after fork, for an async body and a synchronous one.
    func testDispatchGlobalQueueInAWorkerIsNamedInTheHangReport() throws {
        leaveIdleDispatchThreads()
        XCTAssertFalse(DispatchAfterFork.dispatchThreadNames(of: getpid()).isEmpty, "no Dispatch thread to copy")
        let asyncRun = try Shake.fork(processes: 1, timeout: .seconds(2), jitter: .none) { _ async in
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { done.resume() }
            }
        }
        leaveIdleDispatchThreads()  // again: idle Dispatch threads retire after a few seconds
        let syncRun = try Shake.fork(processes: 1, timeout: .seconds(2), jitter: .none) { _ in
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async { done.signal() }
            done.wait()
        }
        for run in [asyncRun, syncRun] {
            XCTAssertFalse(run.isClean, run.summary)
            XCTAssertEqual(run.hungWorkers.count, 1, run.summary)
            let notes = run.hang?.asyncNotes ?? []
            XCTAssertTrue(notes.contains { $0.contains("DispatchQueue.global() never runs") }, run.summary)
        }
    }

    /// Idle Dispatch worker threads in the test process, as any test that used Dispatch leaves for a while: a
    /// worker's copy of the queue counts them as idle and wakes one that does not exist there. (A parent whose
    /// Dispatch threads are all busy does not show it: the worker's queue then starts a thread of its own.)
    private func leaveIdleDispatchThreads() {
        let burst = DispatchGroup()
        for _ in 0..<50 { DispatchQueue.global().async(group: burst) { usleep(100) } }
        burst.wait()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in usleep(100) }
    }
}
