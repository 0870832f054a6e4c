import Shakedown

/// A step of a repetition that could not be done (a failed `--before`, or Shakedown itself failing in a step): the
/// repetition cannot be judged and the loop stops. Thrown by `RepeatLoop`'s steps after they said why on
/// standard error.
struct StepFailure: Error {
    /// 70 (Shakedown or `--before` failed) or 64 (a bad value only the run found).
    let exitCode: Int32
    /// One line, raw (escape it for a terminal).
    let reason: String
}

/// The loop stopped before its planned repetitions were done, at a repetition it could not judge: what ran until
/// then, with the stop recorded as that repetition's failure (its seed, its exit code, why), so `--json` and
/// `--junit` are written for it as for any other run and a CI consumer never finds no report.
struct RunStop: Error {
    let summary: RepeatSummary

    /// A stop before any repetition ran (the command could not be prepared): repetition `planned.lowerBound` is
    /// the failure.
    init(beforeAnyRepetition failure: StepFailure, baseSeed: Seed, options: RunCommand) {
        let planned = options.plannedRepetitions
        let repetition = planned.lowerBound
        let seed = baseSeed.repetition(repetition)
        var tally = RepetitionTally()
        tally.addStop(exitCode: failure.exitCode)
        let records = options.junit == nil ? [] : [RepetitionRecord(
            repetition: repetition, seed: seed, exitCode: failure.exitCode, duration: .zero, reason: failure.reason,
            report: nil, check: nil)]
        summary = RepeatSummary(
            lastReport: nil, lastCheck: nil, repetitionsRun: 1, checkFailures: 0,
            failures: [RepetitionFailure(repetition: repetition, seed: seed, exitCode: failure.exitCode,
                                         reason: failure.reason)],
            exitCode: failure.exitCode, totalDuration: .zero, planned: planned, baseSeed: baseSeed, tally: tally,
            records: records)
    }

    init(summary: RepeatSummary) { self.summary = summary }
}

extension RepetitionTally {
    /// A repetition that stopped the loop: counted under its exit code's verdict (70: `not started`), with no
    /// copies or counters, so the tally still adds up to the repetitions that ran.
    mutating func addStop(exitCode: Int32) {
        verdicts[Self.verdict(exitCode), default: 0] += 1
    }
}
