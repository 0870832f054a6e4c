import Shakedown
import ShakedownTesting
import Testing

/// Each expectation records its issue at the caller's file and line, with the text the XCTest assertions use.
@Suite(.serialized) struct ExpectationLocationTests {
    /// A run whose 2 workers each add 1 atomically, 10 rounds: exactly 20, nothing lost.
    private func exactRun() throws -> (SharedCounter, RunReport) {
        let counter = try SharedCounter("exact")
        let run = try shakedown(processes: 2, rounds: 10, observing: [counter]) { _ in
            _ = counter.increment()
        }
        return (counter, run)
    }

    @Test func noLostUpdatesFailsAtTheCallersLine() throws {
        let (counter, run) = try exactRun()
        expectClean(run)
        // One more than was added: the verdict is "lost 1", deterministically.
        let expectedLine = #line + 2
        withKnownIssue {
            expectNoLostUpdates(counter, expected: 21, in: run, "deliberate")
        } matching: { issue in
            let text = issue.comments.map(\.rawValue).joined()
            return issue.sourceLocation?.filePath == #filePath && issue.sourceLocation?.line == expectedLine
                && text.hasPrefix("lost updates — ") && text.contains(" — deliberate\n")
                && text.contains(run.seed.replayHint) && text.contains(run.summary)
        }
    }

    @Test func lostUpdatesFailsWhenNoneWereLost() throws {
        let (counter, run) = try exactRun()
        let expectedLine = #line + 1
        withKnownIssue { expectLostUpdates(counter, expected: 20, in: run) } matching: { issue in
            issue.sourceLocation?.line == expectedLine
                && issue.comments.map(\.rawValue).joined().hasPrefix("expected lost updates, found none — ")
        }
    }

    @Test func sameTextAsTheSharedFailureText() throws {
        let (counter, run) = try exactRun()
        let expected = run.failureText(headline: "expected lost updates, found none — "
                                       + run.verdict(for: counter, expected: 20).description)
        withKnownIssue { expectLostUpdates(counter, expected: 20, in: run) } matching: { issue in
            issue.comments.map(\.rawValue).joined() == expected
        }
    }

    @Test func workerFailuresAndCleanFailAtTheCallersLine() throws {
        let run = try Shake.fork(processes: 2) { worker in
            worker.check(worker.index < 0, "deliberate check")
        }
        #expect(run.failures.count == 2)
        let failuresLine = #line + 1
        withKnownIssue { expectNoWorkerFailures(run) } matching: { issue in
            issue.sourceLocation?.line == failuresLine
                && issue.comments.map(\.rawValue).joined().hasPrefix("2 failures recorded in workers\n")
        }
        let cleanLine = #line + 1
        withKnownIssue { expectClean(run) } matching: { issue in
            issue.sourceLocation?.line == cleanLine
                && issue.comments.map(\.rawValue).joined().hasPrefix("run is not clean\n")
        }
    }

    @Test func outcomeSeenFailsWhenNothingWasJudged() throws {
        let (_, run) = try exactRun()
        // Nothing judged proves nothing, for the guard as for the proof.
        withKnownIssue { expectNoForbiddenOutcomes(run) } matching: { issue in
            issue.comments.map(\.rawValue).joined().hasPrefix("no round was judged")
        }
        let expectedLine = #line + 1
        withKnownIssue { expectOutcomeSeen(in: run) } matching: { issue in
            issue.sourceLocation?.line == expectedLine
                && issue.comments.map(\.rawValue).joined().hasPrefix("no round was judged")
        }
    }

    @Test func passingExpectationsRecordNothing() throws {
        let (counter, run) = try exactRun()
        expectClean(run)
        expectNoLostUpdates(counter, expected: 20, in: run)
        expectNoLeakedProcesses(run)
        expectNoWorkerFailures(run)
    }
}
