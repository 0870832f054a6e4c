#if canImport(Glibc)
import Glibc
#endif

/// One process as `/proc/PID/stat` describes it.
public struct ProcessStatus: Hashable, Sendable {
    /// The process id.
    public let pid: Int32
    /// The executable's name, at most 15 bytes (`comm`).
    public let name: String
    /// R running, S sleeping, D uninterruptible, Z zombie, T stopped, t traced, X dead, I idle kernel thread.
    public let state: Character
    /// The parent process id (after re-parenting, the subreaper or init).
    public let parent: Int32
    /// The process group id.
    public let processGroup: Int32
    /// The session id (changed by `setsid`).
    public let session: Int32
    /// Kernel flags (`PF_KTHREAD` = 0x200000 marks a kernel thread).
    public let flags: UInt32
    /// Start time in clock ticks since boot.
    public let startTicks: UInt64

    /// Whether this is a kernel thread (it has no user stack to unwind).
    public var isKernelThread: Bool { flags & 0x0020_0000 != 0 }
    /// Whether it has exited and waits to be reaped.
    public var isZombie: Bool { state == "Z" }

    /// How long it has existed, from its start time and the system uptime (one read of `/proc/uptime`, no second
    /// read of its `stat`); `nil` when the uptime cannot be read.
    public var age: Duration? {
        guard let uptimeText = ProcessTable.readSmallFile("/proc/uptime"),
              let uptime = Double(uptimeText.split(separator: " ").first ?? "")
        else { return nil }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let seconds = max(0, uptime - Double(startTicks) / ticksPerSecond)
        return .milliseconds(Int64(seconds * 1000))
    }

    /// ``age`` in whole milliseconds, or -1 when unknown (the form the wire messages carry).
    package var ageMilliseconds: Int64 { age.map { $0.nanoseconds / 1_000_000 } ?? -1 }
}

/// Reads the kernel's process table under `/proc`: no caching, every call is a fresh look.
///
/// Costs: one `stat` file read ≈ 10–20 µs; ``children(of:)`` reads `/proc/PID/task/*/children`, which lists
/// direct children only (≈ 30 µs), rather than scanning all of `/proc` (≈ 1.2 ms).
public enum ProcessTable {
    /// The status of `pid`, or `nil` when it does not exist (any more).
    public static func status(of pid: Int32) -> ProcessStatus? {
        guard let text = readSmallFile("/proc/\(pid)/stat") else { return nil }
        return parseStat(text, pid: pid)
    }

    /// Parses the text of `/proc/PID/stat` (the name may contain spaces and parentheses: split at the last `)`).
    package static func parseStat(_ text: String, pid: Int32) -> ProcessStatus? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let name = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is state (field 3 of stat(5)); fields[n] is field n+3.
        guard fields.count > 19, let state = fields[0].first,
              let parent = Int32(fields[1]), let group = Int32(fields[2]), let session = Int32(fields[3]),
              let flags = UInt32(fields[6]), let start = UInt64(fields[19])
        else { return nil }
        return ProcessStatus(pid: pid, name: name, state: state, parent: parent, processGroup: group,
                             session: session, flags: flags, startTicks: start)
    }

    /// The direct children of `pid` (all its threads' children), from `/proc/PID/task/*/children`; where that
    /// cannot be read (a kernel without CONFIG_PROC_CHILDREN), from a scan of all of `/proc` (≈ 1.2 ms).
    public static func children(of pid: Int32) -> [Int32] {
        childrenListing(of: pid) ?? scanForChildren(of: pid)
    }

    /// The children of `pid` from `/proc/PID/task/*/children`, or `nil` when a live thread's file cannot be read
    /// (no CONFIG_PROC_CHILDREN, a failed read, or one `faults` fails): then only ``scanForChildren(of:)`` knows.
    package static func childrenListing(of pid: Int32, faults: FaultInjector? = nil) -> [Int32]? {
        var result: [Int32] = []
        for task in threads(of: pid) {
            if faults?.failure(.procRead) != nil { return nil }
            guard let text = readSmallFile("/proc/\(pid)/task/\(task)/children") else {
                // A thread that exited since the listing has no file any more; a thread that is still there does.
                if access("/proc/\(pid)/task/\(task)", F_OK) == 0 { return nil }
                continue
            }
            result += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters) }
        }
        return result
    }

    /// Every process whose parent is `pid`, by reading the `stat` of every process in `/proc` (≈ 1.2 ms): the
    /// fallback when ``childrenListing(of:faults:)`` cannot answer.
    package static func scanForChildren(of pid: Int32) -> [Int32] {
        allProcesses().filter { status(of: $0)?.parent == pid }
    }

    /// Every process in `/proc` now, ascending.
    package static func allProcesses() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let pid = Int32(name), pid > 0 { result.append(pid) }
        }
        return result.sorted()
    }

    /// Every descendant of `pid`, depth first, parents before children.
    public static func descendants(of pid: Int32) -> [Int32] {
        var result: [Int32] = []
        var stack = children(of: pid)
        while let next = stack.popLast() {
            result.append(next)
            stack += children(of: next)
        }
        return result
    }

    /// The thread ids of `pid` (from `/proc/PID/task`), ascending; empty when it is gone.
    public static func threads(of pid: Int32) -> [Int32] {
        (try? ProcFiles.taskIDs(of: pid)) ?? []
    }

    /// The command line (`/proc/PID/cmdline`, NUL-separated arguments joined by spaces); the name in
    /// brackets for zombies and kernel threads, whose command line is empty.
    public static func commandLine(of pid: Int32) -> String {
        if let raw = readSmallFile("/proc/\(pid)/cmdline"), !raw.isEmpty {
            return raw.split(separator: "\0").joined(separator: " ")
        }
        return status(of: pid).map { "[\($0.name)]" } ?? "?"
    }

    /// How long `pid` has existed, from its start time and the system uptime; `nil` when it is gone.
    public static func age(of pid: Int32) -> Duration? {
        status(of: pid)?.age
    }

    /// The number of open descriptors of the calling process (entries in `/proc/self/fd`).
    public static func openDescriptorCount() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(directory) }
        var count = 0
        while readdir(directory) != nil { count += 1 }
        return count - 3  // ".", ".." and the directory's own descriptor
    }

    /// Reads a whole small file with plain `read(2)` (no Foundation, safe to call in a forked child).
    package static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    var trimmingCharacters: Substring {
        var result = self
        while let last = result.last, last.isWhitespace { result.removeLast() }
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        return result
    }
}
