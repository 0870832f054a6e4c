#if canImport(Glibc)
import Glibc
#endif
import CShakedownBenchmarks
import Shakedown

/// A measurement that could not be taken (a failed run or system call).
struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Each function takes one sample of one measurement, in the benchmark process itself.
enum Measure {
    /// Wall-clock µs per `Shake.fork(processes:rounds: 1, jitter: .none)` run with an empty body, averaged over
    /// `runs` runs. A run is everything a test pays: control block, pipes, the leader's fork, the workers' forks
    /// from the leader, every reap, and the report. Divide by `processes` for the per-worker cost.
    static func shakedownRun(processes: Int, runs: Int) throws -> Double {
        let start = bench_now_ns()
        for _ in 0..<runs {
            let report = try Shake.fork(processes: processes, rounds: 1, jitter: .none) { _ in }
            guard report.isClean else { throw BenchmarkError("run was not clean:\n\(report.summary)") }
        }
        return Double(bench_now_ns() - start) / 1_000 / Double(runs)
    }

    /// µs per fork() + child _exit(0) + waitpid from this same process: the floor for any fork-based runner here.
    static func rawFork(count: Int) throws -> Double {
        let elapsed = bench_fork_loop(Int32(clamping: count))
        guard elapsed > 0 else { throw BenchmarkError("fork loop failed: errno \(-elapsed)") }
        return Double(elapsed) / 1_000 / Double(count)
    }

    /// µs per child when forking `batch` children (each `_exit(0)`s at once) and then reaping all of them, from this
    /// same process, `rounds` times: the fair floor for a run that starts `batch` processes together. A serial
    /// fork/wait loop also pays the wake-up latency of each wait in turn, which an overlapped run does not.
    static func rawForkBatch(batch: Int, rounds: Int) throws -> Double {
        let elapsed = bench_fork_batch_loop(Int32(clamping: rounds), Int32(clamping: batch))
        guard elapsed > 0 else { throw BenchmarkError("batched fork loop failed: errno \(-elapsed)") }
        return Double(elapsed) / 1_000 / Double(rounds * batch)
    }

    /// µs per `Shake.run(command:)` of `copies` copies of `command`, in this process, averaged over `runs` runs:
    /// one repetition of a command run as `shakedown run` makes it (leader, a shepherd per copy, exec, reaps,
    /// report). Every run must be clean.
    static func shakedownCommandRun(_ command: [String], copies: Int, runs: Int) throws -> Double {
        let configuration = RunConfiguration(processes: copies, timeout: .seconds(30), jitter: .none)
        let start = bench_now_ns()
        for _ in 0..<runs {
            let report = try Shake.run(command: command, configuration)
            guard report.isClean else { throw BenchmarkError("command run was not clean:\n\(report.summary)") }
        }
        return Double(bench_now_ns() - start) / 1_000 / Double(runs)
    }

    /// µs per `PreparedCommandRun.run(seed:)` of `prepared`, averaged over `runs` runs: one repetition of
    /// `shakedown run --repeat` as the CLI makes it (after the first, a kept run leader: a shepherd per copy, exec,
    /// reaps, report). Every run must be clean.
    static func preparedCommandRun(_ prepared: PreparedCommandRun, runs: Int) throws -> Double {
        let start = bench_now_ns()
        for index in 0..<runs {
            let report = try prepared.run(seed: Seed(UInt64(index)))
            guard report.isClean else { throw BenchmarkError("repeated command run was not clean:\n\(report.summary)") }
        }
        return Double(bench_now_ns() - start) / 1_000 / Double(runs)
    }

