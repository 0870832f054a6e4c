// `shakedown-benchmarks toolbox`: the multiprocessing toolbox (issue 12) side by side with Python multiprocessing
// (fork) on this machine. Every repetition takes one Swift and one Python sample of each measurement, interleaved;
// the table reports medians. Setup (forking the pool, the echo child) is outside the timed part on both sides.
#if canImport(Glibc)
import Glibc
#endif
import CShakedownBenchmarks
import Shakedown

enum ToolboxBenchmarks {
    struct Measurement {
        let name: String
        let unit: String
        let pythonMetric: String
        let size: Int
        /// Rates: higher is better; times: lower is better.
        let higherIsBetter: Bool
        let swift: () throws -> Double
        var swiftSamples = Samples("", unit: "")
        var pythonSamples = Samples("", unit: "")
    }

    static func main(_ arguments: [String]) {
        if arguments.contains("--codec") { codec(); return }
        let quick = arguments.contains("--quick")
        var repetitions = quick ? 3 : 5
        if let index = arguments.firstIndex(of: "--repetitions"), index + 1 < arguments.count,
           let value = Int(arguments[index + 1]), value > 0 { repetitions = value }
        guard let script = pythonScript() else { fail("Benchmarks/python_toolbox.py not found") }
        let scale = quick ? 5 : 1
        var measurements = [
            Measurement(name: "pool map, tiny tasks (x * x), 2 workers, chunked", unit: "tasks/s", pythonMetric: "map",
                        size: 1_000_000 / scale, higherIsBetter: true, swift: { try poolMap(1_000_000 / scale) }),
            Measurement(name: "apply + get round trips, 2 workers", unit: "round trips/s", pythonMetric: "apply",
                        size: 5_000 / scale, higherIsBetter: true, swift: { try applyRoundTrips(5_000 / scale) }),
            Measurement(name: "pipe ping-pong (Int)", unit: "round trips/s", pythonMetric: "pipe",
                        size: 20_000 / scale, higherIsBetter: true, swift: { try pipePingPong(20_000 / scale) }),
            Measurement(name: "pipe ping-pong (Int), `spinBeforeSleeping: .zero`", unit: "round trips/s", pythonMetric: "pipe",
                        size: 20_000 / scale, higherIsBetter: true, swift: { try pipePingPong(20_000 / scale, spin: .zero) }),
            Measurement(name: "queue relay, producer process → parent", unit: "items/s", pythonMetric: "queue",
                        size: 100_000 / scale, higherIsBetter: true, swift: { try queueRelay(100_000 / scale) }),
            Measurement(name: "locked shared value increments, 2 processes", unit: "increments/s", pythonMetric: "locked",
                        size: 200_000 / scale, higherIsBetter: true, swift: { try lockedIncrements(200_000 / scale) }),
            Measurement(name: "\(1_000 / scale) tasks of 10 ms (sleep), default pool, Python's default chunking", unit: "s", pythonMetric: "sleepy",
                        size: 1_000 / scale, higherIsBetter: false, swift: { try sleepyPool(1_000 / scale) }),
        ]
        if let index = arguments.firstIndex(of: "--only"), index + 1 < arguments.count {
            let wanted = arguments[index + 1].split(separator: ",").map(String.init)
            measurements.removeAll { !wanted.contains($0.pythonMetric) }
        }
        let loadBefore = Machine.loadAverage
        for repetition in 1...repetitions {
            progress("toolbox repetition \(repetition)/\(repetitions)…\n")
            for index in measurements.indices {
                do {
                    // Alternating which side goes first, so neither always runs right after the other's warm-up.
                    if repetition % 2 == 1 {
                        measurements[index].swiftSamples.add(try measurements[index].swift())
                        measurements[index].pythonSamples.add(try python(script, measurements[index].pythonMetric, measurements[index].size))
                    } else {
                        measurements[index].pythonSamples.add(try python(script, measurements[index].pythonMetric, measurements[index].size))
                        measurements[index].swiftSamples.add(try measurements[index].swift())
                    }
                } catch {
                    fail("\(measurements[index].name): \(error)")
                }
            }
        }
        // Serial sleeps cost the same in any language; one sample each, for the speed-up column.
        let serialSize = 1_000 / scale
        let withSleeps = measurements.contains { $0.pythonMetric == "sleepy" }
        let serial = withSleeps ? (try? sleepySerial(serialSize)) ?? .nan : .nan
        let pythonSerial = withSleeps ? (try? python(script, "serial", serialSize)) ?? .nan : .nan
        print("| What | Swift toolbox, median (range) | Python multiprocessing, median (range) | Swift ÷ Python, median (range) |")
        print("|---|---:|---:|---:|")
        for measurement in measurements {
            let swift = measurement.swiftSamples, python = measurement.pythonSamples
            // Each repetition measured both sides back to back: the ratio per repetition, then its median and range.
            let ratio = measurement.higherIsBetter ? PairedRatio(swift, python) : PairedRatio(python, swift)
            let decimals = measurement.unit == "s" ? 2 : 0
            func cell(_ samples: Samples) -> String {
                "\(Format.number(samples.median, decimals: decimals)) \(measurement.unit) (\(Format.number(samples.min, decimals: decimals))–\(Format.number(samples.max, decimals: decimals)))"
            }
            print("| \(measurement.name) | \(cell(swift)) | \(cell(python)) | \(Format.ratio(ratio.median)) (\(Format.ratio(ratio.min))–\(Format.ratio(ratio.max))) |")
        }
        if withSleeps {
            print("| the same \(serialSize) sleeps one after another (one sample each) | \(Format.number(serial, decimals: 2)) s | \(Format.number(pythonSerial, decimals: 2)) s | — |")
            let floor = Double(serialSize) * 0.010 / Double(AvailableCPUs.count)
            print("")
            print("Floor for \(serialSize) sleeps of 10 ms on a pool of \(AvailableCPUs.count) workers (the CPU count): \(serialSize) × 10 ms ÷ \(AvailableCPUs.count) = \(Format.number(floor, decimals: 2)) s on either side.")
        }
        print("")
        print("\(repetitions) interleaved repetitions (which side goes first alternates), medians and (min–max); the ratio is taken per repetition; \(AvailableCPUs.count) usable CPUs; load average \(loadBefore) before, \(Machine.loadAverage) after.")
    }

