#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shakedown

/// One repetition that failed: its run was not clean, or its check failed.
struct RepetitionFailure {
    let repetition: Int
    let seed: Seed
    /// 3, 1 or 4 for the run's own verdict, 5 for a failed check.
    let exitCode: Int32
    /// One line: what went wrong (raw; escape it for a terminal).
    let reason: String
    /// The mode the repetition ran with (`mix` draws `preempt` or `gate` per repetition).
    var jitter: JitterMode? = nil
}

/// What a `shakedown run` (repeated or not) found, for the closing text or JSON.
struct RepeatSummary {
    /// The last repetition that ran: its report and its check (`nil` when the loop stopped before any report, RunStop).
    var lastReport: RunReport?
    var lastCheck: ShellStep.Result?
    var repetitionsRun: Int
    var checkFailures: Int
    var failures: [RepetitionFailure]
    var exitCode: Int32
    /// From the first repetition's start to the last one's check.
    var totalDuration: Duration
    /// The repetitions this process was to run: all of `0..<R`, or its shard's block.
    var planned: Range<Int>
    /// The seed repetition 0 of the unsharded run has; repetition `i` runs with `baseSeed.repetition(i)`.
    var baseSeed: Seed
    /// Every repetition that ran, tallied: verdicts, counters, copies.
    var tally = RepetitionTally()
    /// One record per repetition that ran, for `--junit` (empty without it).
    var records: [RepetitionRecord] = []
}

/// Runs the repetitions: `--before`, the copies, `--check`; stops at the first failure unless `--keep-going`.
///
/// Per repetition it only forks: the command was resolved and the numbers checked once, in `PreparedCommandRun`.
final class RepeatLoop {
    let prepared: PreparedCommandRun
    let baseSeed: Seed
    let options: RunCommand
    private let beforeStep: ShellStep?
    private let checkStep: ShellStep?
    /// Progress only for a person watching: a line rewritten in place on a terminal, nothing in pipes or CI logs.
    private let onTerminal: Bool
    private var showedProgress = false
    private var lastProgress: Int64 = 0

    init(prepared: PreparedCommandRun, baseSeed: Seed, options: RunCommand) {
        self.prepared = prepared
        self.baseSeed = baseSeed
        self.options = options
        beforeStep = options.before.map { ShellStep(command: $0) }
        checkStep = options.check.map { ShellStep(command: $0) }
        onTerminal = isatty(STDERR_FILENO) == 1 && !options.json
    }