    /// µs per repetition of `runs` repetitions of `command` (`copies` copies each) run back to back as
    /// `shakedown run --repeat` runs them: prepared once as the CLI prepares it with `--jitter points` (its timeout),
    /// each repetition with its derived seed, the kept leader closed at the end. Timed from preparing to closing.
    /// Every run must be clean.
    static func backToBackCommandRuns(_ command: [String], copies: Int, runs: Int) throws -> Double {
        let start = bench_now_ns()
        let prepared = try PreparedCommandRun(command: command,
                                              RunConfiguration(processes: copies, timeout: .seconds(60), jitter: .points))
        // A run that throws leaves the kept leader to `prepared`'s deinit, which closes it.
        let base = Seed(0x5EED)
        for index in 0..<runs {
            let report = try prepared.run(seed: base.repetition(index))
            guard report.isClean else { throw BenchmarkError("back-to-back command run was not clean:\n\(report.summary)") }
        }
        prepared.close()
        return Double(bench_now_ns() - start) / 1_000 / Double(runs)
    }

    /// µs per go of: posix_spawn (or, with `forkExec`, fork + execve) `copies` copies of `argv` (argv[0] a path)
    /// from this process, then waitpid each; averaged over `runs` goes. Every copy must exit 0.
    static func spawnAndWait(_ argv: [String], copies: Int, runs: Int, forkExec: Bool = false) throws -> Double {
        let pointers: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        var total: Int64 = 0
        for _ in 0..<runs {
            let elapsed = pointers.withUnsafeBufferPointer { buffer -> Int64 in
                guard let base = buffer.baseAddress else { return -Int64(EINVAL) }
                return forkExec ? bench_fork_exec_and_wait(base, Int32(clamping: copies))
                    : bench_spawn_and_wait(base, Int32(clamping: copies))
            }
            guard elapsed > 0 else {
                throw BenchmarkError("\(argv.joined(separator: " ")) failed: \(elapsed == -Int64(ECHILD) ? "a copy did not exit 0" : "errno \(-elapsed)")")
            }
            total += elapsed
        }
        return Double(total) / 1_000 / Double(runs)
    }

    /// µs per Python `multiprocessing` (fork start method) Process start + join, as the script times its own loop.
    /// The Python process is small (its own interpreter, not this process's memory).
    static func python(script: String, count: Int) throws -> Double {
        let arguments = ["python3", script, String(count)]
        var output = [CChar](repeating: 0, count: 256)
        let pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        let status = pointers.withUnsafeBufferPointer { argv in
            output.withUnsafeMutableBufferPointer { buffer -> Int32 in
                guard let argvBase = argv.baseAddress, let outputBase = buffer.baseAddress else { return -EINVAL }
                return bench_run_capturing(argvBase, outputBase, buffer.count)
            }
        }
        let text = String(decoding: output.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard status == 0, let value = Double(text.filter { !$0.isWhitespace }) else {
            throw BenchmarkError("python3 \(script) failed (status \(status)): \(text)")
        }
        return value
    }

    /// Rounds per second of `Shake.fork(processes: 2, rounds:, jitter: .none)` with an empty body: two
    /// persistent workers passing the run's round barrier once per round. Rate = rounds / the report's duration
    /// (leader fork to last reap), so the fixed start-up cost is included but is < 1% at 1,000,000 rounds.
    static func shakedownRounds(_ rounds: Int) throws -> Double {
        let report = try Shake.fork(processes: 2, rounds: rounds, jitter: .none) { _ in }
        guard report.isClean else { throw BenchmarkError("barrier run was not clean:\n\(report.summary)") }
        return Double(rounds) / seconds(report.duration)
    }

    /// Rounds per second of the raw C spin-then-futex barrier between 2 forked processes (same spin limit as
    /// Shakedown's round barrier), fork to reap.
    static func rawBarrierRounds(_ rounds: Int, spinLimit: UInt32 = 20_000) throws -> Double {
        let elapsed = bench_barrier_rounds(UInt64(rounds), spinLimit)
        guard elapsed > 0 else { throw BenchmarkError("C barrier loop failed: errno \(-elapsed)") }
        return Double(rounds) / (Double(elapsed) / 1e9)
    }

    static func seconds(_ duration: Duration) -> Double {
        let (whole, attoseconds) = duration.components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
