/// The scheduler state of a process or thread, as the one-letter code in field 3 of /proc/PID/stat.
///
/// Unknown letters are kept as they are, so a newer kernel's states still round-trip.
public struct ProcessState: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The letter from /proc/PID/stat (`"R"`, `"S"`, `"D"`, …).
    public let rawValue: String

    /// A state by its letter in `/proc/PID/stat` (`R`, `S`, `D`, `Z`, `T`, `t`, `X`, `I`).
    public init(rawValue: String) { self.rawValue = rawValue }

    /// R: on a CPU or ready to run. A thread stuck here is spinning.
    public static let running = ProcessState(rawValue: "R")
    /// S: interruptible sleep, waiting for an event (a lock, a pipe, a timer).
    public static let sleeping = ProcessState(rawValue: "S")
    /// D: uninterruptible sleep in the kernel (usually I/O); signals and ptrace wait until it returns.
    public static let uninterruptible = ProcessState(rawValue: "D")
    /// T: stopped by a signal (SIGSTOP, SIGTSTP).
    public static let stopped = ProcessState(rawValue: "T")
    /// t: stopped by a debugger (a ptrace stop).
    public static let tracingStop = ProcessState(rawValue: "t")
    /// Z: exited, but its parent has not collected the exit status yet.
    public static let zombie = ProcessState(rawValue: "Z")
    /// X: dead, being removed.
    public static let dead = ProcessState(rawValue: "X")
    /// I: an idle kernel thread.
    public static let idle = ProcessState(rawValue: "I")

    /// The state in plain words.
    public var meaning: String {
        switch rawValue {
        case "R": return "running or ready to run"
        case "S": return "sleeping, waiting for an event"
        case "D": return "uninterruptible sleep in the kernel (usually I/O)"
        case "T": return "stopped by a signal"
        case "t": return "stopped by a debugger"
        case "Z": return "zombie: exited, exit status not yet collected by its parent"
        case "X": return "dead"
        case "I": return "idle kernel thread"
        case "P": return "parked kernel thread"
        case "W": return "paging or waking"
        case "K": return "wakekill"
        default: return "unknown state"
        }
    }

    /// `S (sleeping, waiting for an event)`.
    public var description: String { "\(rawValue) (\(meaning))" }

    /// Decodes what ``encode(to:)`` wrote (a saved report); throws `DecodingError` on other data.

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes it for a saved report (`shakedown run --json`, `RunReport.writeFullReport()`).

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
