#if canImport(Glibc)
import Glibc
#endif
import Shakedown

/// The human-readable account of a command run. Everything that came from the command (its argv, output,
/// crash messages, leaked processes' command lines, notes) goes through `TerminalText`, so escape codes in it
/// are shown, not obeyed: a command cannot clear the screen or print a fake verdict.
enum RunText {
    /// The report's lines, without a verdict, escaped for a terminal.
    static func render(_ report: RunReport) -> String { TerminalText.escaped(renderRaw(report)) }

    /// The report's lines as they came, for renderings that escape on their own (`--junit`'s XML).
    static func renderRaw(_ report: RunReport) -> String {
        var lines: [String] = []
        let command = report.command.map(ReplayLine.shellWords) ?? "?"
        lines.append("shakedown run: \(report.workers.count) cop\(report.workers.count == 1 ? "y" : "ies") of `\(command)`, seed \(report.seed), jitter \(report.configuration.jitter.mode), \(report.duration.shortDescription)")
        for worker in report.workers {
            var line = "  copy \(worker.index) pid \(worker.commandPid ?? worker.pid): "
            switch worker.outcome {
            // A command that was started and exited 0.
            case .completed: line += "exit 0"
            case let .notStarted(reason): line += "NEVER STARTED: \(reason)"
            case .hung: line += "HUNG (still running at the deadline; torn down)"
            case let .crashed(signal): line += "CRASHED with \(signal.name)"
            case let .exited(code): line += "EXIT \(code)"
            default: line += "\(worker.outcome)"
            }
            lines.append(line)
            if !worker.outcome.isSuccess {
                if let crash = worker.crashMessage { lines.append("      \(crash)") }
                for text in worker.outputTail.split(whereSeparator: \.isNewline).suffix(4) { lines.append("      | \(text)") }
            }
        }
        for observation in report.observations {
            lines.append("  counter `\(observation.name)`: \(observation.finalValue); per-round: " + observation.histogramLines.prefix(6).joined(separator: ", "))
        }
        if !report.leaks.isEmpty {
            lines.append("leaked: \(report.zombies.count) zombie\(report.zombies.count == 1 ? "" : "s"), \(report.orphans.count) orphan\(report.orphans.count == 1 ? "" : "s")")
            for leak in report.leaks { lines.append("  " + leak.description) }
        }
        if let hang = report.hang { lines.append(hang.compactText) }
        for note in report.notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }

    /// `check passed: `cmd`` or `check FAILED: `cmd` exited with code 1` and the check's last output lines.
    static func check(_ result: ShellStep.Result, command: String) -> String {
        if result.succeeded { return TerminalText.escaped("check passed: `\(command)`") }
        var text = TerminalText.escaped("check FAILED: `\(command)` \(result.reason)")
        let lines = result.outputTail.split(separator: UInt8(ascii: "\n")).suffix(4)
        for line in lines { text += "\n      | " + TerminalText.escaped(bytes: line) }
        return text
    }

    /// A failing repetition of several, printed as it happens.
    static func repetition(_ index: Int, of total: Int, report: RunReport, check: ShellStep.Result?,
                           options: RunCommand) -> String {
        var text = "repetition \(index) (of \(total); seed \(report.seed.hexadecimal)):\n" + render(report)
        if let check, let command = options.check { text += "\n" + self.check(check, command: command) }
        return text
    }

    /// The end of the output: for one repetition its whole report, for several a summary; then the verdict
    /// and, when not clean, a replay line for the first failing repetition.
    static func closing(_ summary: RepeatSummary, options: RunCommand) -> String {
        var lines: [String] = []
        if options.repetitions == 1 {
            if let report = summary.lastReport { lines.append(render(report)) }
            if let check = summary.lastCheck, let command = options.check {
                lines.append(self.check(check, command: command))
            }
        } else {
            let command = TerminalText.escaped(ReplayLine.shellWords(options.command))
            let block = options.shard.map {
                "shard \($0) of \(options.repetitions) repetitions (\(summary.planned.lowerBound)..<\(summary.planned.upperBound)): "
            } ?? ""
            lines.append("shakedown run: \(block)\(summary.repetitionsRun) of \(summary.planned.count) repetitions of "
                + "\(options.copies) cop\(options.copies == 1 ? "y" : "ies") of `\(command)`, "
                + "\(summary.failures.count) failed (\(summary.checkFailures) failed check\(summary.checkFailures == 1 ? "" : "s")), "
                + summary.totalDuration.shortDescription)
        }
        if let first = summary.failures.first {
            let which = options.repetitions == 1 ? "" : "repetition \(first.repetition): "
            lines.append("not clean (exit \(summary.exitCode)): \(which)" + TerminalText.escaped(first.reason))
            if first.exitCode != 70 {
                lines.append("replay: " + TerminalText.escaped(ReplayLine.command(options, seed: first.seed)))
                if let note = ReplayLine.drawnMode(options, used: first.jitter) { lines.append(note) }
            }
        } else {
            let all = options.repetitions > 1 ? " in every repetition" : ""
            let checked = options.check == nil ? "" : ", every check passed"
            lines.append("clean: every copy exited 0, nothing hung or leaked\(all)\(checked)")
        }
        return lines.joined(separator: "\n")
    }
}