    // MARK: Swift measurements

    /// `toolbox --codec`: the compact coder alone on 200,000 integers, to tell encoding from messaging costs.
    static func codec() {
        let values = Array(0..<200_000)
        var bytes: [UInt8] = []
        let encode = timed { bytes = (try? CompactEncoder().encode(values)) ?? [] }
        var back: [Int] = []
        let decode = timed { back = (try? CompactDecoder().decode([Int].self, from: bytes)) ?? [] }
        let pool = try? ProcessPool<Int, Int>(processes: 2) { $0 &* $0 }
        let one = timed { _ = try? pool?.map(values, chunkSize: 200_000) }
        let eight = timed { _ = try? pool?.mapValues(values, chunkSize: 25_000) }
        pool?.terminate()
        print("encode \(encode * 1e3) ms, decode \(decode * 1e3) ms, \(bytes.count) bytes, equal \(back == values); map 1 chunk \(one * 1e3) ms, 8 chunks \(eight * 1e3) ms")
    }

    static func timed(_ body: () throws -> Void) rethrows -> Double {
        let start = bench_now_ns()
        try body()
        return Double(bench_now_ns() - start) / 1e9
    }

    static func poolMap(_ count: Int) throws -> Double {
        let pool = try ProcessPool<Int, Int>(processes: 2) { $0 &* $0 }
        defer { pool.terminate() }
        _ = try pool.map(Array(0..<100))
        let inputs = Array(0..<count)
        // Python's default chunk size for map: ceil(count / (4 × workers)).
        let chunk = max(1, (count + 7) / 8)
        // mapValues: Python's map semantics (all values, or an error when a task failed).
        var results: [Int]? = nil
        let seconds = try timed { results = try pool.mapValues(inputs, chunkSize: chunk) }
        guard results?.last == (count - 1) &* (count - 1) else { throw BenchmarkError("pool map returned wrong results") }
        return Double(count) / seconds
    }

