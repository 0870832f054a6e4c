#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shakedown

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run N copies of a command at once; report exits, crashes, hangs and leaked processes; clean up.",
        discussion: """
        The command runs without a shell, argv as given. Each copy gets SHAKEDOWN_WORKER (its index) and \
        SHAKEDOWN_SEED; a copy built with Shakedown can attach to the run (Worker.attach()) for rounds, jitter \
        and shared counters. Every process a copy leaves behind (zombie, orphan, setsid daemon) is named, \
        stopped (SIGTERM, grace, SIGKILL) and reaped.

        --repeat R runs the whole N-copy run R times, fresh copies each time, repetition i with a seed derived \
        from the run's seed and i (repetition 0 uses the run's seed). --before and --check run through \
        /bin/sh -c before and after each repetition, with SHAKEDOWN_REPETITION and SHAKEDOWN_SEED set, output \
        captured, the --timeout as deadline; a --check exiting non-zero is a failed check. The loop stops at \
        the first failed check or run unless --keep-going; text output prints a replay line for the first \
        failing repetition.

        --shard i/n (1 ≤ i ≤ n ≤ R) runs only shard i's block of the R repetitions: the blocks are contiguous, \
        their sizes differ by at most one (with R = q·n + r, shard i runs (i-1)·q + min(i-1, r) ..< \
        i·q + min(i, r)), and each repetition keeps the seed it has in the unsharded run, so the n shards \
        together are exactly the unsharded run. Every shard needs the same seed base, --seed S or \
        SHAKEDOWN_SEED (a usage error without). `shakedown merge` adds the shards' --json reports up; with \
        --keep-going the merge equals the unsharded run's totals (without it each shard stops at its own first \
        failure).

        --junit FILE also writes JUnit XML for CI: a test case per copy (per repetition with --repeat, named \
        with its seed), each failure naming the seed and the replay line, the report (output, crash, hang \
        capture) in system-out, control characters written as \\u{1B} text. The verdict and exit code are \
        unchanged. --json and --junit are written for every run that got past its arguments, also one that \
        stopped early (a failed --before, a command that cannot be run, a failed system call): the stopped \
        repetition is a failure with its seed, its exit code (70) and the reason (verdict "not started"), after \
        the repetitions that ran; the text output ends with it too.

        --trace, --replay (modes syscalls and pct) and --pct-depth, --pct-steps (mode pct) are checked against \
        the mode the run uses: SHAKEDOWN_JITTER's when it is set (it overrides --jitter for the whole process), \
        else --jitter's. Given with a mode that does not use them, they are a usage error (64) naming the option, \
        the mode and where it came from, so SHAKEDOWN_JITTER=none under --jitter syscalls --replay FILE refuses \
        the run rather than ignore the schedule; when SHAKEDOWN_JITTER gives the run such a mode, they apply. A \
        --replay FILE that is not a whole schedule (its `events N` header not matching the events that follow: \
        truncated or padded) is refused with exit 65, one that cannot be read with 66, one of another mode or \
        copy count with 64. Where the kernel or a sandbox has no seccomp user notification (syscalls and pct \
        fall back to preempt), --replay is refused with exit 70 and --trace says on standard error that its \
        file will not be written.

        The replay line, and every echo of the command, quotes each argument for a shell: bare, in '…', or, \
        when it holds control characters, newlines or tabs, as $'…' (bash, zsh, ksh) with \\n, \\t and \\xHH \
        escapes, so it can be pasted and no escape code reaches the terminal; when SHAKEDOWN_JITTER chose the \
        mode it is named in front. Arguments that are not valid UTF-8 are refused (64): they would reach the \
        command changed.

        Exit codes:
          0   every copy exited 0, nothing hung, nothing leaked, every --check passed
          1   a copy exited non-zero, was killed by a signal, or never started
          3   a copy was still running at the deadline (hung)
          4   copies succeeded but left zombie or orphan processes behind
          5   a --check command failed (non-zero exit; 127: command not found)
          64  bad arguments (a number out of range, --shard outside 1 ≤ i ≤ n, more
              shards than repetitions, --shard without --seed or SHAKEDOWN_SEED,
              --trace/--replay/--pct-* under a mode that does not use them, a
              --replay schedule of another mode or copy count, an argument
              that is not UTF-8): refused before anything runs, no report
          65  the --replay file is not a whole schedule (garbage, truncated, padded)
          66  the --replay file cannot be read
          70  Shakedown itself failed (a system call, an executable that cannot
              start, no copy could be started, a --before command that failed,
              a --replay the seccomp fallback cannot follow); --json and
              --junit are still written
          73  the --junit file cannot be written (when the run itself was clean)
        When several apply, the first in the order 3, 1, 4, 5 wins.
        """
    )

    @Option(name: [.customShort("n"), .customLong("copies")], parsing: .unconditional,
            help: "How many copies run at once (1-1024).",
            transform: { try OptionValue.integer($0, within: RunLimits.copies) })
    var copies = 1

    @Option(parsing: .unconditional, help: "Deadline for each run, in seconds (0.001-604800).",
            transform: { try OptionValue.seconds($0, within: RunLimits.timeoutSeconds) })
    var timeout: Double = 60

    @Option(parsing: .unconditional,
            help: "Seed for jitter in cooperative copies, decimal or 0x-hex (default: $SHAKEDOWN_SEED or random).",
            transform: { try OptionValue.seed($0) })
    var seed: Seed?

    @Option(parsing: .unconditional, help: "Rounds for cooperative copies (plain commands run once).",
            transform: { try OptionValue.integer($0, within: RunLimits.rounds) })
    var rounds = 1

    @Option(parsing: .unconditional,
            help: "Run-owned shared counters (0-8) that cooperative copies increment; reported with a histogram.",
            transform: { try OptionValue.integer($0, within: RunLimits.counters) })
    var counters = 0

    @Option(parsing: .unconditional, help: "Grace between SIGTERM and SIGKILL when cleaning up, in seconds (0-3600).",
            transform: { try OptionValue.seconds($0, within: RunLimits.graceSeconds) })
    var grace: Double = 0.5

    @Option(help: ArgumentHelp("How to shake the schedule: none, points, preempt, gate, mix (preempt or gate per "
                               + "repetition, drawn from its seed), syscalls, pct or default (= preempt for a command; "
                               + "SHAKEDOWN_JITTER overrides it).",
                               valueName: "MODE"))
    var jitter = "default"

    /// The plan `--jitter` names; validated in ``validate()`` (usage error 64 for an unknown mode).
    var jitterPlan: JitterPlan { (try? JitterPlan(parsing: jitter, name: "--jitter")) ?? .default }

    @Option(name: .customLong("repeat"), parsing: .unconditional,
            help: ArgumentHelp("Run the whole N-copy run R times, each with fresh copies and its own derived seed.",
                               valueName: "R"),
            transform: { try OptionValue.integer($0, within: RunLimits.repetitions) })
    var repetitions = 1

    @Option(help: ArgumentHelp("Shell command run before each repetition (/bin/sh -c); failing stops with exit 70.",
                               valueName: "CMD"),
            transform: { try OptionValue.shellCommand($0) })
    var before: String?

    @Option(help: ArgumentHelp("Shell command run after each repetition (/bin/sh -c); non-zero exit is a failed check (exit 5).",
                               valueName: "CMD"),
            transform: { try OptionValue.shellCommand($0) })
    var check: String?

    @Flag(help: "Go on after a failed check or a failed run instead of stopping at the first.")
    var keepGoing = false

    // syscalls/pct schedules (ScheduleOptions).
    @Option(help: ArgumentHelp("syscalls/pct: write the schedule of controlled calls to FILE (emptied at the start; with --repeat, the last repetition's).",
                               valueName: "FILE"))
    var trace: String?

    @Option(help: ArgumentHelp("syscalls/pct: follow the schedule in FILE (written by --trace).", valueName: "FILE"))
    var replay: String?

    @Option(parsing: .unconditional, help: "pct: the bug depth d, giving d-1 priority change points (1-100; default 3).",
            transform: { try OptionValue.integer($0, within: 1...100) })
    var pctDepth: Int?

    @Option(parsing: .unconditional,
            help: "pct: the expected number of controlled calls k, change points drawn from 1...k (default 100 per copy and round).",
            transform: { try OptionValue.integer($0, within: 1...100_000_000) })
    var pctSteps: Int?

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Run only shard i of n (1 ≤ i ≤ n ≤ R): its block of the --repeat R repetitions, each "
                               + "with its unsharded seed. Needs --seed or SHAKEDOWN_SEED, the same on every shard.",
                               valueName: "i/n"),
            transform: { try OptionValue.shard($0) })
    var shard: Shard?

    @Option(help: ArgumentHelp("Also write a JUnit XML report to FILE: a test case per copy, or per repetition with "
                               + "--repeat.", valueName: "FILE"),
            completion: .file(), transform: { try OptionValue.outputPath($0) })
    var junit: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments (after --).")
    var command: [String] = []

    func validate() throws {
        do { _ = try JitterPlan(parsing: jitter, name: "--jitter") } catch {
            throw ValidationError(TerminalText.escaped("\(error)"))
        }
        guard !command.isEmpty else { throw ValidationError("name a command after --, e.g. shakedown run -n 4 -- ./my-tool") }
        if let shard { try ShardPlan.validate(shard, repetitions: repetitions, seed: seed) }
        // A test case per repetition is kept until the end; past a million no CI server renders the file anyway.
        if junit != nil, plannedRepetitions.count > JUnitReport.maximumCases {
            throw ValidationError("--junit: \(plannedRepetitions.count) repetitions would be as many test cases; "
                + "at most \(JUnitReport.maximumCases) per report (split the run with --shard)")
        }
        try RawArguments.validateUTF8()
        try ScheduleOptionCheck.validate(self)
        if let replay { try ScheduleOptionCheck.validateReplay(self, path: replay) }
        if let trace {  // found out now, not after a long run whose schedule then cannot be kept
            // Emptied, so an older trace never passes for this run's when this one writes none (a fallback, no
            // copy started); kept when it is also the --replay file, which the run reads first.
            let keep = replay.map { ScheduleOptionCheck.isSameFile($0, trace) } ?? false
            let fd = open(trace, O_WRONLY | O_CREAT | (keep ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let error = ShakedownError.systemCall("open")
                throw ValidationError(TerminalText.escaped("--trace: cannot write \(trace): \(error)"))
            }
            close(fd)
        }
    }

    func run() throws {
        let baseSeed: Seed
        do { baseSeed = try Seed.resolve(seed) } catch {
            writeToStandardError("shakedown run: \(TerminalText.escaped(error.description))\n")
            throw ExitCode(64)
        }
        let summary: RepeatSummary
        do {
            let prepared = try prepare()
            if before != nil || check != nil { StepLeftovers.adoptOrphans() }
            summary = try RepeatLoop(prepared: prepared, baseSeed: baseSeed, options: self).run()
        } catch let failure as StepFailure {
            summary = RunStop(beforeAnyRepetition: failure, baseSeed: baseSeed, options: self).summary
        } catch let stop as RunStop {
            // Stopped early (a failed --before, a failed system call): the reports are still written.
            summary = stop.summary
        }
        if json {
            print(try RunJSON.encode(summary, options: self))
        } else {
            print(RunText.closing(summary, options: self))
        }
        if let junit {
            // A JUnit file that could not be written fails a clean run (CI asked for it); a failed run keeps its code.
            do { try JUnitReport.write(summary, options: self, to: junit) } catch let error as ExitCode {
                if summary.exitCode == 0 { throw error }
            }
        }
        if let report = summary.lastReport, let reason = Self.startFailure(of: report) {
            writeToStandardError("shakedown run: no copy started: \(TerminalText.escaped(reason))\n")
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }

    /// Checks the configuration and resolves the command once, for every repetition.
    /// - Throws: `ExitCode(64)` for a bad value; ``StepFailure`` (70) when the command cannot be run.
    private func prepare() throws -> PreparedCommandRun {
        try ScheduleOptionCheck.checkAvailable(self)
        do {
            let teardown = try Teardown([.signal(.terminate), .wait(OptionValue.duration(seconds: grace)), .signal(.kill)])
            var configuration = RunConfiguration(
                processes: copies, rounds: rounds, timeout: OptionValue.duration(seconds: timeout),
                jitter: jitterPlan, seed: nil, teardown: teardown)
            configuration.schedule = ScheduleOptions(traceFile: trace, replayFile: replay, pctDepth: pctDepth ?? 3,
                                                     pctSteps: pctSteps)
            return try PreparedCommandRun(command: command, configuration, counters: counters)
        } catch {
            writeToStandardError("shakedown run: \(TerminalText.escaped(error.description))\n")
            // A bad value (an environment variable such as SHAKEDOWN_JITTER) is a usage error, like a bad option.
            if error.code == .invalidArgument { throw ExitCode(64) }
            throw StepFailure(exitCode: 70, reason: "cannot run the command: " + error.description)
        }
    }

    /// A run's own verdict: 70 no copy started at all, 3 hung, 1 a copy failed, 4 leaks, 0 clean.
    static func exitCode(for report: RunReport) -> Int32 {
        if startFailure(of: report) != nil { return 70 }
        if !report.hungWorkers.isEmpty { return 3 }
        if !report.unsuccessfulWorkers.isEmpty { return 1 }
        if !report.leaks.isEmpty { return 4 }
        // A failed leader, a garbled result channel, a recorded failure: never a clean exit.
        if !report.isClean { return 1 }
        return 0
    }

    /// Why no copy ran, when every copy never started (exec or fork failed for all): then Shakedown could not
    /// do the run at all, which is exit 70, not a finding about the command. `nil` when any copy started.
    static func startFailure(of report: RunReport) -> String? {
        var reasons: [String] = []
        for worker in report.workers {
            guard case let .notStarted(reason) = worker.outcome else { return nil }
            reasons.append(reason)
        }
        return reasons.first
    }

    /// The exit code that wins when several repetitions ended differently: the first of 70, 3, 1, 4, 5 seen.
    static func worst(_ codes: some Sequence<Int32>) -> Int32 {
        let seen = Set(codes)
        return [70, 3, 1, 4, 5].first { seen.contains($0) } ?? 0
    }
}
