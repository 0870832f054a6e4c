#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// A `Codable` value — a dictionary, a list, a struct — shared by processes and updated atomically under a lock:
/// what a multiprocessing `Manager().dict()` / `.list()` / `Value` is used for, without a manager process.
///
/// The value lives encoded (``CompactEncoder``) in shared memory next to a robust ``ProcessMutex``. ``update(_:)``
/// decodes it, runs your closure, encodes the result and commits it with a single index flip between two
/// buffers, so a process that dies mid-update (even holding the lock) leaves the previous value intact;
/// ``lockOwnerDeaths`` counts such deaths.
///
/// Size limit: the encoded value may take at most `maximumBytes` bytes (default 64 KiB, at most 256 MiB). An
/// update or initial value that would exceed it throws `.invalidArgument("value")` naming the limit, and the
/// shared value stays unchanged.
///
/// Cost: `2 × maximumBytes` of shared memory plus a page; each read or update decodes (and each update encodes)
/// the whole value — fine for test state of a few KiB, not a database.
public final class SharedObject<Value: Codable>: @unchecked Sendable {
    /// The largest encoding the value may take, in bytes.
    public let maximumBytes: Int
    private let lock: ProcessMutex
    private let region: SharedRegion
    /// [0]: active buffer (0/1), [1], [2]: lengths of buffers 0 and 1, [3]: committed updates. Any process can
    /// scribble over it (a wild write in the code under test), so every read checks it before using it as an
    /// index or a length.
    let header: UnsafeMutablePointer<Int64>
    private let buffers: UnsafeMutableRawPointer

    /// Shares `initial`.
    /// - Throws: `.invalidArgument("maximumBytes")` out of 1 ... 256 MiB, `.invalidArgument("value")` when
    ///   `initial` cannot be encoded or exceeds `maximumBytes`, or a failed `mmap`.
    public init(_ initial: Value, maximumBytes: Int = 64 << 10, name: String = "shared-object") throws(ShakedownError) {
        guard maximumBytes > 0, maximumBytes <= 256 << 20 else {
            throw .invalidArgument("maximumBytes", "must be between 1 and \(256 << 20), got \(maximumBytes)")
        }
        self.maximumBytes = maximumBytes
        lock = try ProcessMutex(name: name)
        region = try SharedRegion(size: 64 + 2 * maximumBytes, name: "shakedown-object")
        header = try region.allocate(byteCount: 64, alignment: 64).bindMemory(to: Int64.self, capacity: 4)
        buffers = try region.allocate(byteCount: 2 * maximumBytes, alignment: 16)
        try commit(initial)
        header[3] = 0
    }

    /// The current value (decoded under the lock).
    /// - Throws: a lock failure, or `.malformedData` if the shared bytes do not decode (they always should).
    public func read() throws(ShakedownError) -> Value {
        try lock.lock()
        defer { try? lock.unlock() }
        return try decodeActive()
    }

    /// Runs `body` on the value under the lock and commits what it leaves, atomically for every process.
    /// Returns what `body` returns. When `body` throws, or the result is too large, nothing is committed.
    /// - Throws: what `body` throws; `.invalidArgument("value")` naming ``maximumBytes`` when the new value's
    ///   encoding is larger.
    @discardableResult
    public func update<Result>(_ body: (inout Value) throws -> Result) throws -> Result {
        try lock.lock()
        defer { try? lock.unlock() }
        var value = try decodeActive()
        let result = try body(&value)
        try commit(value)
        return result
    }

    /// Replaces the value without reading the old one, so it also repairs a shared header that ``read()`` reports
    /// as overwritten.
    /// - Throws: a lock failure; `.invalidArgument("value")` naming ``maximumBytes`` when the encoding is larger.
    public func set(_ value: Value) throws {
        try lock.lock()
        defer { try? lock.unlock() }
        try commit(value)
    }

    /// Updates committed so far, by every process.
    public var updates: Int { Int(shakedown_atomic_load(header + 3)) }

    /// Times a process died holding the lock (its half-done update was discarded).
    public var lockOwnerDeaths: Int { lock.ownerDeaths }

    /// The encoded size of the current value, in bytes; 0 when the shared header was overwritten with garbage
    /// (``read()`` then says what is wrong).
    public var encodedBytes: Int { (try? activeBuffer())?.length ?? 0 }

    /// The committed buffer and its length, checked: a garbage index or length used to read outside the region
    /// (a crash, or bytes from elsewhere decoded as the value).
    private func activeBuffer() throws(ShakedownError) -> (index: Int, length: Int) {
        let active = shakedown_atomic_load(header)
        guard active == 0 || active == 1 else {
            throw ShakedownError(.malformedData(source: "shared object", reason: "its active-buffer index is \(active), not 0 or 1: its shared header was overwritten"))
        }
        let length = shakedown_atomic_load(header + 1 + Int(active))
        guard length >= 0, length <= Int64(maximumBytes) else {
            throw ShakedownError(.malformedData(source: "shared object", reason: "its committed length is \(length) bytes, outside 0...\(maximumBytes) (maximumBytes): its shared header was overwritten"))
        }
        return (Int(active), Int(length))
    }

    private func decodeActive() throws(ShakedownError) -> Value {
        let (active, length) = try activeBuffer()
        let bytes = Array(UnsafeRawBufferPointer(start: buffers + active * maximumBytes, count: length))
        do { return try CompactDecoder().decode(Value.self, from: bytes) } catch {
            throw ShakedownError(.malformedData(source: "shared object", reason: "not a \(Value.self): \(error)"))
        }
    }

    /// Writes `value` into the inactive buffer, then flips: the flip is the commit.
    private func commit(_ value: Value) throws(ShakedownError) {
        let frame = try ToolboxFrame.encode(value, limit: maximumBytes, limitName: "maximumBytes")
        // Not `1 - active`: after a garbage index that would point outside the region.
        let next = shakedown_atomic_load(header) == 0 ? 1 : 0
        frame.withUnsafeBytes { raw in
            (buffers + next * maximumBytes).copyMemory(from: raw.baseAddress.map { $0 + 4 } ?? UnsafeRawPointer(buffers), byteCount: raw.count - 4)
        }
        shakedown_atomic_store(header + 1 + next, Int64(frame.count - 4))
        shakedown_atomic_store(header, Int64(next))
        _ = shakedown_atomic_fetch_add(header + 3, 1)
    }
}
