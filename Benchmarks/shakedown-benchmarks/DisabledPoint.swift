// The cost of a disabled jitter point (outside a worker, or a plan whose points do not act): a loop of N
// `Jitter.point()` calls next to the same loop without them, to be counted by callgrind (instructions, not time:
// time on a shared 2-core VM is noise at this scale). scripts/benchmark-disabled-point.sh runs it and prints the
// instructions per point.
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
        sum &+= index  // the same work as the empty loop, so the difference is the point alone
    }
    return sum
}

/// The same loop without the point.
@inline(never)
func emptyPointLoop(_ count: Int) -> Int {
    var sum = 0
    for index in 0..<count {
        sum &+= index
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
    // Opaque to the optimizer: the result is printed, so neither loop is removed.
    let a = disabledPointLoop(count)
    let b = emptyPointLoop(count)
    print("disabled-point: \(count) points (checksums \(a) \(b))")
}
