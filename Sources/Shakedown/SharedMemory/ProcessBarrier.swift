import CShakedown

/// A reusable barrier for a fixed number of processes: each ``arriveAndWait(timeout:)`` returns once all
/// parties have arrived.
///
/// Waiters spin briefly (a 2-process round trip costs well under a microsecond on idle cores), then yield, then
/// sleep on a futex, so an oversubscribed machine is not burned. When a party leaves for good, ``break(by:)`` wakes
/// everyone with ``Outcome/broken(by:)`` instead of leaving them waiting.
public final class ProcessBarrier: @unchecked Sendable {
    /// What a wait ended with.
    public enum Outcome: Equatable, Sendable {
        /// Everyone arrived.
        case released
        /// The barrier was broken by the party with this index; it will not release again.
        case broken(by: Int)
        /// The timeout passed first.
        case timedOut
    }

    private let region: SharedRegion?
    package let barrier: UnsafeMutablePointer<shakedown_barrier>

    /// Creates a barrier for `parties` processes (at least 1).
    /// - Parameters:
    ///   - parties: how many processes meet at the barrier (1...Int32.max).
    ///   - spinLimit: busy-wait iterations before yielding; 0 sleeps at once.
    public convenience init(parties: Int, spinLimit: Int = 20_000) throws(ShakedownError) {
        guard parties >= 1, parties <= Int(Int32.max) else {
            throw .invalidArgument("parties", "must be at least 1, got \(parties)")
        }
        guard spinLimit >= 0, spinLimit <= Int(Int32.max) else {
            throw .invalidArgument("spinLimit", "must not be negative, got \(spinLimit)")
        }
        let region = try SharedRegion(size: MemoryLayout<shakedown_barrier>.size, name: "shakedown-barrier")
        let pointer = try region.allocate(byteCount: MemoryLayout<shakedown_barrier>.size, alignment: 16)
            .bindMemory(to: shakedown_barrier.self, capacity: 1)
        shakedown_barrier_init(pointer, UInt32(parties), UInt32(spinLimit))
        self.init(pointer, keeping: region)
    }

    package init(_ barrier: UnsafeMutablePointer<shakedown_barrier>, keeping region: SharedRegion?) {
        self.barrier = barrier
        self.region = region
    }

    /// Waits for all parties; a negative or `nil` timeout waits without limit.
    @discardableResult
    public func arriveAndWait(timeout: Duration? = nil) -> Outcome {
        arrive(timeout: timeout) {}
    }

    /// Waits for all parties; the last to arrive runs `action` before anyone is released (the others are still
    /// waiting, so `action` sees a quiet state).
    package func arrive(timeout: Duration? = nil, action: () -> Void) -> Outcome {
        switch shakedown_barrier_arrive(barrier, timeout?.nanoseconds ?? -1) {
        case Int32(SHAKEDOWN_BARRIER_LAST):
            action()
            shakedown_barrier_release(barrier)
            return .released
        case Int32(SHAKEDOWN_BARRIER_RELEASED):
            return .released
        case Int32(SHAKEDOWN_BARRIER_TIMED_OUT):
            return .timedOut
        default:
            return .broken(by: brokenBy ?? -1)
        }
    }

    /// Breaks the barrier on behalf of party `index`: every current and future waiter returns `.broken`.
    public func `break`(by index: Int) {
        shakedown_barrier_break(barrier, UInt32(truncatingIfNeeded: max(index, 0)))
    }

    /// The index of the party that broke the barrier, if it is broken.
    public var brokenBy: Int? {
        let value = withUnsafeMutablePointer(to: &barrier.pointee.broken) { shakedown_atomic_load_u32($0) }
        return value == 0 ? nil : Int(value) - 1
    }
}
