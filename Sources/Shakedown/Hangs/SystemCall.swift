/// The system call a thread was blocked in, from /proc/PID/task/TID/syscall.
public struct SystemCall: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The architecture's system call number.
    public let number: Int
    /// The call's name from the architecture's complete table (`"futex"`, `"flock"`, …); `"syscall N"` only for
    /// numbers the kernel headers this was built from did not have.
    public let name: String
    /// The six argument registers as the kernel saw them.
    public let arguments: [UInt64]

    /// A call by number; the name is looked up for this architecture.
    public init(number: Int, arguments: [UInt64] = []) {
        self.number = number
        self.name = Self.names[number] ?? "syscall \(number)"
        self.arguments = arguments
    }

    /// For `restart_syscall`: the call being restarted, named after the function the thread sleeps in
    /// (`clock_nanosleep`), which is what the kernel resumes; nil otherwise or when unknown.
    public var restarting: String?

    /// The system call's name (`futex`); `restart_syscall` as what it restarts (`clock_nanosleep (restarted)`).
    public var description: String { restarting.map { "\($0) (restarted)" } ?? name }

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

}
