#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shakedown

/// `--junit FILE`: the run as JUnit XML (docs/junit.xsd), which CI servers show as tests.
///
/// One run (`--repeat 1`) is one test case per copy; a repeated run is one test case per repetition of this process
/// (its shard's block with `--shard`), named with its seed. A failing case's `<failure>` says why in one line, with
/// the seed and the replay line; its `<system-out>` holds the report (copies' output, the crash, the hang
/// capture). Whatever the run's verdict, a non-zero one is never shown as all-passed: when no case carries it,
/// a `verdict` case does. Every text from the command goes through ``XMLText``.
enum JUnitReport {
    /// The most repetitions one report takes (`--junit` with more is a usage error): each is a test case kept in
    /// memory until the end (about 100 bytes; the first failures' whole reports besides).
    static let maximumCases = 1_000_000

    /// Writes the report to `path` (replacing it).
    /// - Throws: `ExitCode(73)` after saying why on standard error, when the file cannot be written.
    static func write(_ summary: RepeatSummary, options: RunCommand, to path: String) throws {
        let xml = render(summary, options: options)
        guard let file = fopen(path, "w") else {
            let reason = String(cString: strerror(errno))
            writeToStandardError("shakedown run: cannot write --junit \(TerminalText.escaped(path)): \(reason)\n")
            throw ExitCode(73)
        }
        let bytes = Array(xml.utf8)
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let closed = fclose(file)
        guard written == bytes.count, closed == 0 else {
            writeToStandardError("shakedown run: writing --junit \(TerminalText.escaped(path)) failed\n")
            throw ExitCode(73)
        }
    }

    /// A test case before it becomes XML: raw texts, escaped once when rendered.
    struct Case {
        var name: String
        var seconds: Double
        var failure: (type: String, message: String, details: String)?
        var isError = false
        var skipped: String?
        var output: String?
    }

    static func render(_ summary: RepeatSummary, options: RunCommand) -> String {
        // A run stopped before its report (a failed --before) is shown as its repetition, with the stop's reason.
        var cases = if options.repetitions == 1, let report = summary.lastReport {
            copyCases(summary, report: report, options: options)
        } else {
            repetitionCases(summary, options: options)
        }
        if summary.exitCode != 0, !cases.contains(where: { $0.failure != nil }) {
            cases.append(Case(name: "verdict", seconds: 0, failure: (
                RepetitionTally.verdict(summary.exitCode), "not clean (exit \(summary.exitCode))",
                summary.failures.first.map { failureDetails($0, options: options) } ?? "exit \(summary.exitCode)")))
        }
        return document(cases, summary: summary, options: options)
    }

    // MARK: Test cases

    /// `--repeat 1`: a case per copy, and cases for what belongs to no copy (leaks, the check, the run itself).
    private static func copyCases(_ summary: RepeatSummary, report: RunReport, options: RunCommand) -> [Case] {
        let seed = report.seed
        let replay = ReplayLine.command(options, seed: seed)
        let seconds = Double(report.duration.nanoseconds) / 1e9
        var cases: [Case] = report.workers.map { worker in
            var entry = Case(name: "copy \(worker.index)", seconds: seconds)
            let leaks = report.leaks.filter { $0.worker == worker.index }
            var output = worker.outputTail
            if let crash = worker.crashMessage { output = crash + "\n" + output }
            if worker.outcome == .hung, let hang = report.hang { output += "\n" + hang.fullText }
            if !worker.outcome.isSuccess {
                let why = "copy \(worker.index) \(worker.outcome)"
                entry.failure = (kind(worker.outcome), why + "; seed \(seed.hexadecimal)",
                                 "\(why)\nseed \(seed.hexadecimal)\nreplay: \(replay)")
            } else if !leaks.isEmpty {
                let why = "copy \(worker.index) left \(leaks.count) process\(leaks.count == 1 ? "" : "es") behind"
                entry.failure = ("leaked", why + "; seed \(seed.hexadecimal)",
                                 ([why] + leaks.map(\.description) + ["seed \(seed.hexadecimal)", "replay: \(replay)"])
                                    .joined(separator: "\n"))
            }
            entry.isError = { if case .notStarted = worker.outcome { return true } else { return false } }()
            entry.output = output.isEmpty ? nil : output
            return entry
        }
        let strays = report.leaks.filter { $0.worker == nil }
        if !strays.isEmpty {
            cases.append(Case(name: "leaked processes", seconds: 0, failure: (
                "leaked", "\(strays.count) leaked process\(strays.count == 1 ? "" : "es"); seed \(seed.hexadecimal)",
                (strays.map(\.description) + ["seed \(seed.hexadecimal)", "replay: \(replay)"]).joined(separator: "\n"))))
        }
        if let check = summary.lastCheck, let command = options.check {
            var entry = Case(name: "check", seconds: 0)
            if !check.succeeded {
                entry.failure = ("check failed", "check `\(command)` \(check.reason); seed \(seed.hexadecimal)",
                                 "check `\(command)` \(check.reason)\nseed \(seed.hexadecimal)\nreplay: \(replay)")
            }
            // Bytes that are not UTF-8 shown as \x{FF}, not lost to U+FFFD.
            entry.output = TerminalText.escaped(bytes: check.outputTail)
            cases.append(entry)
        }
        let problems = report.notes + (report.leaderProblem.map { [$0] } ?? [])
        if !report.isClean, !cases.contains(where: { $0.failure != nil }) {
            cases.append(Case(name: "run", seconds: seconds, failure: (
                "not clean", "the run is not clean; seed \(seed.hexadecimal)",
                (problems + ["seed \(seed.hexadecimal)", "replay: \(replay)"]).joined(separator: "\n"))))
        }
        return cases
    }

