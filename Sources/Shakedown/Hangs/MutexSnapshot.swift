#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CShakedown

/// A thread named by its process id and kernel thread id.
public struct ThreadID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The process (thread group) id.
    public var pid: Int32
    /// The kernel thread id.
    public var tid: Int32

    /// A thread of a process.
    public init(pid: Int32, tid: Int32) {
        self.pid = pid
        self.tid = tid
    }

    /// Orders by process, then thread.
    public static func < (lhs: ThreadID, rhs: ThreadID) -> Bool { (lhs.pid, lhs.tid) < (rhs.pid, rhs.tid) }

    /// `pid 4711 / thread 4712`.
    public var description: String { "pid \(pid) / thread \(tid)" }
}

/// A Shakedown process mutex (`shakedown_mutex_record`) as read from a process that maps it.
///
/// The record sits at offset 0 of a memfd named "shakedown-mutex"; several processes that map the same memfd
/// see the same mutex, identified by `device` and `inode`.
public struct MutexSnapshot: Hashable, Sendable, Codable {
    /// The name given at creation (`"accounts"`).
    public var name: String
    /// The device of the memfd, "major:minor" in hex as /proc/PID/maps prints it.
    public var device: String
    /// The memfd's inode: with `device`, the mutex's identity across processes.
    public var inode: UInt64
    /// The thread holding it, nil when unlocked.
    public var owner: ThreadID?
    /// Whether `owner` still exists; nil when unlocked. A dead owner means the next locker recovers the mutex
    /// (it is robust) — or, if nobody locks it, that work the owner did under it was cut off.
    public var ownerIsAlive: Bool?
    /// Threads blocked in `lock()` when the record was read.
    public var waiters: [ThreadID]
    /// Successful `lock()` calls so far.
    public var acquisitions: UInt64
    /// Times a locker found the previous owner dead.
    public var ownerDiedCount: UInt32

    /// A mutex record as read from a process (capture does this).
    public init(
        name: String, device: String, inode: UInt64, owner: ThreadID?, ownerIsAlive: Bool?, waiters: [ThreadID],
        acquisitions: UInt64 = 0, ownerDiedCount: UInt32 = 0
    ) {
        self.name = name
        self.device = device
        self.inode = inode
        self.owner = owner
        self.ownerIsAlive = ownerIsAlive
        self.waiters = waiters
        self.acquisitions = acquisitions
        self.ownerDiedCount = ownerDiedCount
    }

    /// The memfd name the mutex's memory carries in /proc/PID/maps ("/memfd:shakedown-mutex (deleted)").
    static let memfdName = "shakedown-mutex"

    /// Reads every Shakedown mutex `pid` maps, through /proc/PID/mem. Records with a wrong magic are skipped;
    /// each (device, inode) is read once.
    static func read(pid: Int32, maps: ProcessMaps) -> (mutexes: [MutexSnapshot], problems: [String]) {
        let candidates = maps.mappings.filter {
            $0.fileOffset == 0 && $0.path.hasPrefix("/memfd:\(memfdName)")
                && $0.end - $0.start >= UInt64(MemoryLayout<shakedown_mutex_record>.size)
        }
        guard !candidates.isEmpty else { return ([], []) }
        let descriptor = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            return ([], ["could not open /proc/\(pid)/mem to read its mutexes: errno \(errno)"])
        }
        defer { close(descriptor) }
        var seen = Set<String>()
        var mutexes: [MutexSnapshot] = []
        var problems: [String] = []
        for mapping in candidates where seen.insert("\(mapping.device) \(mapping.inode)").inserted {
            var record = shakedown_mutex_record()
            let size = MemoryLayout<shakedown_mutex_record>.size
            let count = withUnsafeMutableBytes(of: &record) { pread(descriptor, $0.baseAddress, size, off_t(Int64(bitPattern: mapping.start))) }
            guard count == size else {
                problems.append("could not read the mutex record at \(hex(mapping.start)) of pid \(pid)")
                continue
            }
            guard record.magic == SHAKEDOWN_MUTEX_MAGIC else { continue }
            mutexes.append(MutexSnapshot(record: record, mapping: mapping))
        }
        return (mutexes, problems)
    }

    init(record: shakedown_mutex_record, mapping: MemoryMapping) {
        name = withUnsafeBytes(of: record.name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        device = mapping.device
        inode = mapping.inode
        if record.owner_pid != 0 {
            let owner = ThreadID(pid: record.owner_pid, tid: record.owner_tid)
            self.owner = owner
            // The task directory of a live thread exists even under another thread group's /proc/PID.
            ownerIsAlive = ProcFiles.openError("/proc/\(owner.pid)/task/\(owner.tid)/stat") == nil
                && ProcStat.read(pid: owner.pid, tid: owner.tid).map { $0.state != .zombie && $0.state != .dead } ?? false
        } else {
            owner = nil
            ownerIsAlive = nil
        }
        waiters = withUnsafeBytes(of: record.waiters) { raw in
            raw.bindMemory(to: shakedown_mutex_waiter.self).compactMap { waiter in
                waiter.pid == 0 || waiter.tid == 0 ? nil : ThreadID(pid: waiter.pid, tid: waiter.tid)
            }
        }.sorted()
        acquisitions = record.acquisitions
        ownerDiedCount = record.owner_died_count
    }
}
