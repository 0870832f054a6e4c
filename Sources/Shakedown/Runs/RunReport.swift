#if canImport(Glibc)
import Glibc
#endif

/// The immutable result of a run: every worker's fate, the counters' outcomes, leaked processes, and the seed.
///
/// Findings about the code under test live here as values — a crash, a hang, a lost update, a zombie — so a
/// test (or the CLI) decides what is a failure. ``isClean`` is the strict answer: nothing crashed, hung,
/// threw, failed or leaked.
public struct RunReport: Sendable {
    /// The seed every jitter decision came from.
    public let seed: Seed
    /// The configuration, with ``RunConfiguration/seed`` resolved.
    public let configuration: RunConfiguration
    /// For command runs, the command line.
    public let command: [String]?
    /// One report per worker, in index order.
    public let workers: [WorkerReport]
    /// One per counter the run observed, in the order given.
    public let observations: [CounterObservation]
    /// Zombies and orphans the run's processes left behind, each already cleaned up.
    public let leaks: [LeakedProcess]
    /// Where every thread of every stuck process was waiting, captured at the deadline before teardown.
    public let hang: HangDiagnosis?
    /// Wall-clock time from the leader's fork to the last reap.
    public let duration: Duration
    /// Whether the deadline passed with workers still running.
    public let timedOut: Bool
    /// Things Shakedown itself noticed (a worker that could not be forked, a leader that had to be killed).
    public let notes: [String]
    /// A judged run's outcome histogram (``RoundJudge``): forbidden outcomes first. Empty without a judge.
    public let outcomes: [OutcomeCount]
    /// What kept the run's processes together (a cgroup, or process groups and the subreaper).
    public let containment: RunContainment
    /// Set when the run leader itself failed (killed, exited early or with an error, or processes escaped it):
    /// then the report may be incomplete, and the run is not clean.
    public let leaderProblem: String?

    /// Assembles a report (runs do this; public for tools that build reports of their own).
    public init(seed: Seed, configuration: RunConfiguration, command: [String]?, workers: [WorkerReport],
                observations: [CounterObservation], leaks: [LeakedProcess], hang: HangDiagnosis?,
                duration: Duration, timedOut: Bool, notes: [String], outcomes: [OutcomeCount] = [],
                containment: RunContainment = .processGroups(reason: "not recorded"), leaderProblem: String? = nil) {
        self.seed = seed
        self.configuration = configuration
        self.command = command
        self.workers = workers
        self.observations = observations
        self.leaks = leaks
        self.hang = hang
        self.duration = duration
        self.timedOut = timedOut
        self.notes = notes
        self.outcomes = outcomes
        self.containment = containment
        self.leaderProblem = leaderProblem
    }

    /// Every failure recorded in any worker, in worker order.
    public var failures: [RecordedFailure] { workers.flatMap(\.failures) }
    /// Workers still running at the deadline.
    public var hungWorkers: [WorkerReport] { workers.filter { $0.outcome == .hung } }
    /// Workers a signal killed.
    public var crashedWorkers: [WorkerReport] {
        workers.filter { if case .crashed = $0.outcome { return true } else { return false } }
    }
    /// Workers that did not succeed, for whatever reason.
    public var unsuccessfulWorkers: [WorkerReport] { workers.filter { !$0.outcome.isSuccess } }
    /// The leaked processes that were zombies.
    public var zombies: [LeakedProcess] { leaks.filter { $0.kind == .zombie } }
    /// The leaked processes that were orphans.
    public var orphans: [LeakedProcess] { leaks.filter { $0.kind == .orphan } }

    /// Outcomes the judge called forbidden.
    public var forbiddenOutcomes: [OutcomeCount] { outcomes.filter { $0.grade == .forbidden } }
    /// Outcomes the judge called interesting.
    public var interestingOutcomes: [OutcomeCount] { outcomes.filter { $0.grade == .interesting } }

    /// No worker crashed, hung, threw or exited early; nothing failed; nothing leaked; no outcome was forbidden;
    /// the run leader did its job.
    public var isClean: Bool {
        unsuccessfulWorkers.isEmpty && failures.isEmpty && leaks.isEmpty && !timedOut && leaderProblem == nil
            && workers.allSatisfy { $0.channelProblem == nil } && forbiddenOutcomes.isEmpty
    }

