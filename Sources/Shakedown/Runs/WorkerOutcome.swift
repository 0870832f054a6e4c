/// How one worker's part of a run ended.
public enum WorkerOutcome: Hashable, Sendable, CustomStringConvertible {
    /// It ran every round and exited normally; for a command: the command was started and exited with code 0.
    case completed
    /// It never ran the body or the command: its fork or exec failed, a setup step failed, or the copies could
    /// not be started together because another copy failed first. The text says which and why.
    case notStarted(String)
    /// The body threw; the message is the error's description.
    case threw(String)
    /// A signal killed it (a crash: SIGSEGV, SIGABRT from `fatalError`, SIGILL from a Swift trap, ...).
    case crashed(Signal)
    /// It exited before finishing its rounds (the body called `exit`, even `exit(0)`), or a command exited with
    /// this non-zero code.
    case exited(code: Int32)
    /// It was still running at the deadline and was torn down.
    case hung
    /// It stopped because another worker left the round barrier for good (crashed, threw, exited).
    case stoppedByOtherWorker(Int)
    /// It ended without a status Shakedown could read (the leader lost track of it).
    case unknown(String)

    /// `true` for ``completed`` only: a worker that quit early, even with exit code 0, did not do its work.
    public var isSuccess: Bool { self == .completed }

    /// `completed`, `crashed with SIGSEGV`, `hung (still running at the deadline)`, ….
    public var description: String {
        switch self {
        case .completed: return "completed"
        case let .threw(message): return "threw: \(message)"
        case let .crashed(signal): return "crashed with \(signal.name)"
        case let .notStarted(reason): return "never started: \(reason)"
        case let .exited(code): return "exited with code \(code)"
        case .hung: return "hung (still running at the deadline)"
        case let .stoppedByOtherWorker(index): return "stopped: worker \(index) left the round barrier"
        case let .unknown(reason): return "unknown: \(reason)"
        }
    }
}
