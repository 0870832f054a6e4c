#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import SystemPackage

/// A counting semaphore shared by processes (a `sem_t` initialized with `pshared = 1` in shared memory).
///
/// Create it before forking. ``wait(timeout:)`` always has a deadline so a lost ``signal()`` shows up as a
/// `false`, not as a frozen test. Costs one page of shared memory; uncontended wait/signal are single atomics,
/// plus two more for the holder count.
///
/// Used as a lock that admits several holders (every holder calls ``wait(timeout:)`` and later ``signal()``),
/// it records how many held a permit at once: ``holders`` now and ``highWaterMark`` at most, across every
/// process, so a test can assert "never more than 3 at once". A holder is counted from the moment its wait
/// returns until it calls signal, so the recorded count never exceeds the true one. A signal while nobody is
/// counted as a holder (a double release, or permits handed out with signal after creation) does not make the
/// count negative, which would hide that many later holders from the mark; it is counted in
/// ``unmatchedSignals`` instead, so the mark never falls below the true number of holders either.
public final class ProcessSemaphore: @unchecked Sendable {
    private let region: SharedRegion
    private let semaphore: UnsafeMutablePointer<sem_t>
    /// [0]: holders now (successful waits minus matched signals, never negative), [1]: the highest value [0]
    /// reached, [2]: signals made while [0] was 0 (see ``unmatchedSignals``).
    private let counts: UnsafeMutablePointer<Int64>

    /// Creates a semaphore holding `value` permits.
    public init(value: Int = 0) throws(ShakedownError) {
        guard value >= 0, value <= Int(Int32.max) else {
            throw .invalidArgument("value", "must be between 0 and \(Int32.max), got \(value)")
        }
        region = try SharedRegion(size: MemoryLayout<sem_t>.size, name: "shakedown-semaphore")
        semaphore = try region.allocate(byteCount: MemoryLayout<sem_t>.size, alignment: 16)
            .bindMemory(to: sem_t.self, capacity: 1)
        counts = try region.allocate(byteCount: 3 * MemoryLayout<Int64>.stride, alignment: 8)
            .bindMemory(to: Int64.self, capacity: 3)
        try syscall("sem_init") { sem_init(semaphore, 1, UInt32(value)) }
    }

    deinit { sem_destroy(semaphore) }

    /// Adds a permit, waking one waiter. The corresponding C function is `sem_post(3)`.
    public func signal() throws(ShakedownError) {
        // Counted out before the post: the permit may be taken by another process the moment it is posted.
        let countedHolder = shakedown_high_water_leave_held(counts, counts + 2)
        do throws(ShakedownError) {
            try syscall("sem_post") { sem_post(semaphore) }
        } catch {
            shakedown_high_water_undo_leave(counts, counts + 2, countedHolder)
            throw error
        }
    }

    /// Takes a permit, waiting at most `timeout`. Returns `false` when the time ran out.
    /// The corresponding C function is `sem_timedwait(3)`.
    public func wait(timeout: Duration) throws(ShakedownError) -> Bool {
        guard timeout >= .zero else { throw .invalidArgument("timeout", "must not be negative, got \(timeout)") }
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        // Saturating: a timeout of years must wait "forever", not trap on overflow.
        let total = timeout.deadline(after: Int64(deadline.tv_nsec))
        let (seconds, overflow) = Int64(deadline.tv_sec).addingReportingOverflow(total / 1_000_000_000)
        deadline.tv_sec = time_t(overflow ? Int64.max : seconds)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        while true {
            if sem_timedwait(semaphore, &deadline) == 0 {
                _ = shakedown_high_water_enter(counts, counts + 1)
                return true
            }
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

    /// Processes holding a permit now: successful waits minus the signals that ended one, over every process (a
    /// snapshot). Never negative; meaningless when the semaphore is used for signalling (signal before wait)
    /// rather than as a lock.
    public var holders: Int { Int(shakedown_atomic_load(counts)) }

    /// Signals made while no holder was counted: each added a permit beyond those given at creation (a double
    /// release, an error path that signals without having waited, or permits handed out with signal on purpose).
    /// A test of lock-style use can assert it is 0. Counted over every process since creation.
    public var unmatchedSignals: Int { Int(shakedown_atomic_load(counts + 2)) }

    /// The highest ``holders`` ever reached since creation (or the last ``resetHighWaterMark()``).
    public var highWaterMark: Int { Int(shakedown_atomic_load(counts + 1)) }

    /// Starts a new measurement: the high-water mark becomes the current number of holders.
    public func resetHighWaterMark() {
        shakedown_atomic_store(counts + 1, shakedown_atomic_load(counts))
    }

    /// Takes a permit (waiting at most `timeout`), runs `body`, and gives the permit back, also when `body`
    /// throws. Returns `nil` without running `body` when no permit came in time.
    public func withPermit<Result>(timeout: Duration, _ body: () throws -> Result) throws -> Result? {
        guard try wait(timeout: timeout) else { return nil }
        defer { try? signal() }
        return try body()
    }
}
