// Detection power: how often each race-catalogue bug (Fixtures/race-*, plain programs without jitter points) is
// found per mode, and how often its fixed twin is wrongly flagged.
// Usage: swift build -c release && .build/release/shakedown-benchmarks detection [--runs N] [--twin-runs N] [--scale K]
//        [--interval-us N] [--weights Y,S,P] [--max-sleep-us N] [--only FIXTURE,...] [--build-dir DIR]
// --scale multiplies every bug's iterations (release builds run the loops ~10× faster than debug builds); the
// --interval-us, --weights and --max-sleep-us flags change the preemption settings of every preempting column.
// A run = 4 copies started back to back with posix_spawn, waited for, judged from the state they share. Columns:
// plain stress (no tool, as Go's stress tool reruns copies), the start gate alone (mode `gate`: the preload library
// holds each copy before main until all 4 arrived and leave together, no timers), and the mode `default` as
// `shakedown run` applies it to a command (preempt: gate + timers). For these plain programs `points` is plain stress
// (they have no jitter points). With --budget-ms the budget table runs instead (DetectionBudget.swift), with `preempt`
// and `mix` as columns too. The twins run under `default`.
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

/// One catalogue bug: its fixture, the iterations per copy, and how to judge the state it leaves in a directory.
struct DetectionBug: Sendable {
    let fixture: String
    let iterations: Int
    let arguments: @Sendable (String) -> [String]
    let showsBug: @Sendable (String) -> Bool

    static func counter(_ fixture: String, _ iterations: Int) -> DetectionBug {
        DetectionBug(fixture: fixture, iterations: iterations, arguments: { ["\($0)/counter", "\(iterations)"] },
                     showsBug: { detectionReadInt64("\($0)/counter") != Int64(4 * iterations) })
    }

    /// The threads bug with another iteration count (its twin is slow under preemption).
    func withIterations(_ count: Int) -> DetectionBug {
        DetectionBug(fixture: fixture, iterations: count, arguments: { _ in ["\(count)"] }, showsBug: { _ in false })
    }

    /// The same bug with its iterations multiplied by `factor`.
    func scaled(_ factor: Int) -> DetectionBug {
        let iterations = self.iterations * factor
        switch fixture {
        case "race-shm-counter", "race-shm-counter-swift", "race-shm-tickets", "race-file-counter": return .counter(fixture, iterations)
        case "race-append":
            return DetectionBug(fixture: fixture, iterations: iterations, arguments: { ["\($0)/log", "\(iterations)"] },
                                showsBug: { detectionFileSize("\($0)/log") != 4 * iterations * 16 })
        case "race-aba":
            return DetectionBug(fixture: fixture, iterations: iterations, arguments: { ["\($0)/slots", "\(iterations)"] },
                                showsBug: { _ in false })
        case "race-double-init":
            return DetectionBug(fixture: fixture, iterations: iterations, arguments: { [$0, "\(iterations)"] },
                                showsBug: { detectionLineCount("\($0)/log") != iterations })
        default:
            return DetectionBug(fixture: fixture, iterations: iterations, arguments: { _ in ["\(iterations)"] },
                                showsBug: { _ in false })
        }
    }

    static let all: [DetectionBug] = [
        .counter("race-shm-counter", 10_000),
        .counter("race-shm-counter-swift", 10_000),
        .counter("race-shm-tickets", 10_000),
        .counter("race-file-counter", 50),
        DetectionBug(fixture: "race-append", iterations: 200, arguments: { ["\($0)/log", "200"] },
                     showsBug: { detectionFileSize("\($0)/log") != 4 * 200 * 16 }),
        DetectionBug(fixture: "race-double-init", iterations: 100, arguments: { [$0, "100"] },
                     showsBug: { detectionLineCount("\($0)/log") != 100 }),
        // Judges itself: exit 1 when its two threads lost an update. Twins run 5,000 iterations (a preempted mutex
        // holder makes the twin slow).
        DetectionBug(fixture: "race-threads", iterations: 200_000, arguments: { _ in ["200000"] }, showsBug: { _ in false }),
        // Judge themselves too (exit 1): a hand-off that timed out, a message out of sequence, a slot held twice.
        .selfJudging("race-lost-wakeup", 2_000),
        .selfJudging("race-pipe-order", 2_000),
        DetectionBug(fixture: "race-aba", iterations: 20_000, arguments: { ["\($0)/slots", "20000"] }, showsBug: { _ in false }),
    ]

    /// A bug whose program judges itself (exit 1) and takes only its iteration count.
    static func selfJudging(_ fixture: String, _ iterations: Int) -> DetectionBug {
        DetectionBug(fixture: fixture, iterations: iterations, arguments: { _ in ["\(iterations)"] }, showsBug: { _ in false })
    }
}

