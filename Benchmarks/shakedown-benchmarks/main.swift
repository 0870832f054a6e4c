// shakedown-benchmarks: what a Shakedown run costs next to the raw system floor, a shell and Python, on this machine.
// Usage: swift build -c release && .build/release/shakedown-benchmarks [--quick] [--rounds N] [--repetitions N]
// The Markdown report (tables, the command that produced them) goes to stdout; progress goes to stderr.
#if canImport(Glibc)
import Glibc
#endif
import CShakedownBenchmarks
import Shakedown

/// Writes to standard error with write(2) (Swift 6 rejects the C `stderr` global as shared mutable state).
func progress(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    progress("shakedown-benchmarks: \(message)\n")
    exit(1)
}

// `shakedown-benchmarks toolbox [--quick] [--repetitions N]`: the multiprocessing toolbox against Python (issue 12).
if CommandLine.arguments.dropFirst().first == "toolbox" {
    ToolboxBenchmarks.main(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}
// Detection power of the jitter modes on the race catalogue (Detection.swift): its own table, nothing else runs.
if CommandLine.arguments.dropFirst().first == "detection" {
    runDetectionBenchmark(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}
// Detection power on the async bug catalogue (AsyncDetection.swift): its own table, nothing else runs.
if CommandLine.arguments.dropFirst().first == "async-detection" {
    runAsyncDetectionBenchmark(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

// Overhead per controlled system call of the syscalls/pct modes (SyscallOverhead.swift).
if CommandLine.arguments.dropFirst().first == "syscalls" {
    runSyscallOverheadBenchmark(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

// Instructions of a disabled jitter point (DisabledPoint.swift; run under callgrind by scripts/benchmark-disabled-point.sh).
if CommandLine.arguments.dropFirst().first == "disabled-point" {
    runDisabledPointBenchmark(Array(CommandLine.arguments.dropFirst(2)))
    exit(0)
}

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case let .success(parsed):
    options = parsed
case let .failure(error):
    guard let message = error.message else {
        print(Options.usage)
        exit(0)
    }
    progress("shakedown-benchmarks: \(message)\n\(Options.usage)\n")
    exit(2)
}

let invocation = CommandLine.arguments.joined(separator: " ")
let revision = Machine.sourceRevision()
let benchmarkStart = bench_now_ns()

/// Takes one sample into `samples`, or marks it unavailable when `optional` (a missing python3 or CLI must not
/// sink the whole run); any other failure ends the benchmark with the reason.
func sample(_ samples: inout Samples, optional: Bool = false, _ body: () throws -> Double) {
    guard samples.unavailable == nil else { return }
    do { samples.add(try body()) } catch {
        if optional { samples.unavailable = "\(error)" } else { fail("\(samples.name): \(error)") }
    }
}

// MARK: phase 1, commands: one repetition of a 4-copy run of /bin/true, next to a shell doing the same

// Measured first, while this process is still small like the `shakedown` CLI that repeats runs (the ballast of
// phase 2 would make every fork of the library's run dearer, and no baseline here forks this process).
let copies = 4
let trueCommand = ["/bin/true"]
let shellWithTrue = ["/bin/sh", "-c", "/bin/true & /bin/true & /bin/true & /bin/true & wait"]
let shellBuiltin = ["/bin/sh", "-c", "true & true & true & true & wait"]
let cliPath = Machine.cliPath
let cliCommand = cliPath.map { [$0, "run", "-n", "\(copies)", "--jitter", "points", "--", "/bin/true"] }

var commandRun = Samples("`Shake.run(command: [\"/bin/true\"], …)`, 4 copies, in this process", unit: "ms")
var repeatRun = Samples("one repetition of `PreparedCommandRun.run(seed:)` (what `--repeat` pays: kept run leader), 4 copies", unit: "ms")
var spawnTrue = Samples("posix_spawn `/bin/true` × 4, then waitpid × 4, same process", unit: "ms")
var forkExecTrue = Samples("fork + execve `/bin/true` × 4, then waitpid × 4, same process", unit: "ms")
var shellTrue = Samples("`/bin/sh -c '/bin/true & /bin/true & /bin/true & /bin/true & wait'`", unit: "ms")
var shellBuiltinTrue = Samples("`/bin/sh -c 'true & true & true & true & wait'` (dash's builtin `true`: no exec)", unit: "ms")
var cliRun = Samples("`shakedown run -n 4 -- /bin/true`, whole invocation (release CLI next to this executable)", unit: "ms")
if cliCommand == nil { cliRun.unavailable = "no `shakedown` next to this executable: `swift build -c release`" }
let preparedTrue: PreparedCommandRun
do {
    preparedTrue = try PreparedCommandRun(command: trueCommand,
                                          RunConfiguration(processes: copies, timeout: .seconds(30), jitter: .none))
} catch {
    fail("could not prepare the repeated command run: \(error)")
}

let commandLoadBefore = Machine.loadAverage
if options.runsCommands {
    do {
        _ = try Measure.shakedownCommandRun(trueCommand, copies: copies, runs: 3)
        _ = try Measure.preparedCommandRun(preparedTrue, runs: 3)
        _ = try Measure.spawnAndWait(trueCommand, copies: copies, runs: 3)
        _ = try Measure.spawnAndWait(shellWithTrue, copies: 1, runs: 3)
        if let cliCommand { _ = try? Measure.spawnAndWait(cliCommand, copies: 1, runs: 1) }
    } catch {
        fail("command warm-up failed: \(error)")
    }
}
// Interleaved run by run, in an order rotated every round: each round times one run of every row, so a burst of
// load from other work on this shared host lands on neighbours measured milliseconds apart, and the per-round
// ratios stay fair even when the absolute times scatter.
let commandRounds = options.runsCommands ? options.repetitions * options.commandRuns : 0
let commandRows: [(inout Samples) -> Void] = [
    { sample(&$0) { try Measure.shakedownCommandRun(trueCommand, copies: copies, runs: 1) / 1_000 } },
    { sample(&$0) { try Measure.spawnAndWait(trueCommand, copies: copies, runs: 1) / 1_000 } },
    { sample(&$0) { try Measure.spawnAndWait(trueCommand, copies: copies, runs: 1, forkExec: true) / 1_000 } },
    { sample(&$0) { try Measure.spawnAndWait(shellWithTrue, copies: 1, runs: 1) / 1_000 } },
    { sample(&$0) { try Measure.spawnAndWait(shellBuiltin, copies: 1, runs: 1) / 1_000 } },
    { samples in
        guard let cliCommand else { return }
        sample(&samples, optional: true) { try Measure.spawnAndWait(cliCommand, copies: 1, runs: 1) / 1_000 }
    },
    { sample(&$0) { try Measure.preparedCommandRun(preparedTrue, runs: 1) / 1_000 } },
]
var commandSamples = [commandRun, spawnTrue, forkExecTrue, shellTrue, shellBuiltinTrue, cliRun, repeatRun]
for round in 0..<commandRounds {
    if round % options.commandRuns == 0 { progress("commands: round \(round + 1)/\(commandRounds)…\n") }
    for step in 0..<commandRows.count {
        let row = (step + round) % commandRows.count
        commandRows[row](&commandSamples[row])
    }
}
(commandRun, spawnTrue, forkExecTrue, shellTrue, shellBuiltinTrue, cliRun, repeatRun) =
    (commandSamples[0], commandSamples[1], commandSamples[2], commandSamples[3], commandSamples[4], commandSamples[5],
     commandSamples[6])
preparedTrue.close()
let commandLoadAfter = Machine.loadAverage

// Whole processes: `shakedown run --repeat L` against one shell running the same L loops, so each side pays its
// own process start once. Per repetition = the process's wall time ÷ L. Alternated, the order swapped each round.
let loops = options.quick ? 50 : 200
let cliRepeat = cliPath.map { [$0, "run", "-n", "\(copies)", "--jitter", "points", "--repeat", "\(loops)", "--", "/bin/true"] }
let shellLoops = ["/bin/sh", "-c", "i=0; while [ $i -lt \(loops) ]; do /bin/true & /bin/true & /bin/true & /bin/true & wait; i=$((i + 1)); done"]
var wholeRepeat = Samples("`shakedown run -n 4 --jitter points --repeat \(loops) -- /bin/true`, whole process, **per repetition**", unit: "ms")
// The same loop in the default mode (no --jitter: every repetition preempted, each copy loading the preload library
// and waiting at the start gate): what the detection power costs a command that finishes at once.
let cliRepeatDefault = cliPath.map { [$0, "run", "-n", "\(copies)", "--repeat", "\(loops)", "--", "/bin/true"] }
var wholeRepeatDefault = Samples("`shakedown run -n 4 --repeat \(loops) -- /bin/true` (default mode: preempt), whole process, **per repetition**", unit: "ms")
var wholeShell = Samples("`sh -c` running \(loops) × `/bin/true & /bin/true & /bin/true & /bin/true & wait`, **per loop**", unit: "ms")
// The CLI's loop without the CLI: the same repetitions back to back in this process (prepared, run `loops` times,
// closed), so the CLI's own share shows as the difference, and a repetition pays the clean-up the previous one left
// to the kernel, as in the CLI (the one-repetition row above is timed alone, after other rows).
var wholeInProcess = Samples("\(loops) × `PreparedCommandRun.run(seed:)` back to back in this process, the CLI's configuration, **per repetition**", unit: "ms")
if cliRepeat == nil {
    wholeRepeat.unavailable = cliRun.unavailable
    wholeRepeatDefault.unavailable = cliRun.unavailable
}
let wholeLoadBefore = Machine.loadAverage
for round in 0..<(options.runsCommands ? options.repetitions : 0) {
    progress("whole processes: round \(round + 1)/\(options.repetitions)…\n")
    let steps: [(inout Samples) -> Void] = [
        { samples in
            guard let cliRepeat else { return }
            sample(&samples, optional: true) { try Measure.spawnAndWait(cliRepeat, copies: 1, runs: 1) / 1_000 / Double(loops) }
        },
        { sample(&$0) { try Measure.spawnAndWait(shellLoops, copies: 1, runs: 1) / 1_000 / Double(loops) } },
        { sample(&$0) { try Measure.backToBackCommandRuns(trueCommand, copies: copies, runs: loops) / 1_000 } },
        { samples in
            guard let cliRepeatDefault else { return }
            sample(&samples, optional: true) { try Measure.spawnAndWait(cliRepeatDefault, copies: 1, runs: 1) / 1_000 / Double(loops) }
        },
    ]
    var samples = [wholeRepeat, wholeShell, wholeInProcess, wholeRepeatDefault]
    for step in 0..<steps.count {
        let row = (step + round) % steps.count
        steps[row](&samples[row])
    }
    (wholeRepeat, wholeShell, wholeInProcess, wholeRepeatDefault) = (samples[0], samples[1], samples[2], samples[3])
}
let wholeLoadAfter = Machine.loadAverage

// MARK: phase 2, forks and rounds, from a process the size of a test process

// Make this process resemble a test process before anything else is forked from it: fork copies its page tables,
// so a tiny benchmark process would flatter every fork-based number.
var threads: Int32 = 0
if options.runsForks {
    guard bench_allocate_ballast(options.ballastMegabytes << 20) == 0 else { fail("could not allocate the ballast") }
    threads = bench_start_background_threads(Int32(options.backgroundThreads))
}
let pythonScript = Machine.pythonScript()

var perWorker8 = Samples("`Shake.fork`, 8 workers, empty body, 1 round: **per worker** (run time / 8)", unit: "µs")
var perRun1 = Samples("`Shake.fork`, 1 worker, empty body, 1 round: whole run (leader + 1 worker)", unit: "µs")
var rawFork = Samples("raw C `fork()` / `_exit(0)` / `waitpid`, one child at a time, same process", unit: "µs")
var rawForkBatch = Samples("raw C: fork 8 children (each `_exit(0)`), then `waitpid` the 8; **per child**, same process", unit: "µs")
var spawnTrueBig = Samples("posix_spawn `/bin/true` × 4, then waitpid × 4, from this test-process-sized process (per run of 4)", unit: "µs")
var forkExecTrueBig = Samples("fork + execve `/bin/true` × 4, then waitpid × 4, from this test-process-sized process (per run of 4)", unit: "µs")
var python = Samples("Python `multiprocessing` (fork) `start()` + `join()`", unit: "µs")
var shakedownRate = Samples("`Shake.fork`, 2 persistent workers, empty body", unit: "rounds/s", higherIsBetter: true)
var rawRate = Samples("raw C spin-then-futex barrier, 2 processes", unit: "rounds/s", higherIsBetter: true)
if pythonScript == nil { python.unavailable = "python3 or Benchmarks/python_fork.py not found" }

// Warm-up, not recorded: first-touch page faults, lazy symbol binding, the Python interpreter's file cache.
// The barrier warm-up also sizes the barrier samples when the host is too busy for the default rounds.
var rounds = options.rounds
let loadBefore = Machine.loadAverage
if options.runsForks { do {
    _ = try Measure.shakedownRun(processes: 8, runs: 2)
    _ = try Measure.rawFork(count: 10)
    _ = try Measure.rawForkBatch(batch: options.batchSize, rounds: 2)
    let warmUpRounds = min(options.rounds, 20_000)
    let slowest = min(try Measure.shakedownRounds(warmUpRounds), try Measure.rawBarrierRounds(warmUpRounds))
    if !options.roundsGiven {
        rounds = max(warmUpRounds, min(options.rounds, Int(slowest * options.barrierSampleSeconds)))
    }
} catch {
    fail("warm-up failed: \(error)")
} }

// The fork rows are interleaved run by run too (order rotated each round); Python and the barrier rows, whose
// samples are whole loops, once per repetition.
let forkRows: [(inout Samples) -> Void] = [
    { sample(&$0) { try Measure.shakedownRun(processes: 8, runs: 1) / 8 } },
    { sample(&$0) { try Measure.rawFork(count: options.batchSize) } },
    { sample(&$0) { try Measure.rawForkBatch(batch: options.batchSize, rounds: 1) } },
    { sample(&$0) { try Measure.shakedownRun(processes: 1, runs: 1) } },
    { sample(&$0) { try Measure.spawnAndWait(trueCommand, copies: copies, runs: 1) } },
    { sample(&$0) { try Measure.spawnAndWait(trueCommand, copies: copies, runs: 1, forkExec: true) } },
]
var forkSamples = [perWorker8, rawFork, rawForkBatch, perRun1, spawnTrueBig, forkExecTrueBig]
for repetition in 1...options.repetitions where options.runsForks {
    progress("forks and rounds: repetition \(repetition)/\(options.repetitions)…\n")
    for round in 0..<options.forkRuns {
        for step in 0..<forkRows.count {
            let row = (step + round) % forkRows.count
            forkRows[row](&forkSamples[row])
        }
    }
    if let pythonScript {
        sample(&python, optional: true) { try Measure.python(script: pythonScript, count: options.pythonProcesses) }
    }
    sample(&shakedownRate) { try Measure.shakedownRounds(rounds) }
    sample(&rawRate) { try Measure.rawBarrierRounds(rounds) }
}
(perWorker8, rawFork, rawForkBatch, perRun1, spawnTrueBig, forkExecTrueBig) =
    (forkSamples[0], forkSamples[1], forkSamples[2], forkSamples[3], forkSamples[4], forkSamples[5])
let elapsedSeconds = Double(bench_now_ns() - benchmarkStart) / 1e9
let loadAfter = Machine.loadAverage

// MARK: report

func row(_ samples: Samples, decimals: Int) -> String {
    if let reason = samples.unavailable, samples.values.isEmpty { return "| \(samples.name) | n/a (\(reason)) | | | \(samples.unit) |" }
    return "| \(samples.name) | \(Format.number(samples.median, decimals: decimals)) | "
        + "\(Format.number(samples.min, decimals: decimals)) | \(Format.number(samples.max, decimals: decimals)) | \(samples.unit) |"
}

/// A ratio row: the median of the per-repetition ratios (each repetition measured both sides back to back), with
/// their min and max, the target and whether the median meets it.
func ratioRow(_ label: String, _ ratio: PairedRatio, target: String = "—", meets: ((Double) -> Bool)? = nil) -> String {
    let met: String
    if let meets, let median = ratio.median { met = meets(median) ? "yes" : "**no**" } else { met = meets == nil ? "—" : "n/a" }
    let range = ratio.count > 1 ? "\(Format.ratio(ratio.min))–\(Format.ratio(ratio.max))" : "—"
    return "| \(label) | \(Format.ratio(ratio.median)) | \(range) | \(target) | \(met) |"
}

let ratioHeader = """
| Ratio (median of the per-round ratios) | Median | Min–max | Target | Met |
|---|---:|---|---|---|
"""

let fixedCost = perRun1.median.flatMap { run in perWorker8.median.map { run - $0 } }

print("""
- Produced by: `\(invocation)` (\(Machine.buildConfiguration), source \(revision)); total time \
\(Format.number(elapsedSeconds, decimals: 0)) s.
- Machine: \(Machine.processors) CPUs (nproc), Linux \(Machine.kernel), \(Machine.cpuModel); \(Machine.utcDate).
- Interleaved: each round times one run of every row of a table, in an order rotated every round. Median, min and \
max are over the individual runs; a ratio is taken per round (both sides measured milliseconds apart) and the \
table gives the median of those ratios and their range (the range shows the host's noise; trust the median).\
\(options.quick ? " **Quick mode** (smoke run: numbers are rough)." : "")
""")
if options.runsCommands {
    print("""

### One repetition of a 4-copy command run, against a shell doing the same

Measured first, while the benchmark process is small like the `shakedown` CLI (no ballast yet). \
\(commandRounds) rounds (\(options.repetitions) × \(options.commandRuns)). Every Shakedown run must be clean and \
every copy must exit 0, or the benchmark fails. Load average (1 min) before / after: \
\(commandLoadBefore) / \(commandLoadAfter).

| Measurement (per run of 4 copies) | Median | Min | Max | Unit |
|---|---:|---:|---:|---|
\(row(repeatRun, decimals: 2))
\(row(commandRun, decimals: 2))
\(row(spawnTrue, decimals: 2))
\(row(forkExecTrue, decimals: 2))
\(row(shellTrue, decimals: 2))
\(row(shellBuiltinTrue, decimals: 2))
\(row(cliRun, decimals: 2))

\(ratioHeader)
\(ratioRow("one `--repeat` repetition ÷ `sh -c '/bin/true & … & wait'`", PairedRatio(repeatRun, shellTrue), target: "≤ 2×", meets: { $0 <= 2 }))
\(ratioRow("one `--repeat` repetition ÷ `sh -c 'true & … & wait'` (builtin)", PairedRatio(repeatRun, shellBuiltinTrue)))
\(ratioRow("one `--repeat` repetition ÷ posix_spawn × 4 + waitpid", PairedRatio(repeatRun, spawnTrue)))
\(ratioRow("`Shake.run` (a leader per run) ÷ `sh -c '/bin/true & … & wait'`", PairedRatio(commandRun, shellTrue)))
\(ratioRow("`Shake.run` ÷ `sh -c 'true & … & wait'` (builtin)", PairedRatio(commandRun, shellBuiltinTrue)))
\(ratioRow("`Shake.run` ÷ posix_spawn × 4 + waitpid", PairedRatio(commandRun, spawnTrue)))
\(ratioRow("fork + execve × 4 ÷ posix_spawn × 4 (what a full fork per command costs)", PairedRatio(forkExecTrue, spawnTrue)))
\(ratioRow("whole `shakedown run` ÷ `sh -c '/bin/true & … & wait'`", PairedRatio(cliRun, shellTrue)))

#### Whole processes: `--repeat \(loops)` against a shell running \(loops) loops

\(options.repetitions) rounds, one go of each row per round, in an order rotated every round. Load average (1 min) \
before / after: \(wholeLoadBefore) / \(wholeLoadAfter).

| Measurement | Median | Min | Max | Unit |
|---|---:|---:|---:|---|
\(row(wholeRepeat, decimals: 2))
\(row(wholeShell, decimals: 2))
\(row(wholeRepeatDefault, decimals: 2))
\(row(wholeInProcess, decimals: 2))

\(ratioHeader)
\(ratioRow("`shakedown run --repeat \(loops)` ÷ the shell's \(loops) loops, whole processes", PairedRatio(wholeRepeat, wholeShell), target: "≤ 2×", meets: { $0 <= 2 }))
\(ratioRow("\(loops) back-to-back repetitions in this process ÷ the shell's \(loops) loops", PairedRatio(wholeInProcess, wholeShell)))
\(ratioRow("`shakedown run --repeat \(loops)` ÷ the same repetitions in this process (the CLI's own share)", PairedRatio(wholeRepeat, wholeInProcess)))
\(ratioRow("the default mode (preempt) ÷ `--jitter points`, whole processes (the cost of preemption for a command that exits at once)", PairedRatio(wholeRepeatDefault, wholeRepeat)))
""")
}
if options.runsForks {
    print("""

### Forks and rounds, from a process the size of a test process

Measured after the benchmark process started \(threads) mostly idle threads and touched \
\(options.ballastMegabytes) MiB of heap, so that forking it costs what forking a test process costs. Fork rows: \
\(options.repetitions * options.forkRuns) rounds (\(options.repetitions) × \(options.forkRuns)); a raw fork run is \
\(options.batchSize) children. Python and barrier rows: \(options.repetitions) samples, each \
\(options.pythonProcesses) Python processes or \(Format.number(Double(rounds))) barrier rounds\(rounds < options.rounds ? " (shortened from \(Format.number(Double(options.rounds))): the warm-up found the host too busy)" : ""). \
Load average (1 min) before / after: \(loadBefore) / \(loadAfter) on \(Machine.processors) CPUs (above \
\(Machine.processors), other processes competed for the CPUs; the barrier rows suffer most).

| Measurement | Median | Min | Max | Unit |
|---|---:|---:|---:|---|
\(row(perWorker8, decimals: 0))
\(row(perRun1, decimals: 0))
\(row(rawFork, decimals: 0))
\(row(rawForkBatch, decimals: 0))
\(row(spawnTrueBig, decimals: 0))
\(row(forkExecTrueBig, decimals: 0))
\(row(python, decimals: 0))
\(row(shakedownRate, decimals: 0))
\(row(rawRate, decimals: 0))

\(ratioHeader)
\(ratioRow("Shakedown per worker (N = 8) ÷ raw fork, batched (fork 8, reap 8): the fair floor", PairedRatio(perWorker8, rawForkBatch), target: "≤ 1.5×", meets: { $0 <= 1.5 }))
\(ratioRow("Shakedown per worker (N = 8) ÷ raw fork, serial (fork, exit, wait, one at a time)", PairedRatio(perWorker8, rawFork)))
\(ratioRow("Python per process ÷ Shakedown per worker (N = 8) (ratio of medians)", PairedRatio(medianOf: python, perWorker8), target: "≥ 2×", meets: { $0 >= 2 }))
\(ratioRow("Shakedown rounds/s ÷ raw C barrier rounds/s", PairedRatio(shakedownRate, rawRate)))
\(ratioRow("fork + execve × 4 ÷ posix_spawn × 4, from a test-process-sized process", PairedRatio(forkExecTrueBig, spawnTrueBig)))

Shakedown rounds/s with 2 workers, median: \(Format.number(shakedownRate.median)) (target ≥ 1,000,000: \
\(shakedownRate.median.map { $0 >= 1_000_000 ? "met" : "**not met**" } ?? "n/a")). Fixed cost of a run beyond its \
workers (median N = 1 run − median N = 8 per-worker share): \(Format.number(fixedCost)) µs. A run of N workers \
forks N + 1 times (the leader), so even a free run costs (N + 1) / N of the forks: 1.125× at N = 8.
""")
}
