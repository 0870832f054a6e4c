import Foundation
import Shakedown
import Testing

/// Records a failed assertion over `run` as an `Issue` at `sourceLocation`, with the same text the XCTest
/// assertions use, and attaches the full hang report (when the run hung) so CI can upload it.
func recordRunIssue(_ headline: String, _ comment: Comment?, _ run: RunReport, at sourceLocation: SourceLocation) {
    let failure = run.failureTextAndReport(headline: headline, userMessage: comment?.rawValue ?? "",
                                           encodeHang: hangJSON)
    Issue.record(Comment(rawValue: failure.text), sourceLocation: sourceLocation)
    if let path = failure.reportPath { attachFullReport(at: path, sourceLocation: sourceLocation) }
}

/// The hang diagnosis's thread snapshots as pretty JSON (the `PATH.json` beside the full report).
private func hangJSON(_ hang: HangDiagnosis) -> [UInt8]? {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    return (try? encoder.encode(hang.snapshots)).map { Array($0) }
}

/// Attaches the file at `path` to the current test under its own name. Swift Testing writes attachments only
/// when the runner is given a folder (`swift test --attachments-path DIR`); otherwise it discards them, and the
/// issue's text still names the file.
func attachFullReport(at path: String, sourceLocation: SourceLocation) {
    guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return }
    let name = path.split(separator: "/").last.map(String.init) ?? "shakedown-report.txt"
    Attachment.record(contents, named: name, sourceLocation: sourceLocation)
}
