import CShakedown

/// A 64-bit counter in shared memory that several processes increment, either atomically or racily.
///
/// ``increment(by:)`` is one atomic read-modify-write: no update is ever lost. ``racyIncrement()`` is the classic
/// unlocked `a += 1`: a plain load, a jitter point, a plain store. The load and store are opaque calls into C, so
/// an optimizing build cannot fold them into one instruction and hide the race. Call it inside a worker to show
/// how many updates an unsynchronized counter loses; guard it with a ``ProcessMutex`` to show that none are.
public final class SharedCounter: @unchecked Sendable {
    /// A label used in reports ("hits").
    public let name: String
    private let region: SharedRegion?
    package let storage: UnsafeMutablePointer<Int64>

    /// Creates a counter in a shared region of its own.
    public convenience init(_ name: String = "counter", initialValue: Int64 = 0) throws(ShakedownError) {
        let region = try SharedRegion(size: 64, name: "shakedown-counter")
        let address = try region.allocate(byteCount: 8, alignment: 8)
        self.init(name: name, storage: address.bindMemory(to: Int64.self, capacity: 1), keeping: region)
        reset(to: initialValue)
    }

    /// Creates a counter inside `region` (which must outlive it).
    public convenience init(_ name: String = "counter", in region: SharedRegion, initialValue: Int64 = 0) throws(ShakedownError) {
        let address = try region.allocate(byteCount: 8, alignment: 8)
        self.init(name: name, storage: address.bindMemory(to: Int64.self, capacity: 1), keeping: region)
        reset(to: initialValue)
    }

    package init(name: String, storage: UnsafeMutablePointer<Int64>, keeping region: SharedRegion?) {
        self.name = name
        self.storage = storage
        self.region = region
    }

    /// The current value (an atomic, sequentially consistent load).
    public var value: Int64 { shakedown_atomic_load(storage) }

    /// Sets the value atomically.
    public func reset(to value: Int64 = 0) { shakedown_atomic_store(storage, value) }

    /// Adds `delta` atomically; never loses an update. Returns the previous value.
    @discardableResult
    public func increment(by delta: Int64 = 1) -> Int64 { shakedown_atomic_fetch_add(storage, delta) }

    /// The unlocked `a += 1`: load, `Jitter.point()`, store. Loses updates when processes interleave.
    public func racyIncrement() {
        let observed = shakedown_racy_load(storage)
        Jitter.point()
        shakedown_racy_store(storage, observed &+ 1)
    }

    /// ``racyIncrement()`` with an explicit jitter source instead of the worker's ambient one.
    public func racyIncrement(jitter: JitterSource) {
        let observed = shakedown_racy_load(storage)
        jitter.point()
        shakedown_racy_store(storage, observed &+ 1)
    }
}
