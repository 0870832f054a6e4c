/// The system call a thread was blocked in, from /proc/PID/task/TID/syscall.
public struct SystemCall: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The architecture's system call number.
    public let number: Int
    /// The call's name for the common blocking calls (`"futex"`, `"read"`, …), else `"syscall N"`.
    public let name: String
    /// The six argument registers as the kernel saw them.
    public let arguments: [UInt64]

    /// A call by number; the name is looked up for this architecture.
    public init(number: Int, arguments: [UInt64] = []) {
        self.number = number
        self.name = Self.names[number] ?? "syscall \(number)"
        self.arguments = arguments
    }

    /// The system call's name (`futex`), or `syscall N` when it is not in the table.
    public var description: String { name }

    /// Parses "NR arg1 … arg6 sp pc". Returns nil for "running" and for "-1 sp pc" (blocked, but not in a
    /// system call).
    init?(procLine text: String) {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let first = fields.first, let number = Int(first), number >= 0 else { return nil }
        let arguments = fields.dropFirst().prefix(6).compactMap { field -> UInt64? in
            field.hasPrefix("0x") ? UInt64(field.dropFirst(2), radix: 16) : UInt64(field)
        }
        self.init(number: number, arguments: Array(arguments))
    }

    #if arch(x86_64)
    static let names: [Int: String] = [
        0: "read", 1: "write", 7: "poll", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev",
        23: "select", 24: "sched_yield", 34: "pause", 35: "nanosleep", 43: "accept", 44: "sendto",
        45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 42: "connect", 61: "wait4", 72: "fcntl", 74: "fsync",
        130: "rt_sigsuspend", 128: "rt_sigtimedwait", 202: "futex", 230: "clock_nanosleep", 232: "epoll_wait",
        247: "waitid", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 288: "accept4", 299: "recvmmsg",
        307: "sendmmsg", 441: "epoll_pwait2", 449: "futex_waitv", 62: "kill", 56: "clone", 435: "clone3",
        58: "vfork", 59: "execve", 16: "ioctl", 2: "open", 257: "openat", 3: "close", 9: "mmap", 11: "munmap",
        39: "getpid", 186: "gettid", 234: "tgkill", 101: "ptrace",
    ]
    #elseif arch(arm64)
    static let names: [Int: String] = [
        63: "read", 64: "write", 65: "readv", 66: "writev", 67: "pread64", 68: "pwrite64", 72: "pselect6",
        73: "ppoll", 82: "fsync", 98: "futex", 101: "nanosleep", 115: "clock_nanosleep", 124: "sched_yield",
        133: "rt_sigsuspend", 137: "rt_sigtimedwait", 202: "accept", 203: "connect", 206: "sendto",
        207: "recvfrom", 211: "sendmsg", 212: "recvmsg", 242: "accept4", 243: "recvmmsg", 260: "wait4",
        269: "sendmmsg", 95: "waitid", 22: "epoll_pwait", 441: "epoll_pwait2", 449: "futex_waitv",
        29: "ioctl", 56: "openat", 57: "close", 220: "clone", 435: "clone3", 221: "execve", 117: "ptrace",
    ]
    #else
    static let names: [Int: String] = [:]
    #endif
}
