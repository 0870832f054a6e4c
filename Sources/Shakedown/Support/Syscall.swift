#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Runs a system call that returns -1 and sets errno on failure, retrying on EINTR.
///
/// `@inline(never)` keeps errno from being clobbered by anything the optimizer might move between the call and
/// the read.
@inline(never)
@discardableResult
package func syscall<Result: FixedWidthInteger>(
    _ name: @autoclosure () -> String,
    retryOnInterrupt: Bool = true,
    _ body: () -> Result
) throws(ShakedownError) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Errno.lastError
        if error == .interrupted && retryOnInterrupt { continue }
        throw ShakedownError.systemCall(name(), errno: error)
    }
}

/// Like ``syscall(_:retryOnInterrupt:_:)`` but for the pthread style: the call returns 0 or an errno value.
@inline(never)
package func pthreadCall(_ name: @autoclosure () -> String, _ body: () -> CInt) throws(ShakedownError) {
    let result = body()
    if result != 0 { throw ShakedownError.systemCall(name(), errno: Errno(rawValue: result)) }
}

/// The current monotonic clock in nanoseconds (CLOCK_MONOTONIC; unaffected by wall-clock changes).
package func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

extension Duration {
    /// Whole nanoseconds, saturating at Int64.min and Int64.max (about ±292 years) instead of trapping.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        // `components` gives attoseconds with the sign of seconds, so the sum can still cross a bound.
        let (total, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? Int64.min : Int64.max }
        return total
    }

    /// The CLOCK_MONOTONIC reading in nanoseconds this long after `start`, saturating at Int64.max (a
    /// deadline that never comes) instead of trapping; a negative duration gives `start`.
    package func deadline(after start: Int64) -> Int64 {
        let (sum, overflow) = start.addingReportingOverflow(max(nanoseconds, 0))
        return overflow ? Int64.max : sum
    }
}

extension Errno {
    /// The calling thread's `errno`, read now.
    package static var lastError: Errno { Errno(rawValue: errno) }
}
