import SystemPackage

/// The one error type Shakedown throws: misuse (an argument out of range) or a system call that failed.
///
/// Findings about the code under test — lost updates, crashes, hangs, leaked processes — are never thrown:
/// they are values in a ``RunReport``. A thrown error means Shakedown itself could not do what was asked.
///
/// Switch over ``code`` to decide what to do, and read the details through the properties that fit it
/// (``systemCall`` and ``errno``, ``argumentName`` and ``reason``, ``pid``, …). ``Code`` is a struct, not an enum, so
/// a new kind of error in a later version does not break a `switch` that has a `default:` branch. Two errors are
/// equal when their kinds and all their details are; two codes are equal when their kinds are.
///
/// ```swift
/// do {
///     let report = try Shake.fork(processes: 8) { _ in work() }
/// } catch let error as ShakedownError {
///     switch error.code {
///     case .invalidArgument: print("fix `\(error.argumentName ?? "?")`: \(error.reason ?? "")")
///     case .systemCall where error.errno == .noMemory: print("out of memory in \(error.systemCall ?? "?")")
///     default: print(error)   // one line naming the call and errno, the argument or the process
///     }
/// }
/// ```
public struct ShakedownError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every kind with its details. Package-wide so the library and its tools can build errors tersely; clients see
    /// only ``code`` and the properties, so a case added here breaks nobody outside the package.
    package enum Detail: Hashable, Sendable {
        case invalidArgument(name: String, reason: String)
        case systemCall(call: String, errno: Errno)
        case noSuchProcess(pid: Int32)
        case permissionDenied(pid: Int32, reason: String)
        case malformedData(source: String, reason: String)
        case executableNotFound(String)
    }

    /// The kind and its details.
    package let detail: Detail

    /// An error with this kind and these details.
    package init(_ detail: Detail) { self.detail = detail }

    /// What went wrong, in a form a program can switch over (with a `default:` branch: kinds may be added).
    public var code: Code {
        switch detail {
        case .invalidArgument: return .invalidArgument
        case .systemCall: return .systemCall
        case .noSuchProcess: return .noSuchProcess
        case .permissionDenied: return .permissionDenied
        case .malformedData: return .malformedData
        case .executableNotFound: return .executableNotFound
        }
    }

    /// One line naming the argument, the system call and errno, or the process.
    public var description: String {
        switch detail {
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

// MARK: - Making errors

extension ShakedownError {
    /// A rejected argument (``Code/invalidArgument``): `name` is the parameter, `reason` says what was wrong with
    /// the value.
    public static func invalidArgument(_ name: String, _ reason: String) -> ShakedownError {
        ShakedownError(.invalidArgument(name: name, reason: reason))
    }

    /// A failed system call (``Code/systemCall``) with the given `errno`; `call` names it (`"fork"`, `"mmap"`,
    /// `"ptrace(PTRACE_SEIZE)"`).
    public static func systemCall(_ call: String, errno: Errno) -> ShakedownError {
        ShakedownError(.systemCall(call: call, errno: errno))
    }

    /// A failed system call with the calling thread's `errno`, read now.
    package static func systemCall(_ call: String) -> ShakedownError {
        ShakedownError(.systemCall(call: call, errno: .lastError))
    }

    /// A process to inspect or signal that does not exist (any more) (``Code/noSuchProcess``).
    public static func noSuchProcess(pid: Int32) -> ShakedownError {
        ShakedownError(.noSuchProcess(pid: pid))
    }

    /// The kernel refused access to process `pid` (``Code/permissionDenied``); `reason` says what to change.
    public static func permissionDenied(pid: Int32, reason: String) -> ShakedownError {
        ShakedownError(.permissionDenied(pid: pid, reason: reason))
    }

    /// Data read from `source` (a worker's result channel, /proc, a pipe) that could not be understood
    /// (``Code/malformedData``).
    public static func malformedData(source: String, reason: String) -> ShakedownError {
        ShakedownError(.malformedData(source: source, reason: reason))
    }

    /// An executable that could not be found or started (``Code/executableNotFound``); `name` is what was asked
    /// for, possibly with why it is unusable.
    public static func executableNotFound(_ name: String) -> ShakedownError {
        ShakedownError(.executableNotFound(name))
    }
}

// MARK: - Reading the details

extension ShakedownError {
    /// The system call that failed (`"fork"`, `"ptrace(PTRACE_SEIZE, 42)"`) when ``code`` is ``Code/systemCall``;
    /// otherwise `nil`.
    public var systemCall: String? {
        guard case let .systemCall(call, _) = detail else { return nil }
        return call
    }

    /// The `errno` the failed system call left when ``code`` is ``Code/systemCall``; otherwise `nil`.
    public var errno: Errno? {
        guard case let .systemCall(_, errno) = detail else { return nil }
        return errno
    }

    /// The rejected parameter's name when ``code`` is ``Code/invalidArgument``; otherwise `nil`.
    public var argumentName: String? {
        guard case let .invalidArgument(name, _) = detail else { return nil }
        return name
    }

    /// Why: what was wrong with the argument (``Code/invalidArgument``), what to change to be allowed
    /// (``Code/permissionDenied``), or what could not be understood (``Code/malformedData``); otherwise `nil`.
    public var reason: String? {
        switch detail {
        case let .invalidArgument(_, reason), let .permissionDenied(_, reason), let .malformedData(_, reason):
            return reason
        case .systemCall, .noSuchProcess, .executableNotFound:
            return nil
        }
    }

    /// The process that is gone (``Code/noSuchProcess``) or may not be inspected (``Code/permissionDenied``);
    /// otherwise `nil`.
    public var pid: Int32? {
        switch detail {
        case let .noSuchProcess(pid), let .permissionDenied(pid, _):
            return pid
        case .invalidArgument, .systemCall, .malformedData, .executableNotFound:
            return nil
        }
    }

    /// Where the malformed data came from (`"environment"`, `"pipe descriptor 7"`) when ``code`` is
    /// ``Code/malformedData``; otherwise `nil`.
    public var dataSource: String? {
        guard case let .malformedData(source, _) = detail else { return nil }
        return source
    }

    /// The executable that could not be found or started when ``code`` is ``Code/executableNotFound``; otherwise
    /// `nil`.
    public var executable: String? {
        guard case let .executableNotFound(name) = detail else { return nil }
        return name
    }
}