    /// The observation of `counter`: the one this run made of that very counter; for hand-built reports, the
    /// first with its name.
    public func observation(of counter: SharedCounter) -> CounterObservation? {
        let address = UInt(bitPattern: counter.storage)
        return observations.first { $0.storage == address }
            ?? observations.first { $0.storage == nil && $0.name == counter.name }
    }

    /// Expected against observed for `counter`, with this run's seed and round outcomes.
    public func verdict(for counter: SharedCounter, expected: Int64) -> LostUpdateVerdict {
        LostUpdateVerdict(counter: counter.name, expected: expected, observed: counter.value, seed: seed,
                          observation: observation(of: counter))
    }

    /// A readable multi-line account: configuration and seed, each unsuccessful worker with its output tail,
    /// failures at file:line, leaks, hang diagnosis, notes.
    public var summary: String {
        var lines: [String] = []
        let what = command.map { "`\($0.joined(separator: " "))`" } ?? "closure"
        lines.append("Shakedown run of \(what): \(configuration.processes) process\(configuration.processes == 1 ? "" : "es") × \(configuration.rounds) round\(configuration.rounds == 1 ? "" : "s"), jitter \(configuration.jitter), seed \(seed) (replay: \(seed.replayHint)), \(duration.shortDescription)")
        let succeeded = workers.count - unsuccessfulWorkers.count
        lines.append("workers: \(succeeded) of \(workers.count) succeeded" + (timedOut ? "; deadline of \(configuration.timeout.shortDescription) passed" : ""))
        for worker in unsuccessfulWorkers {
            lines.append("  " + worker.summary)
            if let frames = worker.crashFrames {
                for line in frames.split(separator: "\n") { lines.append("    \(line)") }
            }
            let tail = worker.outputTail.split(separator: "\n", omittingEmptySubsequences: false).suffix(6)
            for line in tail where !line.isEmpty { lines.append("    | \(line)") }
        }
        for worker in workers where worker.outcome.isSuccess && worker.channelProblem != nil {
            lines.append("  " + worker.summary)
        }
        if !failures.isEmpty {
            lines.append("failures recorded in workers:")
            for worker in workers {
                for failure in worker.failures.prefix(10) { lines.append("  worker \(worker.index): \(failure)") }
                if worker.failures.count > 10 { lines.append("  worker \(worker.index): … \(worker.failures.count - 10) more") }
            }
        }
        for observation in observations {
            lines.append("counter `\(observation.name)`: final \(observation.finalValue); per-round outcomes: "
                + observation.histogramLines.prefix(8).joined(separator: ", "))
        }
        if !outcomes.isEmpty {
            lines.append("outcomes of \(outcomes.reduce(0) { $0 + $1.rounds }) judged rounds:")
            for outcome in outcomes.prefix(12) { lines.append("  \(outcome)") }
            if outcomes.count > 12 { lines.append("  … \(outcomes.count - 12) more outcomes") }
        }
        if !leaks.isEmpty {
            lines.append("leaked processes (\(zombies.count) zombie\(zombies.count == 1 ? "" : "s"), \(orphans.count) orphan\(orphans.count == 1 ? "" : "s")):")
            for leak in leaks { lines.append("  " + leak.description) }
        }
        if let hang { lines.append(hang.compactText) }
        if let leaderProblem { lines.append("run leader: \(leaderProblem)") }
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }
}

extension RunReport {
    /// Writes the full report (every thread of every stuck process, then the JSON form) to a file and returns
    /// its path: `$SHAKEDOWN_REPORT_DIR` if set, else the temporary directory.
    /// - Throws: `.systemCall("open")` / `("write")` when the file cannot be written.
    public func writeFullReport() throws(ShakedownError) -> String {
        let directory = getenv("SHAKEDOWN_REPORT_DIR").map { String(cString: $0) }
            ?? getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        let path = "\(directory)/shakedown-\(seed.value)-\(getpid())-\(monotonicNanoseconds()).txt"
        var text = summary + "\n"
        if let hang { text += "\n" + hang.fullText + "\n" }
        let fd = try syscall("open") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        defer { closeQuietly(fd) }
        guard writeAll(fd, Array(text.utf8)) else { throw .systemCall("write") }
        return path
    }
}
