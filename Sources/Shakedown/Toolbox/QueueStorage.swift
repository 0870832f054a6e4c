#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// The shared-memory ring behind ``ProcessQueue`` and ``JoinableProcessQueue`` (a `shakedown_queue` in its own
/// region); it moves byte strings, the queues add the encoding.
package final class QueueStorage: @unchecked Sendable {
    let region: SharedRegion
    let queue: UnsafeMutablePointer<shakedown_queue>
    let capacity: Int
    let maximumItemBytes: Int
    let heldCapacity: Int

    init(capacity: Int, maximumItemBytes: Int, heldCapacity: Int) throws(ShakedownError) {
        guard capacity > 0, capacity <= 1 << 20 else {
            throw .invalidArgument("capacity", "must be between 1 and \(1 << 20) items, got \(capacity)")
        }
        guard maximumItemBytes > 0, maximumItemBytes <= 1 << 24 else {
            throw .invalidArgument("maximumItemBytes", "must be between 1 and \(1 << 24), got \(maximumItemBytes)")
        }
        let size = shakedown_queue_size(UInt32(capacity), UInt32(maximumItemBytes), UInt32(heldCapacity))
        guard size <= 1 << 32 else {
            throw .invalidArgument("capacity", "\(capacity) items of up to \(maximumItemBytes) bytes need \(size) bytes of shared memory, more than the 4 GiB limit")
        }
        region = try SharedRegion(size: Int(size), name: "shakedown-queue")
        let queue = try region.allocate(byteCount: Int(size), alignment: 64).bindMemory(to: shakedown_queue.self, capacity: 1)
        try pthreadCall("pthread_mutex_init") {
            shakedown_queue_init(queue, UInt32(capacity), UInt32(maximumItemBytes), UInt32(heldCapacity))
        }
        self.queue = queue
        self.capacity = capacity
        self.maximumItemBytes = maximumItemBytes
        self.heldCapacity = heldCapacity
    }

    /// `false` when the time ran out.
    func put(_ frame: [UInt8], timeout: Duration) throws(ShakedownError) -> Bool {
        let deadline = try Deadline(after: timeout)
        // The frame's first 4 bytes are its length prefix; the ring stores its own.
        let result = frame.withUnsafeBytes { raw in
            shakedown_queue_put(queue, raw.baseAddress.map { $0 + 4 }, UInt32(raw.count - 4), deadline.remaining)
        }
        switch result {
        case Int32(SHAKEDOWN_QUEUE_OK): return true
        case Int32(SHAKEDOWN_QUEUE_TIMED_OUT): return false
        case Int32(SHAKEDOWN_QUEUE_CLOSED): throw .invalidArgument("queue", "put after close(): the queue accepts no more items")
        case Int32(SHAKEDOWN_QUEUE_TOO_LARGE):
            throw .invalidArgument("value", "its encoding is \(frame.count - 4) bytes, more than the maximumItemBytes limit of \(maximumItemBytes) bytes")
        default: throw .systemCall("pthread_mutex_lock", errno: .init(rawValue: -result))
        }
    }

    enum Taken { case bytes([UInt8]), timedOut, closed }

    func get(timeout: Duration, holder: Int32) throws(ShakedownError) -> Taken {
        let deadline = try Deadline(after: timeout)
        var length: UInt32 = 0
        var bytes = [UInt8](repeating: 0, count: maximumItemBytes)
        let result = bytes.withUnsafeMutableBytes { raw -> CInt in
            guard let base = raw.baseAddress else { return CInt(SHAKEDOWN_QUEUE_TIMED_OUT) }
            return shakedown_queue_get(queue, base, UInt32(clamping: raw.count), &length, deadline.remaining, holder)
        }
        switch result {
        case Int32(SHAKEDOWN_QUEUE_OK):
            bytes.removeLast(bytes.count - min(Int(length), bytes.count))
            return .bytes(bytes)
        case Int32(SHAKEDOWN_QUEUE_TIMED_OUT): return .timedOut
        case Int32(SHAKEDOWN_QUEUE_CLOSED): return .closed
        default: throw .systemCall("pthread_mutex_lock", errno: .init(rawValue: -result))
        }
    }

    func close() { shakedown_queue_close(queue) }

    /// Reads header fields under the lock.
    func withLockedHeader<Result>(_ body: (UnsafeMutablePointer<shakedown_queue>) -> Result) -> Result {
        _ = shakedown_queue_lock(queue)
        defer { shakedown_queue_unlock(queue) }
        return body(queue)
    }

    var statistics: QueueStatistics {
        withLockedHeader { queue in
            QueueStatistics(count: Int(queue.pointee.tail - queue.pointee.head), puts: Int(queue.pointee.puts),
                            gets: Int(queue.pointee.gets), highWaterMark: Int(queue.pointee.high_water),
                            isClosed: queue.pointee.closed != 0, unfinished: Int(queue.pointee.unfinished),
                            lockOwnerDeaths: Int(queue.pointee.lock.owner_died_count))
        }
    }
}

/// Counts a test can assert on, read together under the queue's lock.
public struct QueueStatistics: Equatable, Sendable {
    /// Items queued now.
    public var count: Int
    /// Items ever put.
    public var puts: Int
    /// Items ever taken.
    public var gets: Int
    /// The most items queued at once.
    public var highWaterMark: Int
    /// Whether ``ProcessQueue/close()`` was called (by any process).
    public var isClosed: Bool
    /// Items put and not yet marked done (meaningful for ``JoinableProcessQueue``).
    public var unfinished: Int
    /// Times a process died while holding the queue's lock (the queue stays consistent; the count says it happened).
    public var lockOwnerDeaths: Int
}
