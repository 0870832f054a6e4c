#if canImport(Glibc)
import Glibc
#endif

extension RunReport {
    /// The message of a failed assertion over this run, shared by the XCTest and Swift Testing assertions so
    /// both say the same thing: `headline`, then ` — userMessage` when there is one, then ``summary`` (seed,
    /// replay line, unsuccessful workers with their output tails, failures at file:line, leaks, hang), and for a
    /// hung run the path of the full report that ``writeFullReport()`` wrote.
    ///
    /// The text quotes what workers printed, so it goes through ``TerminalText``: escape codes printed by the
    /// code under test are shown, not obeyed, in the test log.
    ///
    /// - Parameters:
    ///   - headline: what failed, in the assertion's words (the first line).
    ///   - userMessage: the caller's own message; empty for none.
    ///   - encodeHang: turns the hang diagnosis into JSON bytes, written beside the full report as `PATH.json`
    ///     (the core module has no JSON encoder; the test libraries pass Foundation's). `nil` writes no JSON.
    /// - Cost: for a clean run, string building only; for a hung run, one or two small file writes.
    public func failureText(headline: String, userMessage: String = "",
                            encodeHang: ((HangDiagnosis) -> [UInt8]?)? = nil) -> String {
        failureTextAndReport(headline: headline, userMessage: userMessage, encodeHang: encodeHang).text
    }

    /// ``failureText(headline:userMessage:encodeHang:)`` and the path of the full hang report it wrote (`nil`
    /// when the run did not hang or the file could not be written), for test libraries that attach the file.
    package func failureTextAndReport(headline: String, userMessage: String,
                                      encodeHang: ((HangDiagnosis) -> [UInt8]?)?) -> (text: String, reportPath: String?) {
        var text = headline
        if !userMessage.isEmpty { text += " — \(userMessage)" }
        text += "\n" + summary
        var reportPath: String?
        if let hang, let path = try? writeFullReport() {
            reportPath = path
            text += "\nfull hang report: \(path)"
            if let json = encodeHang?(hang), Self.write(json, to: path + ".json") {
                text += " (JSON: \(path).json)"
            }
        }
        return (TerminalText.escaped(text), reportPath)
    }

    private static func write(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { closeQuietly(fd) }
        return writeAll(fd, bytes)
    }

    /// Why this run's counters and outcomes prove nothing (each unsuccessful worker's summary), or `nil` when
    /// every worker completed.
    public var workerProblem: String? {
        let unsuccessful = unsuccessfulWorkers
        guard !unsuccessful.isEmpty else { return nil }
        return unsuccessful.map(\.summary).joined(separator: "; ")
    }
}
