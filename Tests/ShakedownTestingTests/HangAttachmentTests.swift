import Foundation
import Shakedown
import Synchronization
import ShakedownTesting
import Testing

/// A hung run's issue names the full report file, and the file is attached to the test.
@Suite(.serialized) struct HangAttachmentTests {
    @Test func hangReportIsWrittenAndAttached() async throws {
        let run = try await shakedown(processes: 1, timeout: .seconds(1)) { _ in
            while true { usleep(100_000) }
        }
        #expect(run.hang != nil)
        let reportPath = Mutex<String?>(nil)
        withKnownIssue { expectClean(run) } matching: { issue in
            let text = issue.comments.map(\.rawValue).joined()
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("full hang report: ") }) else {
                return false
            }
            let path = line.dropFirst("full hang report: ".count).split(separator: " ").first.map(String.init)
            reportPath.withLock { $0 = path }
            return true
        }
        let path = try #require(reportPath.withLock { $0 })
        let report = try String(contentsOfFile: path, encoding: .utf8)
        #expect(report.contains(run.summary))
        #expect(FileManager.default.fileExists(atPath: path + ".json"))
        // scripts/test runs Swift Testing with --attachments-path and names that folder here.
        if let folder = ProcessInfo.processInfo.environment["SHAKEDOWN_TEST_ATTACHMENTS"] {
            let name = (path as NSString).lastPathComponent
            let saved = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(name.dropLast(4)) }
            #expect(!saved.isEmpty, "no attachment named like \(name) in \(folder)")
        }
    }
}
