import Shakedown

/// What every repetition of a run found, summed: how many ended with each verdict, the counters' per-round
/// increments and the copies' outcomes. `run --json` prints it and `shakedown merge` adds the shards' together,
/// so it holds only sums, never anything of one repetition.
struct RepetitionTally: Codable, Equatable {
    /// Repetitions by verdict: `clean`, `failed`, `hung`, `leaked`, `check failed`, `not started`.
    var verdicts: [String: Int] = [:]
    /// For each run-owned counter (by name): rounds by their increment, `+4` → rounds.
    var counters: [String: [String: Int]] = [:]
    /// Copies by outcome (`completed`, `hung`, `crashed (SIGSEGV)`, …) over every repetition.
    var copies: [String: Int] = [:]

    /// The verdict name of a repetition's exit code (the codes of `shakedown help run`).
    static func verdict(_ exitCode: Int32) -> String {
        switch exitCode {
        case 0: return "clean"
        case 1: return "failed"
        case 3: return "hung"
        case 4: return "leaked"
        case 5: return "check failed"
        case 70: return "not started"
        default: return "exit \(exitCode)"
        }
    }

    mutating func add(_ report: RunReport, exitCode: Int32) {
        verdicts[Self.verdict(exitCode), default: 0] += 1
        for observation in report.observations {
            for bucket in observation.histogram {
                counters[observation.name, default: [:]]["+\(bucket.increment)", default: 0] += bucket.rounds
            }
        }
        for worker in report.workers { copies[worker.outcome.description, default: 0] += 1 }
    }

    /// The sum of two tallies (the merge of two shards).
    /// - Throws: `MergeError` when a sum would overflow (only forged reports get there).
    func adding(_ other: RepetitionTally) throws -> RepetitionTally {
        func sum(_ a: [String: Int], _ b: [String: Int]) throws -> [String: Int] {
            var result = a
            for (key, value) in b {
                let (total, overflow) = result[key, default: 0].addingReportingOverflow(value)
                if overflow || value < 0 { throw MergeError.data("a count under `\(key)` is negative or too large") }
                result[key] = total
            }
            return result
        }
        var result = RepetitionTally()
        result.verdicts = try sum(verdicts, other.verdicts)
        result.copies = try sum(copies, other.copies)
        result.counters = counters
        for (name, histogram) in other.counters { result.counters[name] = try sum(counters[name] ?? [:], histogram) }
        return result
    }
}
