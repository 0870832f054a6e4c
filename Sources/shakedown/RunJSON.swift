#if canImport(FoundationEssentials)
// FoundationEssentials has JSONEncoder without loading all of Foundation (and ICU) at every start of the tool.
import FoundationEssentials
#else
import Foundation
#endif
import Shakedown

/// The `--json` form: `copies[]` with `pid`, `exit` ({"code": N} or {"signal": "SIGSEGV"}), `hung`;
/// `zombies[]` and `orphans[]` with `pid`, `command`, `copy`; for the last repetition that ran. Then
/// `repetitions` (how many ran), `checkFailures`, `failures[]` with `repetition`, `seed`, `exitCode`, `reason`
/// and `replay`, `check` (the last repetition's check) and `exitCode` for the whole run. For `shakedown merge`:
/// `seedBase` (repetition 0's seed), `repeat` (R), `shard` ({`index`, `count`}, absent when unsharded), `planned`
/// ({`first`, `end`}: the repetitions this process was to run), `settings` (what must agree between shards) and
/// `tally` (every repetition's verdicts, counter histograms and copy outcomes, summed). Every control character
/// in a string is a `\uXXXX` escape (JSONEncoder's and `TerminalText.jsonEscaped`), so the command's output
/// cannot reach a terminal raw through it.
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
    struct Failure: Encodable {
        let repetition: Int
        let seed: String
        let exitCode: Int32
        let reason: String
        let replay: String
        /// The mode this repetition ran with (`mix` draws one per repetition).
        let jitter: String?
    }
    struct Check: Encodable {
        let command: String
        let exitCode: Int32?
        let passed: Bool
        let reason: String
        let output: String
    }
    let command: [String]
    /// The seed of the last repetition that ran (each failure names its own).
    let seed: String
    let durationMilliseconds: Int64
    let totalDurationMilliseconds: Int64
    let copies: [Copy]
    let zombies: [Leak]
    let orphans: [Leak]
    let counters: [Counter]
    let notes: [String]
    let repetitions: Int
    let checkFailures: Int
    let failures: [Failure]
    let check: Check?
    let exitCode: Int32
    let seedBase: String
    let `repeat`: Int
    let shard: ShardField?
    let planned: Planned
    let settings: Settings
    let tally: RepetitionTally
    /// Where every thread of every stuck copy was waiting, captured at the deadline.
    let hang: Hang?

    struct ShardField: Codable, Equatable {
        let index: Int
        let count: Int
    }
    struct Planned: Codable, Equatable {
        let first: Int
        let end: Int
    }
    /// Everything besides the seed and the shard that shapes a repetition: shards that differ here are not parts of
    /// one run, and `shakedown merge` refuses them.
    struct Settings: Codable, Equatable {
        let copies: Int
        let rounds: Int
        let timeout: Double
        let grace: Double
        let jitter: String
        let counters: Int
        let before: String?
        let check: String?
        let keepGoing: Bool
        /// `--pct-depth`, `--pct-steps` and `SHAKEDOWN_JITTER` when given (absent otherwise, and in older reports):
        /// they shape every repetition's schedule as much as `jitter` does.
        let pctDepth: Int?
        let pctSteps: Int?
        let jitterEnvironment: String?

        init(_ options: RunCommand) {
            copies = options.copies
            rounds = options.rounds
            timeout = options.timeout
            grace = options.grace
            jitter = options.jitter
            counters = options.counters
            before = options.before
            check = options.check
            keepGoing = options.keepGoing
            pctDepth = options.pctDepth
            pctSteps = options.pctSteps
            jitterEnvironment = ReplayLine.jitterEnvironment
        }
    }

    struct Hang: Encodable {
        let processes: [ProcessSnapshot]
        let deadlocks: [String]
        let captureFailures: [String]
    }

    static func encode(_ summary: RepeatSummary, options: RunCommand) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(RunJSON(summary, options: options))
        // The encoder leaves DEL, C1 and bidi controls raw; a terminal showing the JSON must not obey them.
        return TerminalText.jsonEscaped(String(decoding: data, as: UTF8.self))
    }

    init(_ summary: RepeatSummary, options: RunCommand) {
        // Without a report (the loop stopped before the first one, RunStop) the copies' fields are empty and the
        // seed is the stopped repetition's.
        let report = summary.lastReport
        command = report?.command ?? options.command
        seed = String((report?.seed ?? summary.failures.last?.seed ?? summary.baseSeed).value)
        durationMilliseconds = (report?.duration.nanoseconds ?? 0) / 1_000_000
        totalDurationMilliseconds = summary.totalDuration.nanoseconds / 1_000_000
        copies = (report?.workers ?? []).map { worker in
            Copy(copy: worker.index, pid: worker.commandPid ?? worker.pid, exit: worker.exit,
                 hung: worker.outcome == .hung, outcome: worker.outcome.description, outputTail: worker.outputTail)
        }
        func leak(_ process: LeakedProcess) -> Leak {
            Leak(pid: process.pid, command: process.command, copy: process.worker, parent: process.parent,
                 exit: process.exit, lifetimeMilliseconds: process.lifetime.map { $0.nanoseconds / 1_000_000 },
                 cleanup: process.cleanup.description)
        }
        zombies = (report?.zombies ?? []).map(leak)
        orphans = (report?.orphans ?? []).map(leak)
        counters = (report?.observations ?? []).map { observation in
            Counter(name: observation.name, value: observation.finalValue,
                    histogram: Dictionary(observation.histogram.map { ("+\($0.increment)", $0.rounds) },
                                          uniquingKeysWith: +))
        }
        notes = report?.notes ?? []
        repetitions = summary.repetitionsRun
        checkFailures = summary.checkFailures
        failures = summary.failures.map { failure in
            Failure(repetition: failure.repetition, seed: String(failure.seed.value), exitCode: failure.exitCode,
                    reason: failure.reason, replay: ReplayLine.command(options, seed: failure.seed),
                    jitter: failure.jitter?.rawValue)
        }
        if let result = summary.lastCheck, let command = options.check {
            check = Check(command: command, exitCode: result.exitCode, passed: result.succeeded,
                          reason: result.reason, output: String(decoding: result.outputTail, as: UTF8.self))
        } else {
            check = nil
        }
        exitCode = summary.exitCode
        seedBase = String(summary.baseSeed.value)
        self.repeat = options.repetitions
        shard = options.shard.map { ShardField(index: $0.index, count: $0.count) }
        planned = Planned(first: summary.planned.lowerBound, end: summary.planned.upperBound)
        settings = Settings(options)
        tally = summary.tally
        hang = report?.hang.map { diagnosis in
            Hang(processes: diagnosis.snapshots, deadlocks: diagnosis.analysis.deadlocks.map(\.explanation),
                 captureFailures: diagnosis.captureFailures)
        }
    }
}
