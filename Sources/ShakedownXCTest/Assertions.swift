import Foundation
import Shakedown
import XCTest

/// Fails unless the run is clean: every worker completed, none crashed, hung, threw or exited early, no
/// failure was recorded inside a worker, and no process leaked.
///
/// The failure is recorded at the caller's file and line; its message has the seed (and how to replay it), each
/// unsuccessful worker with its output tail, every worker failure with its own file:line, the leaks, and the
/// hang diagnosis (the full one is written to a file whose path the message gives).
public func XCTAssertClean(_ run: RunReport, _ message: @autoclosure () -> String = "",
                           file: StaticString = #filePath, line: UInt = #line) {
    guard !run.isClean else { return }
    XCTFail(failureText("run is not clean", message(), run), file: file, line: line)
}

/// Fails when `counter` lost (or gained) updates: its value must equal `expected`.
///
/// Also fails when any worker crashed, hung, threw or stopped early, because then the count proves nothing.
public func XCTAssertNoLostUpdates(_ counter: SharedCounter, expected: Int64, in run: RunReport,
                                   _ message: @autoclosure () -> String = "",
                                   file: StaticString = #filePath, line: UInt = #line) {
    assertCounter(counter, expected: expected, in: run, message(), file: file, line: line) { verdict in
        verdict.isExact ? nil : "lost updates — \(verdict)"
    }
}

/// Fails unless `counter` lost at least one update: use it to prove a test can see the race it guards against.
///
/// Also fails when any worker crashed, hung, threw or stopped early.
public func XCTAssertLostUpdates(_ counter: SharedCounter, expected: Int64, in run: RunReport,
                                 _ message: @autoclosure () -> String = "",
                                 file: StaticString = #filePath, line: UInt = #line) {
    assertCounter(counter, expected: expected, in: run, message(), file: file, line: line) { verdict in
        verdict.lost > 0 ? nil : "expected lost updates, found none — \(verdict)"
    }
}

/// Fails when any worker did not complete (the count then proves nothing), else when `problem` names one.
private func assertCounter(_ counter: SharedCounter, expected: Int64, in run: RunReport, _ message: String,
                           file: StaticString, line: UInt, problem: (LostUpdateVerdict) -> String?) {
    let verdict = run.verdict(for: counter, expected: expected)
    if let unsuccessful = workerProblem(run) {
        XCTFail(failureText("\(verdict.description)\nbut the counter proves nothing: \(unsuccessful)", message, run),
                file: file, line: line)
    } else if let problem = problem(verdict) {
        XCTFail(failureText(problem, message, run), file: file, line: line)
    }
}

/// Fails when the run left any zombie or orphan process behind (they were cleaned up; this says they existed).
public func XCTAssertNoLeakedProcesses(_ run: RunReport, _ message: @autoclosure () -> String = "",
                                       file: StaticString = #filePath, line: UInt = #line) {
    guard !run.leaks.isEmpty else { return }
    XCTFail(failureText("\(run.leaks.count) leaked process\(run.leaks.count == 1 ? "" : "es")", message(), run),
            file: file, line: line)
}

/// Fails when a worker recorded a failure (`Worker.fail(_:file:line:)`, `Worker.check(_:_:file:line:)` or an
/// `XCTAssert…` inside the worker). Each appears in the message with its own file:line.
public func XCTAssertNoWorkerFailures(_ run: RunReport, _ message: @autoclosure () -> String = "",
                                      file: StaticString = #filePath, line: UInt = #line) {
    guard !run.failures.isEmpty else { return }
    XCTFail(failureText("\(run.failures.count) failure\(run.failures.count == 1 ? "" : "s") recorded in workers",
                        message(), run), file: file, line: line)
}

/// Why a run's counters prove nothing, or `nil` when every worker completed (shared with ShakedownTesting).
func workerProblem(_ run: RunReport) -> String? { run.workerProblem }

/// The message of a failed assertion, built by the core so XCTest and Swift Testing say the same: it quotes the
/// workers' output and crash messages through `TerminalText` (escape codes are shown, not obeyed), and writes the
/// full hang report, with its JSON beside it.
func failureText(_ headline: String, _ userMessage: String, _ run: RunReport) -> String {
    run.failureText(headline: headline, userMessage: userMessage, encodeHang: { hang in
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(hang.snapshots)).map { Array($0) }
    })
}
