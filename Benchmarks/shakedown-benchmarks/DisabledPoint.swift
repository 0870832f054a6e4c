// The cost of a disabled jitter point (outside a worker, or a plan whose points do not act): a loop of N
// `Jitter.point()` calls. scripts/benchmark-disabled-point.sh runs it under callgrind and prints the instructions of
// `Jitter.point()` itself per call (instructions, not time: time on a shared 2-core VM is noise at this scale); this
// mode also prints the median wall time per loop iteration over 5 passes, for scale.
// Usage: shakedown-benchmarks disabled-point [N]
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

/// N disabled points; `@inline(never)` so callgrind sees the loop as one function with its own count.
@inline(never)
func disabledPointLoop(_ count: Int) -> Int {
    var sum = 0
    for index in 0..<count {
        Jitter.point()
        sum &+= index  // a result to print, so the loop is not removed
    }
    return sum
}

func runDisabledPointBenchmark(_ arguments: [String]) {
    var count = 10_000_000
    if let text = arguments.first {
        guard let value = Int(text), value >= 1, value <= 1_000_000_000 else {
            fail("disabled-point takes a count within 1...1000000000")
        }
        count = value
    }
    var perIteration: [Double] = []
    var checksum = 0
    for _ in 0..<5 {
        var start = timespec(), end = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        checksum &+= disabledPointLoop(count)
        clock_gettime(CLOCK_MONOTONIC, &end)
        let nanoseconds = Double(end.tv_sec - start.tv_sec) * 1e9 + Double(end.tv_nsec - start.tv_nsec)
        perIteration.append(nanoseconds / Double(count))
    }
    perIteration.sort()
    print("disabled-point: \(count) points × 5 passes, median \((perIteration[2] * 100).rounded() / 100) ns per loop iteration (checksum \(checksum))")
}
