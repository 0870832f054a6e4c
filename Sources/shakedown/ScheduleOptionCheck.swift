#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Shakedown

/// `--trace`, `--replay`, `--pct-depth` and `--pct-steps` checked against the jitter mode the run will use: an
/// option its mode ignores is a usage error (64), never accepted and dropped.
///
/// The mode is `SHAKEDOWN_JITTER`'s when that is set (it overrides `--jitter` for the whole process, as in the
/// library), else `--jitter`'s: an option is valid when the run's real mode uses it, and the error names the
/// variable when it was the variable that took the mode away. A replay file is never ignored.
enum ScheduleOptionCheck {
    /// The modes with a schedule of controlled calls (`SyscallRunControl.controls`).
    static let scheduledModes: [JitterMode] = [.syscalls, .pct]

    /// The mode the run will use and where it came from: `(mode, "SHAKEDOWN_JITTER=pct overrides --jitter syscalls")`
    /// or `(mode, "--jitter syscalls")`. A bad `SHAKEDOWN_JITTER` is left to the run's own check (exit 64).
    static func effectiveMode(_ options: RunCommand) -> (mode: JitterMode, source: String) {
        let given = options.jitterPlan.mode
        let fromFlag = "--jitter \(options.jitter)"
        guard let environment = (try? JitterPlan.fromEnvironment()) ?? nil else { return (given, fromFlag) }
        let variable = "\(JitterPlan.environmentVariable)=\(environment.mode)"
        return (environment.mode, environment.mode == given ? variable : "\(variable) overrides \(fromFlag)")
    }

    /// Throws a usage error naming the first option the run's mode does not use.
    static func validate(_ options: RunCommand) throws {
        let (mode, source) = effectiveMode(options)
        let given: [(name: String, isGiven: Bool, modes: [JitterMode])] = [
            ("--trace", options.trace != nil, scheduledModes),
            ("--replay", options.replay != nil, scheduledModes),
            ("--pct-depth", options.pctDepth != nil, [.pct]),
            ("--pct-steps", options.pctSteps != nil, [.pct]),
        ]
        for option in given where option.isGiven && !option.modes.contains(mode) {
            let modes = option.modes.map(\.rawValue).joined(separator: " and ")
            var message = "\(option.name) applies to jitter mode\(option.modes.count == 1 ? "" : "s") \(modes) only, "
                + "but this run's mode is \(mode) (\(source)); "
            if source.hasPrefix(JitterPlan.environmentVariable) {
                message += "set \(JitterPlan.environmentVariable)=\(option.modes[0].rawValue) (it overrides --jitter), "
                    + "or unset it and add --jitter \(option.modes[0].rawValue)"
            } else {
                message += "add --jitter \(option.modes.map(\.rawValue).joined(separator: " or --jitter "))"
            }
            throw ValidationError(TerminalText.escaped(message))
        }
    }
}

extension ScheduleOptionCheck {
    /// Reads `--replay FILE` before anything runs and checks it fits the run: exit 66 for a file that cannot be
    /// read and 65 for one that is not a whole schedule (as `shakedown merge` does with its files), 64 for a
    /// schedule of another mode or copy count.
    static func validateReplay(_ options: RunCommand, path: String) throws {
        let schedule: SyscallSchedule
        do { schedule = try SyscallSchedule.load(from: path) } catch {
            writeToStandardError("shakedown run: --replay: " + TerminalText.escaped(
                error.code == .invalidArgument ? "\(error)" : "cannot read \(path): \(error)") + "\n")
            throw ExitCode(error.code == .invalidArgument ? 65 : 66)
        }
        let (mode, source) = effectiveMode(options)
        guard schedule.mode == mode, schedule.processes == options.copies else {
            throw ValidationError(TerminalText.escaped(
                "--replay: \(path) is a \(schedule.mode) schedule of \(schedule.processes) copies, the run is \(mode) "
                + "(\(source)) with \(options.copies): replay it with --jitter \(schedule.mode) -n \(schedule.processes)"))
        }
    }
}

extension ScheduleOptionCheck {
    /// Where seccomp user notification is missing, `syscalls` and `pct` fall back to `preempt`, which has no
    /// schedule: a `--replay` would not be followed (refused: exit 70, with the reports written), a `--trace` not
    /// written (said on standard error; the run goes on, its report notes the fallback).
    /// - Cost: one probe (a short-lived child installing a listener) when `--trace` or `--replay` is given.
    static func checkAvailable(_ options: RunCommand) throws {
        guard options.trace != nil || options.replay != nil else { return }
        let (mode, _) = effectiveMode(options)
        guard scheduledModes.contains(mode), let reason = SyscallRunControl.unavailableReason() else { return }
        if let replay = options.replay {
            let message = "--replay: cannot follow \(replay): \(reason); \(mode) would fall back to preempt, "
                + "which has no schedule to follow"
            writeToStandardError("shakedown run: \(TerminalText.escaped(message))\n")
            throw StepFailure(exitCode: 70, reason: message)
        }
        if let trace = options.trace {
            writeToStandardError("shakedown run: " + TerminalText.escaped(
                "--trace: \(trace) will not be written: \(reason); \(mode) falls back to preempt, which has no schedule")
                + "\n")
        }
    }
}

extension ScheduleOptionCheck {
    /// Whether two paths name one existing file (same device and inode).
    static func isSameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }
}
