#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
#if canImport(FoundationEssentials)
// FoundationEssentials has JSONEncoder without loading all of Foundation (and ICU) at every start of the tool.
import FoundationEssentials
#else
import Foundation
#endif
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

        Exit codes:
          0   every copy exited 0, nothing hung, nothing leaked
          1   a copy exited non-zero or was killed by a signal
          3   a copy was still running at the deadline (hung)
          4   copies succeeded but left zombie or orphan processes behind
          64  bad arguments
          70  Shakedown itself failed (a system call, a missing executable)
        When several apply, the first in the order 3, 1, 4 wins.
        """
    )

    @Option(name: [.customShort("n"), .customLong("copies")], help: "How many copies run at once.")
    var copies = 1

    @Option(help: "Deadline for the whole run, in seconds.")
    var timeout: Double = 60

    @Option(help: "Seed for jitter in cooperative copies (default: $SHAKEDOWN_SEED or random).")
    var seed: UInt64?

    @Option(help: "Rounds for cooperative copies (plain commands run once).")
    var rounds = 1

    @Option(help: "Run-owned shared counters (0-8) that cooperative copies increment; reported with a histogram.")
    var counters = 0

    @Option(help: "Grace between SIGTERM and SIGKILL when cleaning up, in seconds.")
    var grace: Double = 0.5

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments (after --).")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("name a command after --, e.g. shakedown run -n 4 -- ./my-tool") }
        guard copies >= 1, copies <= RunConfiguration.maximumProcesses else {
            throw ValidationError("--copies must be within 1...\(RunConfiguration.maximumProcesses), got \(copies)")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive, got \(timeout)") }
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1, got \(rounds)") }
        guard (0...8).contains(counters) else { throw ValidationError("--counters must be within 0...8, got \(counters)") }
        guard grace >= 0 else { throw ValidationError("--grace must not be negative, got \(grace)") }
    }

    func run() throws {
        let teardown = try Teardown([.signal(.terminate), .wait(.milliseconds(Int64(grace * 1000))), .signal(.kill)])
        let configuration = RunConfiguration(
            processes: copies, rounds: rounds, timeout: .milliseconds(Int64(timeout * 1000)),
            jitter: .default, seed: seed.map(Seed.init), teardown: teardown)
        // Progress only for a person watching: a line rewritten in place on a terminal, nothing in pipes or CI logs.
        let onTerminal = isatty(STDERR_FILENO) == 1 && !json
        var showedProgress = false
        let report: RunReport
        do {
            report = try Shakedown.run(command: command, configuration, counters: counters) { progress in
                guard onTerminal else { return }
                let seconds = Int(progress.elapsed.components.seconds)
                writeToStandardError("\r\u{1B}[Krunning \(progress.total) cop\(progress.total == 1 ? "y" : "ies"): "
                    + "\(progress.finished) finished, \(seconds) s of \(Int(timeout)) s")
                showedProgress = true
            }
        } catch {
            writeToStandardError("shakedown run: \(error)\n")
            throw ExitCode(70)
        }
        if showedProgress { writeToStandardError("\r\u{1B}[K") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(RunJSON(report))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(RunText.render(report))
        }
        let code = Self.exitCode(for: report)
        if code != 0 { throw ExitCode(code) }
    }

    static func exitCode(for report: RunReport) -> Int32 {
        if !report.hungWorkers.isEmpty { return 3 }
        if !report.unsuccessfulWorkers.isEmpty { return 1 }
        if !report.leaks.isEmpty { return 4 }
        return 0
    }
}

/// The human-readable account of a command run.
enum RunText {
    static func render(_ report: RunReport) -> String {
        var lines: [String] = []
        let command = report.command?.joined(separator: " ") ?? "?"
        lines.append("shakedown run: \(report.workers.count) cop\(report.workers.count == 1 ? "y" : "ies") of `\(command)`, seed \(report.seed), \(report.duration.shortDescription)")
        for worker in report.workers {
            var line = "  copy \(worker.index) pid \(worker.commandPid ?? worker.pid): "
            switch worker.outcome {
            case .hung: line += "HUNG (still running at the deadline; torn down)"
            case let .crashed(signal): line += "CRASHED with \(signal.name)"
            case let .exited(code): line += code == 0 ? "exit 0" : "EXIT \(code)"
            default: line += "\(worker.outcome)"
            }
            lines.append(line)
            if !worker.outcome.isSuccess {
                if let crash = worker.crashMessage { lines.append("      \(crash)") }
                for text in worker.outputTail.split(separator: "\n").suffix(4) { lines.append("      | \(text)") }
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
        let verdict = RunCommand.exitCode(for: report)
        lines.append(verdict == 0 ? "clean: every copy exited 0, nothing hung or leaked" : "not clean (exit \(verdict)); replay with \(report.seed.replayHint)")
        return lines.joined(separator: "\n")
    }
}

/// The `--json` form: `copies[]` with `pid`, `exit` ({"code": N} or {"signal": "SIGSEGV"}), `hung`;
/// `zombies[]` and `orphans[]` with `pid`, `command`, `copy`.
struct RunJSON: Encodable {
    struct Copy: Encodable {
        let copy: Int
        let pid: Int32
        let exit: ProcessExit?
        let hung: Bool
        let outcome: String
        let outputTail: String
    }
    struct Leak: Encodable {
        let pid: Int32
        let command: String
        let copy: Int?
        let parent: Int32?
        let exit: ProcessExit?
        let lifetimeMilliseconds: Int64?
        let cleanup: String
    }
    struct Counter: Encodable {
        let name: String
        let value: Int64
        let histogram: [String: Int]
    }
    let command: [String]
    let seed: String
    let durationMilliseconds: Int64
    let copies: [Copy]
    let zombies: [Leak]
    let orphans: [Leak]
    let counters: [Counter]
    let notes: [String]
    let exitCode: Int32
    /// Where every thread of every stuck copy was waiting, captured at the deadline.
    let hang: Hang?

    struct Hang: Encodable {
        let processes: [ProcessSnapshot]
        let deadlocks: [String]
        let captureFailures: [String]
    }

    init(_ report: RunReport) {
        command = report.command ?? []
        seed = String(report.seed.value)
        durationMilliseconds = report.duration.nanosecondsValue / 1_000_000
        copies = report.workers.map { worker in
            Copy(copy: worker.index, pid: worker.commandPid ?? worker.pid, exit: worker.exit,
                 hung: worker.outcome == .hung, outcome: worker.outcome.description, outputTail: worker.outputTail)
        }
        func leak(_ process: LeakedProcess) -> Leak {
            Leak(pid: process.pid, command: process.command, copy: process.worker, parent: process.parent,
                 exit: process.exit, lifetimeMilliseconds: process.lifetime.map { $0.nanosecondsValue / 1_000_000 },
                 cleanup: process.cleanup.description)
        }
        zombies = report.zombies.map(leak)
        orphans = report.orphans.map(leak)
        counters = report.observations.map { observation in
            Counter(name: observation.name, value: observation.finalValue,
                    histogram: Dictionary(observation.histogram.map { ("+\($0.increment)", $0.rounds) },
                                          uniquingKeysWith: +))
        }
        notes = report.notes
        exitCode = RunCommand.exitCode(for: report)
        hang = report.hang.map { diagnosis in
            Hang(processes: diagnosis.snapshots, deadlocks: diagnosis.analysis.deadlocks.map(\.explanation),
                 captureFailures: diagnosis.captureFailures)
        }
    }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
