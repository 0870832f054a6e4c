import Shakedown
import Testing

/// Runs `body` in a worker so that every `Issue` it records (a failing `#expect`, `#require`, `Issue.record`)
/// travels back to the test process at the issue's own source location.
///
/// Why: Swift Testing inside a forked child prints the issue on the console, but the parent's test is never
/// told and passes. Inside the worker the body runs under `withKnownIssue`, whose matcher sees each issue with
/// its location; the matcher sends it through the worker's result channel (`Worker.fail(_:filePath:line:)`)
/// and claims it, so the child's console does not show it as an unexplained failure. A thrown error is not an
/// issue here: it is rethrown, so the worker's outcome stays "threw" as with a plain fork.
func runCapturingIssues(_ body: (Worker) throws -> Void, in worker: Worker) throws {
    var thrown: (any Error)?
    // The matcher must be @Sendable; it only writes one message per issue to the worker's channel (one write(2)).
    nonisolated(unsafe) let channel = worker
    withKnownIssue(isIntermittent: true) {
        do { try body(worker) } catch { thrown = error }
    } matching: { issue in
        let location = issue.sourceLocation
        channel.fail(issueText(issue), filePath: location?.filePath ?? "<unknown>", line: location?.line ?? 0)
        return true
    }
    if let thrown { throw thrown }
}

/// What the issue says, without Swift Testing's own location prefix.
private func issueText(_ issue: Issue) -> String {
    let comments = issue.comments.map(\.rawValue)
    let kind = String(describing: issue.kind)
    return ([kind] + comments).joined(separator: ": ")
}
