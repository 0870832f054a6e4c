// Python: time 20 tasks of 50 ms run serially and with Pool().map.
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

enum SerialVersusPool {
    static func task(_ input: Int) -> Int {
        usleep(50_000)
        return input
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        try body()
        clock_gettime(CLOCK_MONOTONIC, &end)
        return Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
    }

    static func main() throws {
        let inputs = Array(0..<20)
        let serial = seconds { _ = inputs.map(task) }
        let pool = try ProcessPool<Int, Int>(work: task)
        let pooled = try seconds { _ = try pool.map(inputs) }
        pool.close()
        _ = try pool.join()
        print("serial \(Int(serial * 1000)) ms, pool of \(pool.processes) \(Int(pooled * 1000)) ms")
        print("speed-up \(Int(serial / pooled * 10)) tenths")
    }
}
