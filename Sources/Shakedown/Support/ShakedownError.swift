import SystemPackage

/// The one error type Shakedown throws: misuse (an argument out of range) or a system call that failed.
///
/// Findings about the code under test — lost updates, crashes, hangs, leaked processes — are never thrown:
/// they are values in a ``RunReport``. A thrown error means Shakedown itself could not do what was asked.
public struct ShakedownError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, in a form a program can switch over.
    public enum Code: Equatable, Sendable {
        /// An argument was rejected before anything was forked or mapped.
        case invalidArgument(name: String, reason: String)
        /// A system call failed; `call` names it (`"fork"`, `"mmap"`, `"ptrace(PTRACE_SEIZE)"`).
        case systemCall(call: String, errno: Errno)
        /// A process to inspect or signal does not exist (any more).
        case noSuchProcess(pid: Int32)
        /// The kernel refused access to a process; `reason` says what to change.
        case permissionDenied(pid: Int32, reason: String)
        /// Data read from another process (a worker's result channel, /proc) could not be understood.
        case malformedData(source: String, reason: String)
        /// An executable could not be found or started.
        case executableNotFound(String)
    }

    /// What went wrong.
    public let code: Code

    /// An error with this code.
    public init(_ code: Code) { self.code = code }

    /// A failed system call with the given `errno`.
    public static func systemCall(_ call: String, errno: Errno) -> ShakedownError {
        ShakedownError(.systemCall(call: call, errno: errno))
    }

    /// A failed system call with the calling thread's `errno`, read now.
    package static func systemCall(_ call: String) -> ShakedownError {
        ShakedownError(.systemCall(call: call, errno: .lastError))
    }

    /// A rejected argument: `name` is the parameter, `reason` says what was wrong with the value.
    public static func invalidArgument(_ name: String, _ reason: String) -> ShakedownError {
        ShakedownError(.invalidArgument(name: name, reason: reason))
    }

    /// One line naming the argument, the system call and errno, or the process.
    public var description: String {
        switch code {
        case let .invalidArgument(name, reason):
            return "invalid argument `\(name)`: \(reason)"
        case let .systemCall(call, errno):
            let name = errno.symbolicName.map { "\($0) " } ?? ""
            return "\(call) failed: \(name)(\(errno), errno \(errno.rawValue))"
        case let .noSuchProcess(pid):
            return "no such process: \(pid)"
        case let .permissionDenied(pid, reason):
            return "permission denied for process \(pid): \(reason)"
        case let .malformedData(source, reason):
            return "malformed data from \(source): \(reason)"
        case let .executableNotFound(name):
            return "executable not found: \(name)"
        }
    }
}
