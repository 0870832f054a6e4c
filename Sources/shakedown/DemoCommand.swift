import ArgumentParser
import Shakedown

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a racy counter without and with a lock, and show the verdicts side by side.",
        discussion: """
        Each counter runs as N real processes, forked from this one, that add 1 to a shared counter once per \
        round, all starting each round together, with seeded jitter between the read and the write. Needs \
        nothing but this binary. Exits 0 when the unlocked run lost updates and the locked one lost none; \
        1 otherwise.
        """
    )

    @Option(name: [.customShort("n"), .customLong("processes")], parsing: .unconditional,
            help: "Processes per run (2-1024).",
            transform: { try OptionValue.integer($0, within: 2...RunConfiguration.maximumProcesses) })
    var processes = 4

    // Bounded so that processes × rounds, the expected count, cannot overflow.
    @Option(parsing: .unconditional, help: "Rounds each process runs (1-1000000000).",
            transform: { try OptionValue.integer($0, within: 1...1_000_000_000) })
    var rounds = 1_000

    @Option(parsing: .unconditional,
            help: "Seed for the jitter, decimal or 0x-hex (default: $SHAKEDOWN_SEED or random).",
            transform: { try OptionValue.seed($0) })
    var seed: Seed?

    @Option(parsing: .unconditional, help: "Deadline per run, in seconds (0.001-604800).",
            transform: { try OptionValue.seconds($0, within: RunLimits.timeoutSeconds) })
    var timeout: Double = 60

    func run() throws {
        let seed = try Seed.resolve(seed)
        let configuration = RunConfiguration(processes: processes, rounds: rounds,
                                             timeout: OptionValue.duration(seconds: timeout), jitter: .default, seed: seed)
        let expected = Int64(processes * rounds)
        print("Shakedown demo: \(processes) processes × \(rounds) rounds, each adding 1 per round to one shared counter")
        print("jitter: \(configuration.jitter); seed \(seed) (replay: \(seed.replayHint) shakedown demo)\n")

        let unlocked = try countingRun(configuration, lock: nil)
        let locked = try countingRun(configuration, lock: try ProcessMutex(name: "demo"))
        let columns = [("without lock (racy-counter)", unlocked), ("with lock (locked-counter)", locked)]

        func row(_ label: String, _ value: (RunReport) -> String) {
            var line = label.padding(18)
            for (_, report) in columns { line += value(report).padding(34) }
            print(line)
        }
        print("".padding(18) + columns.map { $0.0.padding(34) }.joined())
        row("expected") { _ in "\(expected)" }
        row("observed") { "\($0.observations.first?.finalValue ?? 0)" }
        row("lost updates") { report in
            let lost = expected - (report.observations.first?.finalValue ?? 0)
            return "\(lost) (\(percent(lost, of: expected)))"
        }
        row("rounds that lost") { report in
            guard let observation = report.observations.first else { return "-" }
            let full = observation.histogram.first { $0.increment == Int64(processes) }?.rounds ?? 0
            return "\(observation.rounds - full) of \(observation.rounds)"
        }
        row("workers") { report in "\(report.workers.count - report.unsuccessfulWorkers.count) of \(report.workers.count) succeeded" }
        row("time") { $0.duration.shortDescription }
        print("")
        for (title, report) in columns {
            if let observation = report.observations.first {
                print("\(title), per-round outcomes (+\(processes) = no update lost):")
                for line in observation.histogramLines.prefix(6) { print("  \(line)") }
            }
            if !report.unsuccessfulWorkers.isEmpty || !report.leaks.isEmpty { print(report.summary) }
        }
        let unlockedLost = expected - (unlocked.observations.first?.finalValue ?? 0)
        let lockedLost = expected - (locked.observations.first?.finalValue ?? 0)
        let bothRan = unlocked.unsuccessfulWorkers.isEmpty && locked.unsuccessfulWorkers.isEmpty
        print("")
        if bothRan && unlockedLost > 0 && lockedLost == 0 {
            print("verdict: the unlocked counter lost \(unlockedLost) updates; the locked one lost none. ✔")
        } else {
            print("verdict: unexpected — unlocked lost \(unlockedLost), locked lost \(lockedLost)" + (bothRan ? "" : ", and not every worker succeeded") + ". Replay with \(seed.replayHint).")
            throw ExitCode(1)
        }
    }
}

/// Forks the demo's workers from this process (no fixture executable needed): each adds 1 per round to a fresh
/// shared counter with the unlocked read, jitter point, write, under `lock` when one is given.
private func countingRun(_ configuration: RunConfiguration, lock: ProcessMutex?) throws -> RunReport {
    let counter = try SharedCounter("counter")
    return try Shake.fork(configuration, observing: [counter]) { _ in
        if let lock {
            try lock.withLock { counter.racyIncrement() }
        } else {
            counter.racyIncrement()
        }
    }
}

private func percent(_ part: Int64, of whole: Int64) -> String {
    guard whole > 0 else { return "0%" }
    return "\((Double(part) * 1000 / Double(whole)).rounded() / 10)%"
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
