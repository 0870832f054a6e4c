import Shakedown
import Testing

/// Records an issue unless the run is clean: every worker completed, none crashed, hung, threw or exited early,
/// no failure was recorded inside a worker, no process leaked, and no round ended in a forbidden outcome.
///
/// The issue is recorded at the caller's source location; its text is the one `XCTAssertClean` uses: the seed
/// (and how to replay it), each unsuccessful worker with its output tail, every worker failure with its own
/// file:line, the leaks, and the hang diagnosis. For a hung run the full report is written to a file whose path
/// the text gives, and attached to the test.
///
/// - Cost: nothing for a clean run; building the text (and, after a hang, writing two files) otherwise.
public func expectClean(_ run: RunReport, _ comment: Comment? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    guard !run.isClean else { return }
    recordRunIssue("run is not clean", comment, run, at: sourceLocation)
}

/// Records an issue when `counter` lost (or gained) updates: its value must equal `expected`.
///
/// Also records one when any worker crashed, hung, threw or stopped early, because then the count proves nothing.
/// Same text as `XCTAssertNoLostUpdates`, at the caller's source location.
public func expectNoLostUpdates(_ counter: SharedCounter, expected: Int64, in run: RunReport,
                                _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    expectCounter(counter, expected: expected, in: run, comment, sourceLocation) { verdict in
        verdict.isExact ? nil : "lost updates — \(verdict)"
    }
}

/// Records an issue unless `counter` lost at least one update: use it to prove a test can see the race it
/// guards against.
///
/// Also records one when any worker crashed, hung, threw or stopped early. Same text as `XCTAssertLostUpdates`.
public func expectLostUpdates(_ counter: SharedCounter, expected: Int64, in run: RunReport,
                              _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    expectCounter(counter, expected: expected, in: run, comment, sourceLocation) { verdict in
        verdict.lost > 0 ? nil : "expected lost updates, found none — \(verdict)"
    }
}

/// Records an issue when any worker did not complete (the count then proves nothing), else when `problem`
/// names one.
private func expectCounter(_ counter: SharedCounter, expected: Int64, in run: RunReport, _ comment: Comment?,
                           _ sourceLocation: SourceLocation, problem: (LostUpdateVerdict) -> String?) {
    let verdict = run.verdict(for: counter, expected: expected)
    if let unsuccessful = run.workerProblem {
        recordRunIssue("\(verdict.description)\nbut the counter proves nothing: \(unsuccessful)", comment, run,
                       at: sourceLocation)
    } else if let problem = problem(verdict) {
        recordRunIssue(problem, comment, run, at: sourceLocation)
    }
}

/// Records an issue when the run left any zombie or orphan process behind (they were cleaned up; this says they
/// existed). Same text as `XCTAssertNoLeakedProcesses`.
public func expectNoLeakedProcesses(_ run: RunReport, _ comment: Comment? = nil,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
    guard !run.leaks.isEmpty else { return }
    recordRunIssue("\(run.leaks.count) leaked process\(run.leaks.count == 1 ? "" : "es")", comment, run,
                   at: sourceLocation)
}

/// Records an issue when a worker recorded a failure (`Worker.fail(_:file:line:)`, an `#expect` or
/// `Issue.record` caught by ``shakedown(processes:rounds:timeout:jitter:seed:observing:body:)-2d12b``, or an `XCTAssert…`
/// line read from the worker's output). Each appears in the text with its own file:line.
public func expectNoWorkerFailures(_ run: RunReport, _ comment: Comment? = nil,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
    guard !run.failures.isEmpty else { return }
    recordRunIssue("\(run.failures.count) failure\(run.failures.count == 1 ? "" : "s") recorded in workers",
                   comment, run, at: sourceLocation)
}
