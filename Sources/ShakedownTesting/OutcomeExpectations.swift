import Shakedown
import Testing

/// Records an issue when the judge graded any round's outcome forbidden (see `RoundJudge`).
///
/// The text, recorded at the caller's source location, is the one `XCTAssertNoForbiddenOutcomes` uses: the
/// outcome histogram with each outcome's grade and the first round that showed it, the seed and the replay line.
public func expectNoForbiddenOutcomes(_ run: RunReport, _ comment: Comment? = nil,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
    // Nothing judged proves nothing: a worker that did not complete, or no round judged at all, is an issue too.
    if let problem = run.workerProblem {
        return recordRunIssue("the outcomes prove nothing: \(problem)", comment, run, at: sourceLocation)
    }
    if run.outcomes.isEmpty {
        return recordRunIssue("no round was judged (is a RoundJudge given to the run?)", comment, run, at: sourceLocation)
    }
    let forbidden = run.forbiddenOutcomes
    guard !forbidden.isEmpty else { return }
    let rounds = forbidden.reduce(0) { $0 + $1.rounds }
    recordRunIssue("\(rounds) round\(rounds == 1 ? "" : "s") ended in a forbidden outcome "
                   + "(\(forbidden.map(\.outcome).joined(separator: ", ")))", comment, run, at: sourceLocation)
}

/// Records an issue unless some round's outcome had `grade` (by default: interesting). Use it to prove that a
/// test can see the race it guards against.
///
/// Also records one when no round was judged, or a worker did not complete (then the histogram proves nothing).
public func expectOutcomeSeen(_ grade: OutcomeGrade = .interesting, in run: RunReport, _ comment: Comment? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
    if let problem = run.workerProblem {
        recordRunIssue("the outcomes prove nothing: \(problem)", comment, run, at: sourceLocation)
    } else if run.outcomes.isEmpty {
        recordRunIssue("no round was judged (is a RoundJudge given to the run?)", comment, run, at: sourceLocation)
    } else if !run.outcomes.contains(where: { $0.grade == grade }) {
        recordRunIssue("no \(grade) outcome in \(run.outcomes.reduce(0) { $0 + $1.rounds }) rounds", comment, run,
                       at: sourceLocation)
    }
}
