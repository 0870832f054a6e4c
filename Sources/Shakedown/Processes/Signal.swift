#if canImport(Glibc)
import Glibc
#endif

/// A POSIX signal by number, printed by name (`SIGSEGV`).
public struct Signal: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The signal number.
    public let rawValue: Int32

    /// A signal by number; any number is accepted and named `signal N` when unknown.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// SIGHUP.
    public static let hangup = Signal(SIGHUP)
    /// SIGINT.
    public static let interrupt = Signal(SIGINT)
    /// SIGABRT: `abort()`, and what a C assertion raises.
    public static let abort = Signal(SIGABRT)
    /// SIGKILL: cannot be caught or ignored; the last teardown step.
    public static let kill = Signal(SIGKILL)
    /// SIGSEGV: an invalid memory access.
    public static let segmentationFault = Signal(SIGSEGV)
    /// SIGTERM: the polite first teardown step.
    public static let terminate = Signal(SIGTERM)
    /// SIGILL: what a Swift runtime trap (`fatalError`, overflow) raises on x86_64.
    public static let illegalInstruction = Signal(SIGILL)
    /// SIGTRAP: what a Swift runtime trap raises on arm64.
    public static let trap = Signal(SIGTRAP)
    /// SIGBUS: a bad access to mapped memory (for example past the end of a truncated file).
    public static let busError = Signal(SIGBUS)

    /// The conventional name, `SIGSEGV`; `SIGRTMIN+3` for real-time signals; `signal 99` when unknown.
    public var name: String {
        if let known = Self.names[rawValue] { return known }
        let realTimeMinimum = __libc_current_sigrtmin()
        if rawValue >= realTimeMinimum, rawValue <= __libc_current_sigrtmax() {
            return rawValue == realTimeMinimum ? "SIGRTMIN" : "SIGRTMIN+\(rawValue - realTimeMinimum)"
        }
        return "signal \(rawValue)"
    }

    /// Parses `SIGTERM`, `TERM` or `15`.
    public init?(name: String) {
        if let number = Int32(name) {
            self.init(number)
            return
        }
        let upper = name.uppercased()
        let full = upper.hasPrefix("SIG") ? upper : "SIG" + upper
        guard let match = Self.names.first(where: { $0.value == full }) else { return nil }
        self.init(match.key)
    }

    /// The name, as ``name``.
    public var description: String { name }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let parsed = Signal(name: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown signal \(text)")
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    private static let names: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
        SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
        SIGSTKFLT: "SIGSTKFLT", SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP",
        SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
        SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO", SIGPWR: "SIGPWR",
        SIGSYS: "SIGSYS",
    ]
}
