/// The kernel's table of file locks (/proc/locks): every `flock`, POSIX `fcntl` and OFD lock held on the machine,
/// and every process blocked waiting for one, across all processes.
///
/// A line is "ID: [-> ]TYPE ADVISORY|MANDATORY READ|WRITE PID MAJOR:MINOR:INODE START END". Holder lines have no
/// arrow; "->" lines are blocked waiters. OFD locks belong to an open file, not a process: their pid is -1.
struct FileLockTable: Sendable, Hashable {
    struct Entry: Sendable, Hashable {
        /// FLOCK, POSIX, OFDLCK (or LEASE, DELEG…).
        var type: String
        var exclusive: Bool
        var pid: Int32
        /// "major:minor:inode" as /proc/locks prints it (hex device numbers, decimal inode).
        var file: String
        var start: UInt64
        /// Last byte, nil for EOF.
        var end: UInt64?
        var isWaiter: Bool
    }

    var entries: [Entry]

    /// Parses the text of /proc/locks; lines it cannot read are skipped.
    init(text: String) {
        entries = text.split(separator: "\n").compactMap(Self.entry)
    }

    /// Reads /proc/locks now; empty when it cannot be read.
    static func read() -> FileLockTable {
        FileLockTable(text: ProcFiles.text("/proc/locks") ?? "")
    }

    private static func entry(_ line: Substring) -> Entry? {
        var fields = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst()
        var waiter = false
        if fields.first == "->" {
            waiter = true
            fields = fields.dropFirst()
        }
        let parts = Array(fields)
        guard parts.count >= 7, let pid = Int32(parts[3]), let start = UInt64(parts[5]) else { return nil }
        let end: UInt64? = parts[6] == "EOF" ? nil : UInt64(parts[6])
        if parts[6] != "EOF" && end == nil { return nil }
        return Entry(type: String(parts[0]), exclusive: parts[2] == "WRITE", pid: pid, file: String(parts[4]),
                     start: start, end: end, isWaiter: waiter)
    }

    /// "major:minor:inode" the way /proc/locks spells the file with device `device` and inode `inode`.
    static func fileKey(device: UInt64, inode: UInt64) -> String {
        let major = ((device >> 8) & 0xFFF) | ((device >> 32) & ~UInt64(0xFFF))
        let minor = (device & 0xFF) | ((device >> 12) & ~UInt64(0xFF))
        func two(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return digits.count < 2 ? "0" + digits : digits
        }
        return "\(two(major)):\(two(minor)):\(inode)"
    }

    /// The holders that block a request: same file, a lock family the call competes with, overlapping range, and
    /// at least one side exclusive. `flock` competes with FLOCK entries; `fcntl` with POSIX and OFD entries.
    func blockers(file: String, byFlock: Bool, exclusive: Bool, start: UInt64 = 0, end: UInt64? = nil) -> [Entry] {
        entries.filter { entry in
            guard !entry.isWaiter, entry.file == file, exclusive || entry.exclusive else { return false }
            let family = byFlock ? entry.type == "FLOCK" : (entry.type == "POSIX" || entry.type == "OFDLCK")
            guard family else { return false }
            let entryEnd = entry.end ?? UInt64.max, requestEnd = end ?? UInt64.max
            return entry.start <= requestEnd && start <= entryEnd
        }
    }
}