    static func applyRoundTrips(_ count: Int) throws -> Double {
        let pool = try ProcessPool<Int, Int>(processes: 2) { $0 &* $0 }
        defer { pool.terminate() }
        _ = try pool.map(Array(0..<100))
        let seconds = try timed {
            for index in 0..<count {
                guard try pool.apply(index).value == index &* index else { throw BenchmarkError("apply returned a wrong result") }
            }
        }
        return Double(count) / seconds
    }

    static func pipePingPong(_ count: Int, spin: Duration = MessagePipe.defaultSpinBeforeSleeping) throws -> Double {
        let pipe = try MessagePipe(spinBeforeSleeping: spin)
        let child = try ForkedChild {
            let end = try pipe.childEnd()
            while case let .message(value) = try end.receive(Int.self, timeout: .seconds(60)) { try end.send(value) }
        }
        let end = try pipe.parentEnd()
        try end.send(0)
        _ = try end.receive(Int.self, timeout: .seconds(60))
        let seconds = try timed {
            for index in 0..<count {
                try end.send(index)
                guard try end.receive(Int.self, timeout: .seconds(60)).value == index else { throw BenchmarkError("pipe echo mismatch") }
            }
        }
        end.close()
        _ = try child.join(timeout: .seconds(10))
        return Double(count) / seconds
    }

    static func queueRelay(_ count: Int) throws -> Double {
        let queue = try ProcessQueue<Int>(capacity: 1024, maximumItemBytes: 64)
        var child: ForkedChild?
        let seconds = try timed {
            child = try ForkedChild { for index in 0..<count { try queue.put(index) } }
            for _ in 0..<count {
                guard case .item = try queue.get(timeout: .seconds(60)) else { throw BenchmarkError("queue relay stalled") }
            }
        }
        _ = try child?.join(timeout: .seconds(10))
        return Double(count) / seconds
    }

    static func lockedIncrements(_ count: Int) throws -> Double {
        let lock = try ProcessMutex(name: "benchmark")
        let value = try SharedValue(0)
        let seconds = try timed {
            let children = try (0..<2).map { _ in
                try ForkedChild {
                    for _ in 0..<count {
                        try lock.lock()
                        value.value += 1
                        try lock.unlock()
                    }
                }
            }
            for child in children { _ = try child.join(timeout: .seconds(120)) }
        }
        guard value.value == 2 * count else { throw BenchmarkError("locked increments lost updates: \(value.value)") }
        return Double(2 * count) / seconds
    }

    static func sleepyTask(_ input: Int) -> Int {
        usleep(10_000)
        return input
    }

    static func sleepyPool(_ count: Int) throws -> Double {
        let pool = try ProcessPool<Int, Int>(work: sleepyTask)
        defer { pool.terminate() }
        _ = try pool.map(Array(0..<pool.processes))
        // Python's default map chunk size, ceil(count / (4 × workers)), like for like: with chunk size 1 each
        // 10 ms task costs a round trip through the parent, which a loaded host makes slow to wake.
        let chunk = max(1, (count + 4 * pool.processes - 1) / (4 * pool.processes))
        return try timed { _ = try pool.mapValues(Array(0..<count), chunkSize: chunk) }
    }

    static func sleepySerial(_ count: Int) throws -> Double {
        timed { for index in 0..<count { _ = sleepyTask(index) } }
    }

    // MARK: Python

    static func python(_ script: String, _ metric: String, _ size: Int) throws -> Double {
        let result = try CommandRunner.run(["python3", script, metric, String(size)], timeout: .seconds(300))
        guard result.exit.isSuccess, let value = Double(result.outputText.filter { !$0.isWhitespace }) else {
            throw BenchmarkError("python3 \(script) \(metric) failed (\(result.exit)): \(result.outputText) \(result.errorText)")
        }
        return value
    }

    static func pythonScript(sourceFile: String = #filePath) -> String? {
        var directory = sourceFile
        if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) }
        return [directory + "/../python_toolbox.py", "Benchmarks/python_toolbox.py"].first { access($0, R_OK) == 0 }
    }
}