/// The command line that replays one repetition: `shakedown run -n 4 --seed 0x… --repeat 1 … -- cmd`.
enum ReplayLine {
    static func command(_ options: RunCommand, seed: Seed) -> String {
        var words = ["shakedown", "run", "-n", String(options.copies), "--seed", seed.hexadecimal, "--repeat", "1"]
        // The mode shapes every jitter decision: a replay without it would shake differently.
        if options.jitter != "default" { words += ["--jitter", options.jitter] }
        if options.timeout != 60 { words += ["--timeout", OptionValue.format(options.timeout)] }
        if options.rounds != 1 { words += ["--rounds", String(options.rounds)] }
        if let depth = options.pctDepth { words += ["--pct-depth", String(depth)] }
        if let steps = options.pctSteps { words += ["--pct-steps", String(steps)] }
        if options.counters != 0 { words += ["--counters", String(options.counters)] }
        if options.grace != 0.5 { words += ["--grace", OptionValue.format(options.grace)] }
        if let before = options.before { words += ["--before", before] }
        if let check = options.check { words += ["--check", check] }
        return environmentPrefix() + shellWords(words) + " -- " + shellWords(options.command)
    }

    /// `SHAKEDOWN_JITTER=pct ` when the variable chose this run's mode over `--jitter`: a replay without it would
    /// shake in another mode, and could pass where the run failed.
    static func environmentPrefix() -> String {
        jitterEnvironment.map { JitterPlan.environmentVariable + "=" + quoted($0) + " " } ?? ""
    }

    /// `SHAKEDOWN_JITTER` when it is set to more than white space (then it decides the mode), else `nil`.
    static var jitterEnvironment: String? {
        guard let raw = getenv(JitterPlan.environmentVariable) else { return nil }
        let value = String(cString: raw)
        return value.contains(where: { !$0.isWhitespace }) ? value : nil
    }

    /// The line after a replay line when `mix` drew the repetition's mode (`used`) from its seed, else `nil`.
    static func drawnMode(_ options: RunCommand, used: JitterMode?) -> String? {
        guard options.jitterPlan.mode == .mix, let used, used != .mix else { return nil }
        return "jitter: mix drew \(used) for this seed (the replay draws it again; --jitter \(used) is the same)"
    }

    /// The words quoted for a shell where needed, so the line can be pasted: `a 'b c' 'it'\''s' $'\x1b[2J'`.
    static func shellWords(_ words: [String]) -> String {
        words.map(quoted).joined(separator: " ")
    }

    /// A word as a shell reads it back unchanged: bare when it has only characters no shell treats specially;
    /// in single quotes when it has no control character (nothing in them is special but `'`); otherwise ANSI-C
    /// quoted (`$'…'`, bash, zsh, ksh and POSIX.1-2024 sh), where every control character, C1 control and
    /// bidirectional override becomes `\n`, `\t` or its UTF-8 bytes as `\xHH`, so no escape code reaches a
    /// terminal raw and a pasted line cannot break in two.
    static func quoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy { scalar in
            (scalar.properties.isAlphabetic && scalar.isASCII) || ("0"..."9").contains(scalar)
                || "-_./:=@%+,".unicodeScalars.contains(scalar)
        }
        if plain { return word }
        guard word.unicodeScalars.contains(where: needsANSIQuoting) else {
            return "'" + word.replacing("'", with: "'\\''") + "'"
        }
        var result = "$'"
        for scalar in word.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "'": result += "\\'"
            // An interactive bash may expand history at `!` even here; as a byte it cannot.
            case "!": result += "\\x21"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case _ where needsANSIQuoting(scalar):
                for byte in String(scalar).utf8 {
                    result += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
                }
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "'"
    }

    /// Characters a line cannot carry raw: newline and tab (a pasted line would break or complete), and what
    /// ``TerminalText`` escapes.
    private static func needsANSIQuoting(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\n" || scalar == "\t" || TerminalText.needsEscape(scalar)
    }
}
