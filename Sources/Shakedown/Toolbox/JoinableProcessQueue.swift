#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// A ``ProcessQueue`` whose consumers mark each item done: the `JoinableQueue` of classic multiprocessing.
///
/// ``join(timeout:)`` returns once every item ever put was marked done with ``taskDone()``. Each taken item is
/// recorded with the taker's pid and a copy of its bytes until it is marked done, so a consumer that dies holding
/// an item is not a silent loss: `join` reports it (``JoinOutcome/holdersDied(_:)``, with the item), and
/// ``requeueAbandoned()`` puts such items back at the front of the queue.
///
/// Cost: as ``ProcessQueue``, plus `heldCapacity` records of `maximumItemBytes` each in shared memory. Items taken
/// while all records are in use are still counted (join waits for them) but their bytes are not kept.
public final class JoinableProcessQueue<Element: Codable>: @unchecked Sendable {
    private let queue: ProcessQueue<Element>
    private var storage: QueueStorage { queue.storage }

    /// An item whose taker died before marking it done.
    public struct AbandonedItem: Sendable {
        /// The process that took it.
        public var holder: Int32
        /// The item's encoded bytes.
        public var bytes: [UInt8]

        /// The item, decoded.
        public func value() throws(ShakedownError) -> Element {
            do { return try CompactDecoder().decode(Element.self, from: bytes) } catch {
                throw ShakedownError(.malformedData(source: "queue", reason: "not a \(Element.self): \(error)"))
            }
        }
    }

    /// How a join ended.
    public enum JoinOutcome: Sendable {
        /// Every item put was marked done.
        case done
        /// The timeout passed with `unfinished` items not marked done, and no holder found dead.
        case timedOut(unfinished: Int)
        /// These items' takers died before marking them done; they will never be done unless requeued.
        case holdersDied([AbandonedItem])
    }

    /// Creates an empty joinable queue; see ``ProcessQueue/init(capacity:maximumItemBytes:)``.
    /// - Parameters:
    ///   - capacity: how many items the queue holds at once, as in ``ProcessQueue/init(capacity:maximumItemBytes:)``.
    ///   - maximumItemBytes: the largest item, in bytes, as in ``ProcessQueue/init(capacity:maximumItemBytes:)``.
    ///   - heldCapacity: how many taken-but-not-done items keep a copy of their bytes (1 ... 4096).
    public init(capacity: Int = 1024, maximumItemBytes: Int = 4096, heldCapacity: Int = 64) throws(ShakedownError) {
        guard heldCapacity > 0, heldCapacity <= 4096 else {
            throw .invalidArgument("heldCapacity", "must be between 1 and 4096, got \(heldCapacity)")
        }
        queue = ProcessQueue(storage: try QueueStorage(capacity: capacity, maximumItemBytes: maximumItemBytes, heldCapacity: heldCapacity))
    }

    /// See ``ProcessQueue/put(_:timeout:)``.
    @discardableResult
    public func put(_ value: Element, timeout: Duration = .seconds(60)) throws(ShakedownError) -> Bool {
        try queue.put(value, timeout: timeout)
    }

    /// Takes the oldest item and records it as held by this process until ``taskDone()``.
    /// See ``ProcessQueue/get(timeout:)``.
    public func get(timeout: Duration = .seconds(60)) throws(ShakedownError) -> Dequeued<Element> {
        try queue.decode(storage.get(timeout: timeout, holder: getpid()))
    }

    /// Marks the oldest item this process holds as done.
    /// - Throws: `.invalidArgument("taskDone")` when this process holds no item (called more often than `get`).
    public func taskDone() throws(ShakedownError) {
        let result = shakedown_queue_task_done(storage.queue, getpid())
        switch result {
        case Int32(SHAKEDOWN_QUEUE_OK): return
        case Int32(SHAKEDOWN_QUEUE_NOT_HELD):
            throw .invalidArgument("taskDone", "process \(getpid()) holds no item: taskDone() called more times than get()")
        default: throw .systemCall("pthread_mutex_lock", errno: .init(rawValue: -result))
        }
    }

    /// Waits at most `timeout` until every item put was marked done (zero: check once). Every 20 ms it checks
    /// whether a holder died; if so it returns those items at once rather than waiting out the timeout.
    public func join(timeout: Duration) throws(ShakedownError) -> JoinOutcome {
        let deadline = try Deadline(after: timeout)
        while true {
            let slice = min(deadline.remaining, 20_000_000)
            let result = shakedown_queue_wait_done(storage.queue, slice)
            if result == 0 { return .done }
            if result != Int32(SHAKEDOWN_QUEUE_TIMED_OUT) { throw .systemCall("pthread_mutex_lock", errno: .init(rawValue: -result)) }
            let abandoned = abandonedItems()
            if !abandoned.isEmpty { return .holdersDied(abandoned) }
            if deadline.hasPassed { return .timedOut(unfinished: queue.statistics.unfinished) }
        }
    }

    /// Items held by processes that no longer run (gone, or a zombie not yet reaped).
    public func abandonedItems() -> [AbandonedItem] {
        storage.withLockedHeader { header in
            deadHolderRecords(header).map { index in
                let record = shakedown_queue_held_record(header, index)
                // Clamped with this process's own copy of the limit: the shared length may be garbage.
                let length = min(Int(record.pointee.length), storage.maximumItemBytes)
                let bytes = UnsafeRawBufferPointer(start: shakedown_queue_held_bytes(header, index), count: length)
                return AbandonedItem(holder: record.pointee.pid, bytes: Array(bytes))
            }
        }
    }

    /// Puts every item held by a dead process back at the front of the queue, to be taken again.
    /// Returns how many were given back.
    @discardableResult
    public func requeueAbandoned() -> Int {
        storage.withLockedHeader { header in
            let dead = deadHolderRecords(header)
            for index in dead { shakedown_queue_requeue_held_locked(header, index) }
            return dead.count
        }
    }

    private func deadHolderRecords(_ header: UnsafeMutablePointer<shakedown_queue>) -> [UInt32] {
        (0..<UInt32(storage.heldCapacity)).filter { index in
            let pid = shakedown_queue_held_record(header, index).pointee.pid
            return pid != 0 && !ProcessLiveness.isRunning(pid)
        }
    }

    /// See ``ProcessQueue/close()``.
    public func close() { queue.close() }

    /// Counts read together under the lock; ``QueueStatistics/unfinished`` is what join waits for.
    public var statistics: QueueStatistics { queue.statistics }
}

/// Whether a process still runs, from the kernel's view.
enum ProcessLiveness {
    /// `false` when `pid` is gone or a zombie (dead, waiting to be reaped).
    static func isRunning(_ pid: Int32) -> Bool {
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        guard let stat = ProcessTable.readSmallFile("/proc/\(pid)/stat") else { return false }
        // The state follows the last ')' (the command name may itself contain parentheses).
        guard let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].first { $0 != " " }
        return state != "Z" && state != "X"
    }
}
