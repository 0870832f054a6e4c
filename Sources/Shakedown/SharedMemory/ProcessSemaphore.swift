#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// A counting semaphore shared by processes (a `sem_t` initialized with `pshared = 1` in shared memory).
///
/// Create it before forking. ``wait(timeout:)`` always has a deadline so a lost ``signal()`` shows up as a
/// `false`, not as a frozen test. Costs one page of shared memory; uncontended wait/signal are single atomics.
public final class ProcessSemaphore: @unchecked Sendable {
    private let region: SharedRegion
    private let semaphore: UnsafeMutablePointer<sem_t>

    /// Creates a semaphore holding `value` permits.
    public init(value: Int = 0) throws(ShakedownError) {
        guard value >= 0, value <= Int(Int32.max) else {
            throw .invalidArgument("value", "must be between 0 and \(Int32.max), got \(value)")
        }
        region = try SharedRegion(size: MemoryLayout<sem_t>.size, name: "shakedown-semaphore")
        semaphore = try region.allocate(byteCount: MemoryLayout<sem_t>.size, alignment: 16)
            .bindMemory(to: sem_t.self, capacity: 1)
        try syscall("sem_init") { sem_init(semaphore, 1, UInt32(value)) }
    }

    deinit { sem_destroy(semaphore) }

    /// Adds a permit, waking one waiter. The corresponding C function is `sem_post(3)`.
    public func signal() throws(ShakedownError) {
        try syscall("sem_post") { sem_post(semaphore) }
    }

    /// Takes a permit, waiting at most `timeout`. Returns `false` when the time ran out.
    /// The corresponding C function is `sem_timedwait(3)`.
    public func wait(timeout: Duration) throws(ShakedownError) -> Bool {
        guard timeout >= .zero else { throw .invalidArgument("timeout", "must not be negative, got \(timeout)") }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        let total = Int64(deadline.tv_nsec) + timeout.nanoseconds
        deadline.tv_sec += time_t(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        while true {
            if sem_timedwait(semaphore, &deadline) == 0 { return true }
            switch Errno.lastError {
            case .interrupted: continue
            case .timedOut: return false
            case let error: throw .systemCall("sem_timedwait", errno: error)
            }
        }
    }

    /// The permits available now (a snapshot; it may change at once).
    public var value: Int {
        var current: CInt = 0
        sem_getvalue(semaphore, &current)
        return Int(current)
    }
}