    func run() throws -> RepeatSummary {
        let started = ContinuousClock.now
        defer { prepared.close() }
        var last: (report: RunReport, check: ShellStep.Result?, repetitions: Int)?
        var failures: [RepetitionFailure] = []
        var checkFailures = 0
        var codes: Set<Int32> = []
        var tally = RepetitionTally()
        var records: [RepetitionRecord] = []
        // Failing repetitions whose whole report is kept for --junit's system-out (bounded: see detailedLimit).
        var detailed = 0
        let planned = options.plannedRepetitions
        for repetition in planned {
            let repetitionStarted = ContinuousClock.now
            let seed = baseSeed.repetition(repetition)
            let report: RunReport, check: ShellStep.Result?
            do {
                try runBefore(repetition: repetition, seed: seed)
                report = try runCopies(repetition: repetition, seed: seed)
                check = try runCheck(repetition: repetition, seed: seed)
            } catch let stop as StepFailure {
                // Recorded as this repetition's failure, so --json and --junit still report the run (RunStop);
                // whatever a failed --before started is stopped as after any repetition.
                let leftovers = beforeStep != nil || checkStep != nil ? StepLeftovers.killAll(sparing: Set(prepared.keptLeaderPid.map { [$0] } ?? [])) : []
                if !leftovers.isEmpty {
                    writeToStandardError(TerminalText.escaped("shakedown run: --before/--check left \(leftovers.count) "
                        + "process(es) running in repetition \(repetition); killed: \(leftovers.joined(separator: "; "))") + "\n")
                }
                failures.append(RepetitionFailure(repetition: repetition, seed: seed, exitCode: stop.exitCode, reason: stop.reason))
                tally.addStop(exitCode: stop.exitCode)
                if options.junit != nil {
                    records.append(RepetitionRecord(repetition: repetition, seed: seed, exitCode: stop.exitCode,
                                                    duration: ContinuousClock.now - repetitionStarted, reason: stop.reason, report: nil, check: nil))
                }
                throw RunStop(summary: RepeatSummary(
                    lastReport: last?.report, lastCheck: last?.check, repetitionsRun: repetition + 1 - planned.lowerBound,
                    checkFailures: checkFailures, failures: failures, exitCode: stop.exitCode,
                    totalDuration: ContinuousClock.now - started, planned: planned, baseSeed: baseSeed, tally: tally, records: records))
            }
            let stepLeftovers = (beforeStep != nil || checkStep != nil) ? StepLeftovers.killAll(sparing: Set(prepared.keptLeaderPid.map { [$0] } ?? [])) : []
            if !stepLeftovers.isEmpty {
                clearProgress()
                writeToStandardError(TerminalText.escaped(
                    "shakedown run: --before/--check left \(stepLeftovers.count) process(es) running in repetition "
                    + "\(repetition); killed: \(stepLeftovers.joined(separator: "; "))") + "\n")
            }
            var runCode = RunCommand.exitCode(for: report)
            let stepsLeaked = runCode == 0 && !stepLeftovers.isEmpty
            if stepsLeaked { runCode = 4 }
            let checkFailed = check.map { !$0.succeeded } ?? false
            if checkFailed { checkFailures += 1 }
            let code = runCode != 0 ? runCode : (checkFailed ? 5 : 0)
            codes.insert(code)
            tally.add(report, exitCode: code)
            if runCode != 0 || checkFailed {
                let reason = stepsLeaked
                    ? "--before/--check left \(stepLeftovers.count) process(es) running, killed: "
                        + stepLeftovers.joined(separator: "; ")
                    : Self.reason(report: report, runCode: runCode, check: checkFailed ? check : nil,
                                  checkCommand: options.check)
                failures.append(RepetitionFailure(repetition: repetition, seed: seed, exitCode: code, reason: reason,
                                                  jitter: report.configuration.jitter.mode))
                if !options.json && options.repetitions > 1 {
                    clearProgress()
                    print(RunText.repetition(repetition, of: options.repetitions, report: report, check: check,
                                             options: options))
                }
            }
            if options.junit != nil {
                records.append(RepetitionRecord(
                    repetition: repetition, seed: seed, exitCode: code, duration: ContinuousClock.now - repetitionStarted,
                    reason: failures.last.flatMap { $0.repetition == repetition ? $0.reason : nil },
                    report: code != 0 && detailed < RepetitionRecord.detailedLimit ? report : nil,
                    check: code == 0 ? nil : check))
                if code != 0 { detailed += 1 }
            }
            last = (report, check, repetition + 1 - planned.lowerBound)
            // Nothing can run when no copy could start: going on would only repeat that.
            if code == 70 || (code != 0 && !options.keepGoing) { break }
            showRepetitionProgress(repetition + 1 - planned.lowerBound, failed: failures.count)
        }
        clearProgress()
        // `repetitions` is at least 1, so the loop ran at least once.
        guard let last else { throw ExitCode(70) }
        return RepeatSummary(lastReport: last.report, lastCheck: last.check, repetitionsRun: last.repetitions,
                             checkFailures: checkFailures, failures: failures, exitCode: RunCommand.worst(codes),
                             totalDuration: ContinuousClock.now - started, planned: planned, baseSeed: baseSeed,
                             tally: tally, records: records)
    }

    private func runBefore(repetition: Int, seed: Seed) throws {
        guard let beforeStep else { return }
        let result = try withExit70 { () throws(ShakedownError) in
            try beforeStep.run(repetition: repetition, seed: seed, timeout: prepared.configuration.timeout)
        }
        guard result.succeeded else {
            clearProgress()
            writeToStandardError("shakedown run: --before \(TerminalText.escaped(result.reason)) in repetition "
                + "\(repetition) (seed \(seed.hexadecimal)); nothing to judge, stopping\n")
            throw StepFailure(exitCode: 70, reason: "--before `\(options.before ?? "")` \(result.reason); nothing to judge")
        }
    }

