import Foundation
import Shakedown
import ShakedownTesting
import Testing

/// A `#expect` or `Issue.record` inside a worker reaches the parent's test at its own file and line.
@Suite(.serialized) struct WorkerIssueTests {
    @Test func expectInAWorkerIsReportedAtItsOwnLine() async throws {
        let expectLine = #line + 4
        var run: RunReport?
        try await withKnownIssue {
            run = try await shakedown(processes: 2, rounds: 3) { worker in
                #expect(worker.index < 0, "deliberate")
            }
        } matching: { issue in
            issue.sourceLocation?.filePath == #filePath && issue.sourceLocation?.line == expectLine
                && issue.comments.map(\.rawValue).joined().contains("deliberate")
        }
        let report = try #require(run)
        // 2 workers × 3 rounds, each at the #expect's line, sent through the result channel with its round.
        #expect(report.failures.count == 6)
        #expect(report.failures.allSatisfy { $0.line == expectLine && $0.file == #filePath && $0.origin == .resultChannel })
        #expect(Set(report.failures.compactMap(\.round)) == [0, 1, 2])
        #expect(report.workers.allSatisfy { $0.outcome == .completed })
    }

    @Test func issueRecordInAWorkerIsReportedAtItsOwnLine() throws {
        let recordLine = #line + 3
        try withKnownIssue {
            _ = try shakedown(processes: 1) { _ in
                Issue.record("recorded in the worker")
            }
        } matching: { issue in
            issue.sourceLocation?.line == recordLine
                && issue.comments.map(\.rawValue).joined().contains("recorded in the worker")
        }
    }

    @Test func aThrowingBodyStillThrows() async throws {
        struct Deliberate: Error {}
        let run = try await shakedown(processes: 2) { _ in throw Deliberate() }
        #expect(run.failures.isEmpty)
        #expect(run.workers.allSatisfy { !$0.outcome.isSuccess })
    }

    /// The measured fact behind the capture: a raw-forked child's `#expect` only prints a console line. That line
    /// (read from the worker's output) names the file and line, and the parser reads it.
    @Test func rawForkPrintsTheIssueLineThatTheParserReads() throws {
        let expectLine = #line + 2
        let run = try Shake.fork(processes: 1) { _ in
            #expect(Int("1") == 2, "raw fork")
        }
        let lines = run.workers[0].outputTail.split(separator: "\n").map(String.init)
        let parsed = lines.compactMap(SwiftTestingIssueLine.parse)
        #expect(parsed.count == 1, "worker output: \(run.workers[0].outputTail)")
        #expect(parsed.first?.file == "WorkerIssueTests.swift")
        #expect(parsed.first?.line == expectLine)
        // The comment ("raw fork") follows on a line of its own, "↳ raw fork".
        #expect(parsed.first?.message.hasPrefix("Expectation failed: ") == true)
    }

    @Test func parserTakesArgumentsAndRefusesOtherLines() {
        let parameterized = SwiftTestingIssueLine.parse(
            "✘ Test f(x:) recorded an issue with 1 argument x → \"a at b\" at T.swift:9:5: Expectation failed: x")
        #expect(parameterized?.file == "T.swift" && parameterized?.line == 9)
        #expect(parameterized?.message == "Expectation failed: x")
        #expect(SwiftTestingIssueLine.parse("✔ Test f() passed after 0.001 seconds.") == nil)
        #expect(SwiftTestingIssueLine.parse("✘ Test f() recorded an issue at nowhere") == nil)
    }

    /// The helper suspends: while runs block their own threads, the cooperative pool goes on.
    @Test func asyncRunsDoNotHoldCooperativeThreads() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        async let first = shakedown(processes: 1) { _ in usleep(700_000) }
        async let second = shakedown(processes: 1) { _ in usleep(700_000) }
        for _ in 0..<3 { try await Task.sleep(for: .milliseconds(10)) }
        let ticked = clock.now - start
        let runs = try await [first, second]
        #expect(runs.allSatisfy { $0.isClean })
        // Blocking runs would hold both cooperative threads of a 2-core machine for ≥ 0.7 s before the ticks.
        #expect(ticked < .milliseconds(600), "ticks took \(ticked)")
    }
}
