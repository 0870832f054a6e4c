import Shakedown
import XCTest

/// Fails when the judge graded any round's outcome forbidden (see `RoundJudge`).
///
/// The message, recorded at the caller's file and line, gives the outcome histogram with each outcome's grade
/// and the first round that showed it, the seed and the replay line.
public func XCTAssertNoForbiddenOutcomes(_ run: RunReport, _ message: @autoclosure () -> String = "",
                                         file: StaticString = #filePath, line: UInt = #line) {
    // Nothing judged proves nothing: a worker that did not complete, or no round judged at all, fails too.
    if let problem = workerProblem(run) {
        return XCTFail(failureText("the outcomes prove nothing: \(problem)", message(), run), file: file, line: line)
    }
    if run.outcomes.isEmpty {
        return XCTFail(failureText("no round was judged (is a RoundJudge given to the run?)", message(), run),
                       file: file, line: line)
    }
    let forbidden = run.forbiddenOutcomes
    guard !forbidden.isEmpty else { return }
    let rounds = forbidden.reduce(0) { $0 + $1.rounds }
    XCTFail(failureText("\(rounds) round\(rounds == 1 ? "" : "s") ended in a forbidden outcome "
                        + "(\(forbidden.map(\.outcome).joined(separator: ", ")))", message(), run),
            file: file, line: line)
}

/// Fails unless some round's outcome had `grade` (by default: interesting). Use it to prove that a test can
/// see the race it guards against.
///
/// Also fails when no round was judged, or a worker did not complete (then the histogram proves nothing).
public func XCTAssertOutcomeSeen(_ grade: OutcomeGrade = .interesting, in run: RunReport,
                                 _ message: @autoclosure () -> String = "",
                                 file: StaticString = #filePath, line: UInt = #line) {
    if let problem = workerProblem(run) {
        XCTFail(failureText("the outcomes prove nothing: \(problem)", message(), run), file: file, line: line)
    } else if run.outcomes.isEmpty {
        XCTFail(failureText("no round was judged (is a RoundJudge given to the run?)", message(), run),
                file: file, line: line)
    } else if !run.outcomes.contains(where: { $0.grade == grade }) {
        XCTFail(failureText("no \(grade) outcome in \(run.outcomes.reduce(0) { $0 + $1.rounds }) rounds", message(), run),
                file: file, line: line)
    }
}