/// Runs the detection table (or, with `--budget-ms`, the budget table) and prints it as Markdown.
func runDetectionBenchmark(_ arguments: [String]) {
    var runs = 100
    var scale = 1
    var buildDirectory = (ProcessEnvironment.executableDirectory ?? "")
    var plan = JitterPlan.preempt
    var only: Set<String> = []
    var twinRuns: Int?
    var budgetMilliseconds: Int?
    var share = JitterPlan.mixPreemptShare
    var columns: [DetectionColumn]?
    var rest = arguments[...]
    while let flag = rest.popFirst() {
        switch flag {
        case "--runs": runs = detectionNumber(rest.popFirst(), flag, 1...100_000)
        case "--scale": scale = detectionNumber(rest.popFirst(), flag, 1...1_000)
        case "--interval-us": plan.preemptInterval = .microseconds(detectionNumber(rest.popFirst(), flag, 2...1_000_000))
        case "--weights":
            let parts = (rest.popFirst() ?? "").split(separator: ",").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ (0...1_000).contains($0) }), parts.reduce(0, +) > 0 else {
                fail("--weights takes yield,sleep,spin: three whole numbers within 0...1000, not all 0")
            }
            (plan.yieldWeight, plan.sleepWeight, plan.spinWeight) = (parts[0], parts[1], parts[2])
        case "--max-sleep-us": plan.maximumSleep = .microseconds(detectionNumber(rest.popFirst(), flag, 1...1_000_000))
        case "--twin-runs": twinRuns = detectionNumber(rest.popFirst(), flag, 1...100_000)
        case "--budget-ms": budgetMilliseconds = detectionNumber(rest.popFirst(), flag, 1...600_000)
        case "--mix-share":
            guard let text = rest.popFirst(), let value = Double(text), value >= 0, value <= 1 else {
                fail("--mix-share takes a share within 0...1")
            }
            share = value
        case "--modes":
            guard let text = rest.popFirst() else { fail("--modes takes plain,gate,preempt,mix,default (comma-separated)") }
            columns = text.split(separator: ",").map { name in
                guard let column = DetectionColumn(rawValue: String(name)) else {
                    fail("--modes: unknown mode \(name); expected plain, gate, preempt, mix, default")
                }
                return column
            }
        case "--only":
            guard let text = rest.popFirst() else { fail("--only takes fixture names, comma-separated") }
            only = Set(text.split(separator: ",").map(String.init))
        case "--build-dir":
            guard let text = rest.popFirst() else { fail("--build-dir takes a directory") }
            buildDirectory = text
        default:
            fail("detection: unknown option \(flag); usage: detection [--runs N] [--scale K] [--interval-us N] "
                 + "[--weights Y,S,P] [--max-sleep-us N] [--only a,b] "
                 + "[--twin-runs N] [--budget-ms N [--modes plain,gate,preempt,mix,default] [--mix-share Q]] [--build-dir DIR]")
        }
    }
    let bugs = DetectionBug.all.map { $0.scaled(scale) }.filter { only.isEmpty || only.contains($0.fixture) }
    let plans = DetectionPlans(preempt: plan, share: share)
    if let budgetMilliseconds {
        runBudgetTable(bugs, columns: columns ?? DetectionColumn.allCases, plans: plans, runs: runs,
                       budget: Double(budgetMilliseconds) / 1000, twinRuns: twinRuns, in: buildDirectory)
        return
    }
    let modes: [(String, DetectionColumn)] = [("plain stress (none)", .plain), ("start gate only", .gate),
                                              ("default (\(plans.plan(.default, seed: Seed(0)).mode))", .default)]
    print("| bug (4 copies × iterations) | " + modes.map(\.0).joined(separator: " | ") + " | twin flagged under default |")
    print("|---|" + String(repeating: "---|", count: modes.count + 1))
    for bug in bugs {
        var cells: [String] = []
        for (name, column) in modes {
            progress("\(bug.fixture) \(name): ")
            var found = 0
            var durations: [Double] = []
            for run in 0..<runs {
                let start = monotonicSeconds()
                let seed = Seed(UInt64(run))
                if detectionTrial(bug, fixed: false, plan: plans.plan(column, seed: seed), seed: seed, in: buildDirectory) {
                    found += 1
                }
                durations.append(monotonicSeconds() - start)
            }
            durations.sort()
            let median = durations[durations.count / 2]
            progress("\(found)/\(runs)\n")
            cells.append("\(found)/\(runs) (\(Int((Double(found) * 100 / Double(runs)).rounded())) %), median \(Int((median * 1000).rounded())) ms/run")
        }
        let twinCount = twinRuns ?? runs
        let flagged = twinFlags(bug, plans: plans, count: twinCount, in: buildDirectory)
        print("| \(bug.fixture) × \(bug.iterations) | " + cells.joined(separator: " | ") + " | \(flagged)/\(twinCount) |")
        fflush(nil)  // row by row, so an interrupted run keeps what it measured
    }
}