    private func runCopies(repetition: Int, seed: Seed) throws -> RunReport {
        let total = options.repetitions
        let timeout = Int(options.timeout)
        let onTerminal = self.onTerminal
        var showed = false
        let report = try withExit70 { () throws(ShakedownError) in
            try prepared.run(seed: seed) { progress in
                guard onTerminal else { return }
                let seconds = Int(progress.elapsed.components.seconds)
                let prefix = total > 1 ? "repetition \(repetition + 1) of \(total): " : ""
                writeToStandardError("\r\u{1B}[K\(prefix)running \(progress.total) cop\(progress.total == 1 ? "y" : "ies"): "
                    + "\(progress.finished) finished, \(seconds) s of \(timeout) s")
                showed = true
            }
        }
        if showed { showedProgress = true }
        return report
    }

    private func runCheck(repetition: Int, seed: Seed) throws -> ShellStep.Result? {
        guard let checkStep else { return nil }
        return try withExit70 { () throws(ShakedownError) in
            try checkStep.run(repetition: repetition, seed: seed, timeout: prepared.configuration.timeout)
        }
    }

    /// Shakedown itself failed (a system call): say so and exit 70; a bad value that only a run finds (an
    /// environment variable such as SHAKEDOWN_JITTER or SHAKEDOWN_SHARD) is a usage error, 64.
    private func withExit70<T>(_ body: () throws(ShakedownError) -> T) throws -> T {
        do { return try body() } catch {
            clearProgress()
            writeToStandardError("shakedown run: \(TerminalText.escaped(error.description))\n")
            throw StepFailure(exitCode: error.code == .invalidArgument ? 64 : 70, reason: error.description)
        }
    }

    /// `repetition 40 of 1000: 1 failed`, at most four times a second.
    private func showRepetitionProgress(_ done: Int, failed: Int) {
        guard onTerminal, options.plannedRepetitions.count > 1 else { return }
        let clock = monotonicNanoseconds() / 1_000_000
        guard clock - lastProgress >= 250 else { return }
        lastProgress = clock
        writeToStandardError("\r\u{1B}[Krepetition \(done) of \(options.plannedRepetitions.count): \(failed) failed")
        showedProgress = true
    }

    private func clearProgress() {
        if showedProgress { writeToStandardError("\r\u{1B}[K") }
        showedProgress = false
    }

    /// One line: why the repetition failed.
    static func reason(report: RunReport, runCode: Int32, check: ShellStep.Result?, checkCommand: String?) -> String {
        var parts: [String] = []
        switch runCode {
        case 70:
            parts.append("no copy started: " + (RunCommand.startFailure(of: report) ?? "?"))
        case 3:
            parts.append("hung: " + report.hungWorkers.map { "copy \($0.index)" }.joined(separator: ", ")
                + " still running at the deadline")
        case 1:
            // Exit 1 is any other way of not being clean: name each cause, never an empty reason.
            if !report.unsuccessfulWorkers.isEmpty {
                parts.append(report.unsuccessfulWorkers.prefix(3).map { "copy \($0.index) \($0.outcome)" }
                    .joined(separator: "; ") + (report.unsuccessfulWorkers.count > 3 ? "; …" : ""))
            }
            for worker in report.workers.prefix(3) {
                if let problem = worker.channelProblem { parts.append("copy \(worker.index)'s result channel: \(problem)") }
            }
            if let problem = report.leaderProblem { parts.append(problem) }
            if !report.failures.isEmpty { parts.append("\(report.failures.count) recorded failure(s)") }
            if !report.forbiddenOutcomes.isEmpty { parts.append("\(report.forbiddenOutcomes.count) forbidden outcome(s)") }
            if parts.isEmpty { parts.append("not clean: see the report above") }
        case 4:
            parts.append("\(report.leaks.count) leaked process\(report.leaks.count == 1 ? "" : "es")")
        default: break
        }
        if let check, let checkCommand { parts.append("check `\(checkCommand)` failed: \(check.reason)") }
        return parts.joined(separator: "; ")
    }
}
