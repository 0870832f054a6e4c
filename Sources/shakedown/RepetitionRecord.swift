import Shakedown

/// One repetition as `--junit` shows it: a test case.
struct RepetitionRecord {
    /// Failing repetitions whose whole report goes into `<system-out>`; later failures name their reason only,
    /// so a run of a million failing repetitions cannot make a report of gigabytes.
    static let detailedLimit = 100

    let repetition: Int
    let seed: Seed
    let exitCode: Int32
    let duration: Duration
    /// Why it failed (one line), when it did.
    let reason: String?
    /// The whole report, for the first ``detailedLimit`` failing repetitions.
    let report: RunReport?
    let check: ShellStep.Result?
}