/// The columns of the tables: plain stress, the start gate alone (`gate`), gate + timers (`preempt`), and the mix
/// mode `mix` (a seeded share of runs preempt, the rest gate only).
enum DetectionColumn: String, CaseIterable {
    case plain, gate, preempt, mix, `default`

    var title: String {
        switch self {
        case .plain: "plain stress (none)"
        case .gate: "start gate only (gate)"
        case .preempt: "preempt (gate + timers)"
        case .mix: "mix"
        case .default: "default"
        }
    }
}

/// The plan each column runs one trial with.
struct DetectionPlans {
    let preempt: JitterPlan
    let share: Double

    func plan(_ column: DetectionColumn, seed: Seed) -> JitterPlan {
        var plan = preempt
        switch column {
        case .plain: return .none
        case .gate: plan.mode = .gate
        case .preempt: plan.mode = .preempt
        case .mix: plan.mode = JitterPlan.mixPreempts(seed: seed, share: share) ? .preempt : .gate
        case .default:
            // What `shakedown run` does with no --jitter: the plan of the mode `default`, drawn for this command run.
            plan.mode = .default
            return plan.forCommandRun(seed: seed)
        }
        return plan
    }
}

/// How often the fixed twin is flagged under the default mode (`count` trials).
private func twinFlags(_ bug: DetectionBug, plans: DetectionPlans, count: Int, in buildDirectory: String) -> Int {
    let twin = bug.fixture == "race-threads" ? bug.withIterations(5_000) : bug
    var flagged = 0
    for run in 0..<count where detectionTrial(twin, fixed: true, plan: plans.plan(.default, seed: Seed(UInt64(run))),
                                              seed: Seed(UInt64(run)), in: buildDirectory) {
        flagged += 1
    }
    return flagged
}

private func detectionNumber(_ text: String?, _ flag: String, _ range: ClosedRange<Int>) -> Int {
    guard let text, let value = Int(text), range.contains(value) else {
        fail("\(flag) takes a number within \(range.lowerBound)...\(range.upperBound)")
    }
    return value
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// One run: 4 copies with the plan's command environment; true when the bug showed (or a copy exited 1).
func detectionTrial(_ bug: DetectionBug, fixed: Bool, plan: JitterPlan, seed: Seed, in buildDirectory: String) -> Bool {
    var template = Array("/tmp/shakedown-detect-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { fail("mkdtemp failed: errno \(errno)") }
    let directory = String(cString: made)
    defer { detectionRemoveTree(directory) }
    let argv = ["\(buildDirectory)/\(bug.fixture)"] + (fixed ? ["--fixed"] : []) + bug.arguments(directory)
    let inherited = ProcessEnvironment.current()
    // The threads fixture prints what it lost; keep the table clean.
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
    let gate: CommandStartGate?
    do { gate = plan.holdsAtStartGate ? try CommandStartGate(parties: 4) : nil } catch { fail("start gate: \(error)") }
    var pids: [pid_t] = []
    for copy in 0..<4 {
        let environment = plan.commandEnvironment(seed: seed.derived(for: copy), merging: inherited, gate: gate)
        var pid: pid_t = 0
        let result = detectionWithCStrings(argv) { a in
            detectionWithCStrings(environment) { e in posix_spawn(&pid, a[0]!, &actions, nil, a, e) }
        }
        guard result == 0 else { fail("posix_spawn \(argv[0]) failed: errno \(result) (build the fixtures: swift build -c release)") }
        pids.append(pid)
    }
    var exitedOne = false
    for pid in pids {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status & 0x7F == 0 && (status >> 8) & 0xFF == 1 { exitedOne = true }
        else if status != 0 { fail("\(bug.fixture) copy ended with wait status \(status)") }
    }
    return exitedOne || bug.showsBug(directory)
}

private func detectionWithCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}


private func detectionReadInt64(_ path: String) -> Int64? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var value: Int64 = 0
    return pread(fd, &value, 8, 0) == 8 ? value : nil
}

private func detectionFileSize(_ path: String) -> Int? {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : nil
}

private func detectionLineCount(_ path: String) -> Int {
    guard let file = fopen(path, "r") else { return -1 }
    defer { fclose(file) }
    var lines = 0
    while true {
        let c = getc(file)
        if c == EOF { return lines }
        if c == 10 { lines += 1 }
    }
}

private func detectionRemoveTree(_ directory: String) {
    guard let stream = opendir(directory) else { return }
    while let entry = readdir(stream) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { unlink("\(directory)/\(name)") }
    }
    closedir(stream)
    rmdir(directory)
}
