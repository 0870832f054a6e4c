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
    /// Whole nanoseconds, saturating at Int64.max.
    package var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? Int64.min : Int64.max }
        return scaled &+ attoseconds / 1_000_000_000
    }
}

extension Errno {
    /// The calling thread's `errno`, read now.
    package static var lastError: Errno { Errno(rawValue: errno) }
}
