#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock that a wait must not pass; the toolbox's timeouts all become one of these.
package struct Deadline: Sendable {
    /// Monotonic nanoseconds (`CLOCK_MONOTONIC`).
    package let nanoseconds: Int64

    /// `timeout` from now. - Throws: `.invalidArgument(name)` when `timeout` is negative. A zero timeout is
    /// allowed and means "look once, do not wait".
    package init(after timeout: Duration, name: String = "timeout") throws(ShakedownError) {
        guard timeout >= .zero else { throw .invalidArgument(name, "must not be negative, got \(timeout)") }
        let (sum, overflow) = monotonicNanoseconds().addingReportingOverflow(timeout.nanoseconds)
        nanoseconds = overflow ? Int64.max : sum
    }

    /// Nanoseconds left, never negative.
    package var remaining: Int64 { max(0, nanoseconds - monotonicNanoseconds()) }

    /// Whether the deadline has passed.
    package var hasPassed: Bool { monotonicNanoseconds() >= nanoseconds }

    /// The time left as a `poll(2)` timeout: whole milliseconds, rounded up, capped at Int32.max.
    package var pollMilliseconds: CInt {
        let left = remaining
        return CInt(min(Int64(Int32.max), (left + 999_999) / 1_000_000))
    }
}

/// Waits until `fd` is readable (or hung up), at most until `deadline`. Returns false when the time ran out.
package func waitReadable(_ fd: CInt, until deadline: Deadline) throws(ShakedownError) -> Bool {
    while true {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, deadline.pollMilliseconds)
        if ready > 0 { return true }
        if ready == 0 { if deadline.hasPassed { return false } else { continue } }
        if errno == EINTR { continue }
        throw .systemCall("poll")
    }
}
