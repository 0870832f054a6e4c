// Detection within a time budget: `detection --budget-ms 1000` runs "1-second runs". Each run repeats trials (4 fresh
// copies each, trial k with the seed Seed(base + run).repetition(k)) until one finds the bug or the budget is spent
// (a trial that starts before the budget ends runs to its end; a detection by a trial that ended after the budget
// does not count as found, it is shown as "+N late"). Per bug × mode: the share of runs that found the bug within
// it, the median time to detection (of the runs that found it), the median trials per run, and, computed rather than measured, 1 − (1 − p)^(budget / t) from the per-trial rate p (detections over
// all trials of all runs, the geometric estimate) and the mean trial time t.
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

/// What the budget runs of one bug × mode measured.
struct BudgetCell {
    var found = 0
    /// Runs whose detecting trial ended after the budget: not counted in `found`.
    var late = 0
    var runs = 0
    var detectionTimes: [Double] = []
    var trialsPerRun: [Int] = []
    var trials = 0
    var detections = 0
    var trialSeconds = 0.0

    /// Detections per trial over every trial (runs stop at their first detection: the geometric estimate).
    var perTrialRate: Double { trials == 0 ? 0 : Double(detections) / Double(trials) }
    var meanTrialSeconds: Double { trials == 0 ? 0 : trialSeconds / Double(trials) }

    /// 1 − (1 − p)^(budget / t): the share of budget runs that would find the bug if trials were independent.
    func computedShare(budget: Double) -> Double {
        guard meanTrialSeconds > 0 else { return 0 }
        return 1 - pow(1 - perTrialRate, budget / meanTrialSeconds)
    }
}

/// Runs the budget table and prints it as Markdown, one row per bug × mode, row by row.
func runBudgetTable(_ bugs: [DetectionBug], columns: [DetectionColumn], plans: DetectionPlans, runs: Int,
                    budget: Double, twinRuns: Int?, in buildDirectory: String) {
    let budgetText = "\(Int((budget * 1000).rounded())) ms"
    print("Budget \(budgetText) per run, \(runs) runs per cell; mix = \(Int((plans.share * 100).rounded())) % of trials preempt (drawn per trial seed), the rest gate only; default = the mode `default` for a command (\(plans.plan(.default, seed: Seed(0)).mode)).")
    print("")
    print("| bug (4 copies × iterations) | mode | found in \(budgetText) runs | median time to detection | median trials/run | per-trial p | mean trial | computed 1−(1−p)^(\(budgetText)/t) |")
    print("|---|---|---|---|---|---|---|---|")
    for bug in bugs {
        for column in columns {
            progress("\(bug.fixture) \(column.rawValue): ")
            var cell = BudgetCell()
            for run in 0..<runs {
                budgetRun(bug, column: column, plans: plans, seed: Seed(0xB0D6_E700 &+ UInt64(run)), budget: budget,
                          in: buildDirectory, into: &cell)
            }
            progress("\(cell.found)/\(cell.runs)\n")
            print("| \(bug.fixture) × \(bug.iterations) | \(column.title) | " + budgetCells(cell, budget: budget).joined(separator: " | ") + " |")
            fflush(nil)
        }
        if let twinRuns {
            // The twins under the default mode (what `shakedown run` does with no --jitter): every trial must stay clean.
            let twin = bug.fixture == "race-threads" ? bug.withIterations(5_000) : bug
            var flagged = 0
            for run in 0..<twinRuns {
                let seed = Seed(UInt64(run))
                if detectionTrial(twin, fixed: true, plan: plans.plan(.default, seed: seed), seed: seed,
                                  in: buildDirectory) { flagged += 1 }
            }
            print("| \(bug.fixture) fixed twin | default | flagged \(flagged)/\(twinRuns) trials "
                  + "(\(twinRuns) × 4 copies × \(twin.iterations) iterations) | | | | | |")
            fflush(nil)
        }
    }
}

/// One budget run: trials until a detection or the budget is spent.
private func budgetRun(_ bug: DetectionBug, column: DetectionColumn, plans: DetectionPlans, seed: Seed, budget: Double,
                       in buildDirectory: String, into cell: inout BudgetCell) {
    let start = monotonicSeconds()
    var trial = 0
    cell.runs += 1
    while monotonicSeconds() - start < budget {
        let trialSeed = seed.repetition(trial)
        let trialStart = monotonicSeconds()
        let found = detectionTrial(bug, fixed: false, plan: plans.plan(column, seed: trialSeed), seed: trialSeed,
                                   in: buildDirectory)
        let now = monotonicSeconds()
        cell.trialSeconds += now - trialStart
        cell.trials += 1
        trial += 1
        if found {
            cell.detections += 1
            if now - start <= budget {
                cell.found += 1
                cell.detectionTimes.append(now - start)
            } else {
                cell.late += 1
            }
            break
        }
    }
    cell.trialsPerRun.append(trial)
}

private func budgetCells(_ cell: BudgetCell, budget: Double) -> [String] {
    let percent = { (value: Double) in fixedDecimals(value * 100, 1) + " %" }
    let times = cell.detectionTimes.sorted()
    let median = times.isEmpty ? "—" : "\(Int((times[times.count / 2] * 1000).rounded())) ms"
    let trials = cell.trialsPerRun.sorted()
    return [
        "\(cell.found)/\(cell.runs) (\(percent(Double(cell.found) / Double(max(cell.runs, 1)))))"
            + (cell.late > 0 ? ", +\(cell.late) late" : ""),
        median,
        trials.isEmpty ? "—" : "\(trials[trials.count / 2])",
        "\(fixedDecimals(cell.perTrialRate, 3)) (\(cell.detections)/\(cell.trials))",
        "\(Int((cell.meanTrialSeconds * 1000).rounded())) ms",
        "computed \(percent(cell.computedShare(budget: budget)))",
    ]
}

/// `value` with `places` decimals, rounded (no Foundation here).
private func fixedDecimals(_ value: Double, _ places: Int) -> String {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    let whole = scaled / Int(scale), fraction = scaled % Int(scale)
    let digits = String(fraction)
    return "\(whole)." + String(repeating: "0", count: places - digits.count) + digits
}