    /// `--repeat R`: a case per repetition that ran; one skipped case for the rest of the block, when it stopped.
    private static func repetitionCases(_ summary: RepeatSummary, options: RunCommand) -> [Case] {
        // The repetition that stopped the run (RunStop) is the one record whose report never became the last one.
        let stoppedAt = summary.records.last.flatMap { $0.seed == summary.lastReport?.seed ? nil : $0.repetition }
        var cases: [Case] = summary.records.map { record in
            var entry = Case(name: "repetition \(record.repetition) (seed \(record.seed.hexadecimal))",
                             seconds: Double(record.duration.nanoseconds) / 1e9)
            guard record.exitCode != 0 else { return entry }
            let failure = RepetitionFailure(repetition: record.repetition, seed: record.seed,
                                            exitCode: record.exitCode, reason: record.reason ?? "")
            entry.failure = (RepetitionTally.verdict(record.exitCode),
                             (record.reason ?? "not clean") + "; seed \(record.seed.hexadecimal)",
                             failureDetails(failure, options: options))
            entry.isError = record.exitCode == 70
            if let report = record.report {
                var text = RunText.renderRaw(report)
                if let check = record.check, let command = options.check {
                    text += "\ncheck `\(command)` \(check.succeeded ? "passed" : check.reason)\n"
                        + TerminalText.escaped(bytes: check.outputTail)
                }
                entry.output = text
            } else if record.repetition == stoppedAt {
                entry.output = "the run stopped at this repetition before its copies could be judged: "
                    + (record.reason ?? "?")
            } else {
                entry.output = "(the first \(RepetitionRecord.detailedLimit) failing repetitions carry their whole "
                    + "report; replay this one with the line above)"
            }
            return entry
        }
        let ran = summary.records.last.map { $0.repetition + 1 } ?? summary.planned.lowerBound
        if ran < summary.planned.upperBound {
            cases.append(Case(name: "repetitions \(ran)..<\(summary.planned.upperBound)", seconds: 0,
                              skipped: "not run: the loop stopped at the first failure (--keep-going runs them)"))
        }
        return cases
    }

    private static func failureDetails(_ failure: RepetitionFailure, options: RunCommand) -> String {
        var lines = ["repetition \(failure.repetition): \(failure.reason)", "seed \(failure.seed.hexadecimal)"]
        if failure.exitCode != 70 { lines.append("replay: " + ReplayLine.command(options, seed: failure.seed)) }
        return lines.joined(separator: "\n")
    }

    private static func kind(_ outcome: WorkerOutcome) -> String {
        switch outcome {
        case .hung: return "hung"
        case .crashed: return "crashed"
        case .notStarted: return "not started"
        default: return "failed"
        }
    }

    // MARK: XML

    private static func document(_ cases: [Case], summary: RepeatSummary, options: RunCommand) -> String {
        let failures = cases.count { $0.failure != nil && !$0.isError }
        let errors = cases.count { $0.failure != nil && $0.isError }
        let skipped = cases.count { $0.skipped != nil }
        let seconds = format(Double(summary.totalDuration.nanoseconds) / 1e9)
        let command = ReplayLine.shellWords(options.command)
        let suite = "shakedown run -n \(options.copies) -- \(command)"
        let counts = "tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" "
            + "time=\"\(seconds)\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"shakedown\" \(counts)>\n"
        xml += "  <testsuite name=\"\(XMLText.escaped(suite))\" \(counts) timestamp=\"\(timestamp())\" "
            + "hostname=\"\(XMLText.escaped(hostname()))\">\n"
        xml += "    <properties>\n"
        var properties = [("command", command), ("seedBase", summary.baseSeed.hexadecimal),
                          ("repetitions", "\(summary.planned.lowerBound)..<\(summary.planned.upperBound) of \(options.repetitions)"),
                          ("exitCode", String(summary.exitCode))]
        if let shard = options.shard { properties.append(("shard", shard.description)) }
        for (name, value) in properties {
            xml += "      <property name=\"\(name)\" value=\"\(XMLText.escaped(value))\"/>\n"
        }
        xml += "    </properties>\n"
        // CI servers group cases by class: one class per command, so several commands' reports stay apart.
        let program = options.command.first.map { $0.split(separator: "/").last.map(String.init) ?? $0 } ?? "command"
        for entry in cases { xml += testCase(entry, classname: "shakedown.run." + program) }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    private static func testCase(_ entry: Case, classname: String) -> String {
        let open = "    <testcase name=\"\(XMLText.escaped(entry.name))\" classname=\"\(XMLText.escaped(classname))\" "
            + "time=\"\(format(entry.seconds))\""
        if entry.skipped == nil, entry.failure == nil, entry.output == nil { return open + "/>\n" }
        var xml = open + ">\n"
        if let skipped = entry.skipped { xml += "      <skipped message=\"\(XMLText.escaped(skipped))\"/>\n" }
        if let failure = entry.failure {
            let element = entry.isError ? "error" : "failure"
            xml += "      <\(element) type=\"\(XMLText.escaped(failure.type))\" "
                + "message=\"\(XMLText.escaped(failure.message))\">\(XMLText.escaped(failure.details))</\(element)>\n"
        }
        if let output = entry.output { xml += "      <system-out>\(XMLText.escaped(output))</system-out>\n" }
        return xml + "    </testcase>\n"
    }

    /// Seconds with millisecond precision, never in exponent notation (xs:decimal has none).
    private static func format(_ seconds: Double) -> String {
        let milliseconds = seconds.isFinite ? max(0, Int64((seconds * 1000).rounded())) : 0
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// Now, UTC, as xs:dateTime: `2026-11-27T06:03:17Z`.
    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    private static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
