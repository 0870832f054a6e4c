// shakedown-benchmarks: what a Shakedown run costs next to the raw system floor and Python, on this machine.
// Usage: swift run -c release shakedown-benchmarks [--quick] [--rounds N] [--repetitions N]
// The Markdown table goes to stdout; progress goes to stderr.
#if canImport(Glibc)
import Glibc
#endif
import CShakedownBenchmarks

/// Writes to standard error with write(2) (Swift 6 rejects the C `stderr` global as shared mutable state).
func progress(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    progress("shakedown-benchmarks: \(message)\n")
    exit(1)
}

// Detection power of the jitter modes on the race catalogue (Detection.swift): its own table, nothing else runs.
if CommandLine.arguments.dropFirst().first == "detection" {
    runDetectionBenchmark(Array(CommandLine.arguments.dropFirst(2)))
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

// Make this process resemble a test process before anything is forked from it: fork copies its page tables,
// so a tiny benchmark process would flatter every fork-based number.
guard bench_allocate_ballast(options.ballastMegabytes << 20) == 0 else { fail("could not allocate the ballast") }
let threads = bench_start_background_threads(Int32(options.backgroundThreads))

let pythonScript = Machine.pythonScript()
let benchmarkStart = bench_now_ns()

var perWorker8 = Samples("`Shakedown.fork`, 8 workers, empty body, 1 round: **per worker** (run time / 8)", unit: "µs")
var perRun1 = Samples("`Shakedown.fork`, 1 worker, empty body, 1 round: whole run (leader + 1 worker)", unit: "µs")
var rawFork = Samples("raw C `fork()` / `_exit(0)` / `waitpid`, same process", unit: "µs")
var python = Samples("Python `multiprocessing` (fork) `start()` + `join()`", unit: "µs")
var shakedownRate = Samples("`Shakedown.fork`, 2 persistent workers, empty body", unit: "rounds/s", higherIsBetter: true)
var rawRate = Samples("raw C spin-then-futex barrier, 2 processes", unit: "rounds/s", higherIsBetter: true)
if pythonScript == nil { python.unavailable = "python3 or Benchmarks/python_fork.py not found" }

/// Takes one sample into `samples`, or marks it unavailable (a missing python3 must not sink the whole run).
func sample(_ samples: inout Samples, _ body: () throws -> Double) {
    guard samples.unavailable == nil else { return }
    do { samples.add(try body()) } catch {
        if samples.name.hasPrefix("Python") { samples.unavailable = "\(error)" } else { fail("\(samples.name): \(error)") }
    }
}

// Warm-up, not recorded: first-touch page faults, lazy symbol binding, the Python interpreter's file cache.
// The barrier warm-up also sizes the barrier samples when the host is too busy for the default rounds.
var rounds = options.rounds
let loadBefore = Machine.loadAverage
do {
    _ = try Measure.shakedownRun(processes: 8, runs: 2)
    _ = try Measure.rawFork(count: 10)
    let warmUpRounds = min(options.rounds, 20_000)
    let slowest = min(try Measure.shakedownRounds(warmUpRounds), try Measure.rawBarrierRounds(warmUpRounds))
    if !options.roundsGiven {
        rounds = max(warmUpRounds, min(options.rounds, Int(slowest * options.barrierSampleSeconds)))
    }
} catch {
    fail("warm-up failed: \(error)")
}

// Interleaved: every repetition takes one sample of each, so machine noise (this host is shared) spreads over all
// measurements alike instead of landing on whichever ran during a busy second.
for repetition in 1...options.repetitions {
    progress("repetition \(repetition)/\(options.repetitions)…\n")
    sample(&perWorker8) { try Measure.shakedownRun(processes: 8, runs: options.forkRuns) / 8 }
    sample(&rawFork) { try Measure.rawFork(count: options.rawForks) }
    sample(&perRun1) { try Measure.shakedownRun(processes: 1, runs: options.forkRuns) }
    if let pythonScript { sample(&python) { try Measure.python(script: pythonScript, count: options.pythonProcesses) } }
    sample(&shakedownRate) { try Measure.shakedownRounds(rounds) }
    sample(&rawRate) { try Measure.rawBarrierRounds(rounds) }
}
let elapsedSeconds = Double(bench_now_ns() - benchmarkStart) / 1e9
let loadAfter = Machine.loadAverage

// MARK: report

func ratio(_ numerator: Double?, _ denominator: Double?) -> Double? {
    guard let numerator, let denominator, denominator > 0 else { return nil }
    return numerator / denominator
}

func row(_ samples: Samples, decimals: Int) -> String {
    if let reason = samples.unavailable, samples.values.isEmpty { return "| \(samples.name) | n/a (\(reason)) | | | \(samples.unit) |" }
    return "| \(samples.name) | \(Format.number(samples.median, decimals: decimals)) | "
        + "\(Format.number(samples.min, decimals: decimals)) | \(Format.number(samples.max, decimals: decimals)) | \(samples.unit) |"
}

func verdict(_ met: Bool?) -> String {
    guard let met else { return "n/a" }
    return met ? "yes" : "**no**"
}

let forkRatio = ratio(perWorker8.median, rawFork.median)
let pythonRatio = ratio(python.median, perWorker8.median)
let barrierRatio = ratio(shakedownRate.median, rawRate.median)
let fixedCost = perRun1.median.flatMap { run in perWorker8.median.map { run - $0 } }

print("""
## Shakedown benchmarks

- Machine: \(Machine.processors) CPUs (nproc), Linux \(Machine.kernel), \(Machine.cpuModel); \(Machine.utcDate)
- Measured inside the benchmark process after it started \(threads) mostly idle threads and touched \
\(options.ballastMegabytes) MiB of heap, so that forking it costs what forking a test process costs.
- \(options.repetitions) interleaved repetitions (each takes one sample of every row in turn); median, min, max of \
the repetitions. Fork rows: \(options.forkRuns) Shakedown runs, \(options.rawForks) raw forks, \
\(options.pythonProcesses) Python processes per sample. Barrier rows: \(Format.number(Double(rounds))) \
rounds per sample\(rounds < options.rounds ? " (shortened from \(Format.number(Double(options.rounds))): the warm-up found the host too busy)" : "").\
\(options.quick ? " **Quick mode** (smoke run: numbers are rough)." : "")
- Load average (1 min) before / after: \(loadBefore) / \(loadAfter) on \(Machine.processors) CPUs (a load above \
\(Machine.processors) means other processes were competing for the CPUs; the barrier rows suffer most).

| Measurement | Median | Min | Max | Unit |
|---|---:|---:|---:|---|
\(row(perWorker8, decimals: 0))
\(row(perRun1, decimals: 0))
\(row(rawFork, decimals: 0))
\(row(python, decimals: 0))
\(row(shakedownRate, decimals: 0))
\(row(rawRate, decimals: 0))

| Ratio (of medians) | Value | Target | Met |
|---|---:|---|---|
| Shakedown per worker (N = 8) ÷ raw C fork | \(Format.ratio(forkRatio)) | ≤ 1.5× | \(verdict(forkRatio.map { $0 <= 1.5 })) |
| Python per process ÷ Shakedown per worker (N = 8) | \(Format.ratio(pythonRatio)) | ≥ 2× | \(verdict(pythonRatio.map { $0 >= 2 })) |
| Shakedown rounds/s, 2 workers | \(Format.number(shakedownRate.median)) | ≥ 1,000,000 | \(verdict(shakedownRate.median.map { $0 >= 1_000_000 })) |
| Shakedown rounds/s ÷ raw C barrier rounds/s | \(Format.ratio(barrierRatio)) | — | — |

Fixed cost of a run beyond its workers (N = 1 run − one N = 8 per-worker share): \
\(Format.number(fixedCost)) µs. Total benchmark time: \(Format.number(elapsedSeconds, decimals: 1)) s.
""")
