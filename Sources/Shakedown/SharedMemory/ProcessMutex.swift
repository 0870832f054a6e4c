#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import SystemPackage

/// A robust, process-shared mutex that records its owner, so a dead owner is reported instead of hung on.
///
/// Built on a `PTHREAD_PROCESS_SHARED`, `PTHREAD_MUTEX_ROBUST`, error-checking pthread mutex in a memfd mapping
/// named `shakedown-mutex`. The mapping also holds the owner's pid and tid, the threads waiting for it, and the
/// mutex's name: `shakedown diagnose` and the hang report read these from a frozen process to explain a
/// deadlock in words. When the owner dies holding the lock, the next ``lock()`` succeeds with
/// ``Acquisition/previousOwnerDied`` (the state is made consistent) and ``ownerDeaths`` counts it.
///
/// Costs one page of shared memory. An uncontended lock/unlock is two atomic operations plus the owner
/// bookkeeping (well under a microsecond).
public final class ProcessMutex: @unchecked Sendable {
    /// How a lock was obtained.
    public enum Acquisition: Equatable, Sendable {
        /// The mutex was free or released normally.
        case acquired
        /// The previous owner died while holding it; data it guarded may be half-updated.
        case previousOwnerDied
    }

    /// The name shown in deadlock reports ("accounts").
    public let name: String
    private let region: SharedRegion?
    package let record: UnsafeMutablePointer<shakedown_mutex_record>

    /// Creates an unlocked mutex named `name` (at most 63 bytes are kept).
    public init(name: String = "mutex") throws(ShakedownError) {
        self.name = name
        let region = try SharedRegion(size: MemoryLayout<shakedown_mutex_record>.size, name: "shakedown-mutex")
        self.region = region
        record = try region.allocate(byteCount: MemoryLayout<shakedown_mutex_record>.size, alignment: 16)
            .bindMemory(to: shakedown_mutex_record.self, capacity: 1)
        try pthreadCall("pthread_mutex_init") { shakedown_mutex_init(record, name) }
    }

    /// Wraps an initialized record that lives inside `region` (a run's control block).
    package init(name: String, record: UnsafeMutablePointer<shakedown_mutex_record>, keeping region: SharedRegion?) {
        self.name = name
        self.record = record
        self.region = region
    }

    /// Blocks until the calling thread owns the mutex.
    ///
    /// - Throws: `.systemCall("pthread_mutex_lock")` with `EDEADLK` when the caller already owns it, or with
    ///   `ENOTRECOVERABLE` when an earlier owner death was not recovered.
    @discardableResult
    public func lock() throws(ShakedownError) -> Acquisition {
        try acquisition(shakedown_mutex_lock(record, -1), call: "pthread_mutex_lock")
    }

    /// Like ``lock()`` but gives up after `timeout`; returns `nil` then.
    public func lock(timeout: Duration) throws(ShakedownError) -> Acquisition? {
        guard timeout >= .zero else { throw .invalidArgument("timeout", "must not be negative, got \(timeout)") }
        let result = shakedown_mutex_lock(record, timeout.nanoseconds)
        if result == -ETIMEDOUT { return nil }
        return try acquisition(result, call: "pthread_mutex_timedlock")
    }

    private func acquisition(_ result: CInt, call: String) throws(ShakedownError) -> Acquisition {
        switch result {
        case Int32(SHAKEDOWN_MUTEX_ACQUIRED): return .acquired
        case Int32(SHAKEDOWN_MUTEX_ACQUIRED_OWNER_DIED): return .previousOwnerDied
        default: throw .systemCall(call, errno: Errno(rawValue: -result))
        }
    }

    /// Releases the mutex. - Throws: `.systemCall("pthread_mutex_unlock")` with `EPERM` when the caller does not own it.
    public func unlock() throws(ShakedownError) {
        let result = shakedown_mutex_unlock(record)
        if result != 0 { throw .systemCall("pthread_mutex_unlock", errno: Errno(rawValue: -result)) }
    }

    /// Runs `body` while holding the mutex and releases it afterwards, also when `body` throws.
    public func withLock<Result>(_ body: () throws -> Result) throws -> Result {
        try lock()
        defer { try? unlock() }
        return try body()
    }

    /// How many times a locker found that the previous owner had died holding the mutex.
    public var ownerDeaths: Int {
        Int(withUnsafeMutablePointer(to: &record.pointee.owner_died_count) { shakedown_atomic_load_u32($0) })
    }

    /// How many times the mutex was acquired, by any process.
    public var acquisitions: Int {
        Int(withUnsafeMutablePointer(to: &record.pointee.acquisitions) { pointer in
            UnsafeMutableRawPointer(pointer).withMemoryRebound(to: Int64.self, capacity: 1) { shakedown_atomic_load($0) }
        })
    }

    /// The process and thread holding the mutex now, or `nil` when it is free.
    public var owner: (pid: Int32, tid: Int32)? {
        let pid = withUnsafeMutablePointer(to: &record.pointee.owner_pid) { shakedown_atomic_load32($0) }
        let tid = withUnsafeMutablePointer(to: &record.pointee.owner_tid) { shakedown_atomic_load32($0) }
        return pid == 0 ? nil : (pid, tid)
    }
}

