#if canImport(Glibc)
import Glibc
#endif

/// What a queue's `get` found.
public enum Dequeued<Element> {
    /// The oldest item.
    case item(Element)
    /// The queue stayed empty for the whole timeout.
    case timedOut
    /// The queue is closed and empty: no item will ever come.
    case closed

    /// The item, or `nil` for a timeout or a closed queue.
    public var item: Element? {
        if case let .item(element) = self { return element }
        return nil
    }
}

extension Dequeued: Sendable where Element: Sendable {}
extension Dequeued: Equatable where Element: Equatable {}

/// A bounded FIFO of `Codable` values shared by processes: the `Queue` of classic multiprocessing.
///
/// Create it before forking; every process forked afterwards can ``put(_:timeout:)`` and ``get(timeout:)``. Items
/// live in shared memory (a ring of `capacity` slots of `maximumItemBytes` each, guarded by a robust
/// process-shared mutex), so there is no feeder thread and nothing is lost when a producer exits right after a
/// put. A process that dies inside put or get leaves the queue consistent (``QueueStatistics/lockOwnerDeaths``
/// counts it). An item counts as delivered when `get` returns it: use ``JoinableProcessQueue`` when a consumer
/// that dies holding an item must be noticed.
///
/// Cost: `capacity × maximumItemBytes` bytes of shared memory (pages are touched as slots are used); a put or
/// get is one lock, one copy and the ``CompactEncoder`` encoding, plus a futex wake when someone waits.
public final class ProcessQueue<Element: Codable>: @unchecked Sendable {
    let storage: QueueStorage
    private let encoder = CompactEncoder()

    /// Creates an empty queue holding at most `capacity` items, each encoding to at most `maximumItemBytes`.
    /// - Throws: `.invalidArgument("capacity")` / `("maximumItemBytes")` out of range (1 ... 2^20 items,
    ///   1 ... 16 MiB, 4 GiB in all), or a failed `mmap`.
    public init(capacity: Int = 1024, maximumItemBytes: Int = 4096) throws(ShakedownError) {
        storage = try QueueStorage(capacity: capacity, maximumItemBytes: maximumItemBytes, heldCapacity: 0)
    }

    init(storage: QueueStorage) { self.storage = storage }

    /// Appends `value`, waiting at most `timeout` while the queue is full (zero: do not wait).
    /// Returns `false` when the queue stayed full.
    /// - Throws: `.invalidArgument("value")` when `value` cannot be encoded or is larger than `maximumItemBytes`
    ///   (the message names the limit); `.invalidArgument("queue")` after ``close()``.
    @discardableResult
    public func put(_ value: Element, timeout: Duration = .seconds(60)) throws(ShakedownError) -> Bool {
        let frame = try ToolboxFrame.encode(value, limit: storage.maximumItemBytes, limitName: "maximumItemBytes", encoder: encoder)
        return try storage.put(frame, timeout: timeout)
    }

    /// Takes the oldest item, waiting at most `timeout` while the queue is empty (zero: do not wait).
    /// On a closed queue, returns the remaining items, then ``Dequeued/closed`` at once.
    /// - Throws: `.malformedData` when the bytes do not decode as `Element` (another type was put).
    public func get(timeout: Duration = .seconds(60)) throws(ShakedownError) -> Dequeued<Element> {
        try decode(storage.get(timeout: timeout, holder: 0))
    }

    func decode(_ taken: QueueStorage.Taken) throws(ShakedownError) -> Dequeued<Element> {
        switch taken {
        case let .bytes(bytes):
            do { return .item(try CompactDecoder().decode(Element.self, from: bytes)) } catch {
                throw ShakedownError(.malformedData(source: "queue", reason: "not a \(Element.self): \(error)"))
            }
        case .timedOut: return .timedOut
        case .closed: return .closed
        }
    }

    /// Closes the queue for every process: later puts throw, gets drain what is left and then return
    /// ``Dequeued/closed`` instead of waiting. Waiting producers and consumers wake up. Idempotent.
    public func close() { storage.close() }

    /// Counts read together under the lock.
    public var statistics: QueueStatistics { storage.statistics }

    /// Items queued now (a snapshot).
    public var count: Int { statistics.count }
}
