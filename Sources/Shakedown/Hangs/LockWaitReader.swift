#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Finds what each blocked thread of a stopped process waits for (see ``LockWait``): futex words read from the
/// target's memory through /proc/PID/mem, file locks from /proc/locks. Runs while the threads stand still, so the
/// lock words and the lock table are read at the same moment as the stacks.
///
/// Costs one open of /proc/PID/mem and a 24-byte read per thread in a futex wait; /proc/locks is read once, only
/// when a thread waits in `flock` or `fcntl`.
struct LockWaitReader {
    let pid: Int32
    let maps: ProcessMaps?

    /// The waits of `threads`, by tid (threads not in a lock-related system call are absent), and the futex words
    /// read for them.
    func read(_ threads: [RawThread]) -> (waits: [Int32: LockWait], probes: [Int32: FutexLock.Probe]) {
        var probes: [Int32: FutexLock.Probe] = [:]
        var memory: CInt = -1
        defer { if memory >= 0 { close(memory) } }
        var table: FileLockTable?
        var waits: [Int32: LockWait] = [:]
        for thread in threads where !thread.vanished {
            guard let call = thread.systemCall else { continue }
            switch call.name {
            case "futex":
                if memory < 0 { memory = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC) }
                let descriptor = memory
                guard let probe = FutexLock.probe(arguments: call.arguments, read: { Self.read(descriptor, $0, $1) }) else { continue }
                waits[thread.tid] = lockWait(for: probe)
                probes[thread.tid] = probe
            case "flock":
                guard call.arguments.count >= 2, call.arguments[1] & 4 == 0 else { continue }  // LOCK_NB never blocks
                if table == nil { table = FileLockTable.read() }
                waits[thread.tid] = fileLockWait(
                    descriptor: call.arguments[0], table: table ?? FileLockTable(text: ""), byFlock: true,
                    exclusive: call.arguments[1] & 2 != 0, range: (0, nil))
            case "fcntl":
                // F_SETLKW (7) and F_OFD_SETLKW (38) block; the request is a struct flock at argument 3.
                guard call.arguments.count >= 3, call.arguments[1] == 7 || call.arguments[1] == 38 else { continue }
                if memory < 0 { memory = open("/proc/\(pid)/mem", O_RDONLY | O_CLOEXEC) }
                let request = Self.read(memory, call.arguments[2], 32)
                if table == nil { table = FileLockTable.read() }
                let (exclusive, range) = Self.decodeFlock(request)
                waits[thread.tid] = fileLockWait(
                    descriptor: call.arguments[0], table: table ?? FileLockTable(text: ""), byFlock: false,
                    exclusive: exclusive, range: range, ownProcessExcluded: call.arguments[1] == 7)
            default:
                continue
            }
        }
        return (waits, probes)
    }

    private func lockWait(for probe: FutexLock.Probe) -> LockWait {
        let identity = Self.identity(pid: pid, address: probe.address, isPrivate: probe.isPrivate, maps: maps)
        switch FutexLock.classify(probe) {
        case let .notALock(detail):
            return LockWait(kind: .futexWait, identity: identity, address: probe.address, owners: [], detail: detail)
        case let .unowned(kind, detail):
            return LockWait(kind: kind, identity: identity, address: probe.address, owners: [], detail: detail)
        case let .held(kind, tid, detail):
            let owner = Self.owner(tid: tid)
            if probe.isPrivate, case let .thread(thread) = owner, thread.pid != pid {
                // A process-private futex cannot be held by another process: the bytes are not what they seem.
                return LockWait(kind: .futexWait, identity: identity, address: probe.address, owners: [],
                                detail: "the owner field names thread \(tid) of another process (\(thread.pid)), which a private mutex cannot have: not a mutex")
            }
            return LockWait(kind: kind, identity: identity, address: probe.address, owners: [owner], detail: detail)
        }
    }

    private func fileLockWait(
        descriptor: UInt64, table: FileLockTable, byFlock: Bool, exclusive: Bool, range: (UInt64, UInt64?),
        ownProcessExcluded: Bool = false
    ) -> LockWait {
        let link = "/proc/\(pid)/fd/\(descriptor)"
        var info = stat()
        guard descriptor < 1 << 31, stat(link, &info) == 0 else {
            return LockWait(kind: .fileLock, identity: "pid \(pid) fd \(descriptor)", owners: [],
                            detail: "could not look at file descriptor \(descriptor): errno \(errno)")
        }
        let key = FileLockTable.fileKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
        let path = ProcFiles.link(link)
        var blockers = table.blockers(file: key, byFlock: byFlock, exclusive: exclusive, start: range.0, end: range.1)
        // POSIX locks of one process never conflict with each other (they merge).
        if ownProcessExcluded { blockers.removeAll { $0.type == "POSIX" && $0.pid == pid } }
        var owners: [LockWait.Owner] = []
        var detail: String?
        for blocker in blockers {
            if blocker.pid <= 0 {
                detail = "held through an open file description (OFD lock): the kernel does not record which process holds it"
                continue
            }
            let owner: LockWait.Owner = ProcStat.read(pid: blocker.pid).map { $0.state == .zombie || $0.state == .dead } == false
                ? .process(pid: blocker.pid) : .gone(tid: blocker.pid)
            if !owners.contains(owner) { owners.append(owner) }
        }
        if blockers.isEmpty { detail = "no conflicting holder in /proc/locks: the lock is being released" }
        return LockWait(kind: .fileLock, identity: "file \(key)", symbol: path.map { (byFlock ? "flock " : "fcntl ") + $0 },
                        owners: owners, detail: detail)
    }

    /// The owner named by a tid, as this process's /proc sees it: its thread group, or gone.
    static func owner(tid: Int32) -> LockWait.Owner {
        guard tid > 0, let status = ProcFiles.text("/proc/\(tid)/status").map(ProcStatus.init),
              let group = status.threadGroup,
              let stat = ProcStat.read(pid: group, tid: tid), stat.state != .zombie, stat.state != .dead
        else { return .gone(tid: tid) }
        return .thread(id: ThreadID(pid: group, tid: tid))
    }

    /// Shared memory is named by the file (or shared anonymous object) behind it, so every process that maps it
    /// names the lock the same way; private memory by process and address.
    static func identity(pid: Int32, address: UInt64, isPrivate: Bool, maps: ProcessMaps?) -> String {
        if !isPrivate, let mapping = maps?.mapping(containing: address), mapping.inode != 0,
           mapping.permissions.hasSuffix("s") {
            return "dev \(mapping.device) inode \(mapping.inode) +\(hex(mapping.fileOffset + address - mapping.start))"
        }
        return "pid \(pid) \(hex(address))"
    }

    /// `struct flock` (x86_64/aarch64): short l_type, short l_whence, off_t l_start, off_t l_len. Only SEEK_SET
    /// ranges are narrowed; anything else counts as the whole file (conservative: it may over-report a holder).
    static func decodeFlock(_ bytes: [UInt8]) -> (exclusive: Bool, range: (UInt64, UInt64?)) {
        guard bytes.count >= 24 else { return (true, (0, nil)) }
        let type = Int16(bytes[0]) | Int16(bytes[1]) << 8
        let whence = Int16(bytes[2]) | Int16(bytes[3]) << 8
        var start: Int64 = 0, length: Int64 = 0
        for index in (0..<8).reversed() {
            start = start << 8 | Int64(bytes[8 + index])
            length = length << 8 | Int64(bytes[16 + index])
        }
        let exclusive = type == 1  // F_WRLCK
        guard whence == 0, start >= 0, length >= 0 else { return (exclusive, (0, nil)) }
        let (last, overflow) = start.addingReportingOverflow(length - 1)
        return (exclusive, (UInt64(start), length == 0 || overflow ? nil : UInt64(last)))
    }

    static func read(_ descriptor: CInt, _ address: UInt64, _ count: Int) -> [UInt8] {
        guard descriptor >= 0, address < UInt64(Int64.max) else { return [] }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = pread(descriptor, &bytes, count, off_t(Int64(bitPattern: address)))
        return got > 0 ? Array(bytes[0..<got]) : []
    }
}
