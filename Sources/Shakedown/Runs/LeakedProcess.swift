/// A process that outlived the code that should have waited for it: found by the ledger, then cleaned up.
public struct LeakedProcess: Hashable, Sendable, Codable, CustomStringConvertible {
    /// What kind of leak.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// It exited but its parent never waited for it (it held a process-table slot).
        case zombie
        /// Its parent exited first; it was re-parented to Shakedown's subreaper.
        case orphan
    }

    /// How Shakedown got rid of it.
    public enum Cleanup: Hashable, Sendable, Codable, CustomStringConvertible {
        /// It had already exited; Shakedown reaped it.
        case reaped
        /// It exited by itself after being orphaned; Shakedown reaped it.
        case exitedOnItsOwn(ProcessExit)
        /// This teardown signal ended it.
        case stopped(by: Signal)
        /// It ended with this status during teardown (for example it caught SIGTERM and exited).
        case exitedDuringTeardown(ProcessExit)

        /// How it ended and what Shakedown did about it.
        public var description: String {
            switch self {
            case .reaped: return "reaped"
            case let .exitedOnItsOwn(exit): return "exited on its own (\(exit)), reaped"
            case let .stopped(signal): return "stopped by \(signal.name), reaped"
            case let .exitedDuringTeardown(exit): return "\(exit) during teardown, reaped"
            }
        }
    }

    /// Zombie or orphan.
    public let kind: Kind
    /// Its process id (gone by the time the report exists).
    public let pid: Int32
    /// For a zombie, the process that should have waited for it.
    public let parent: Int32?
    /// Its command line (`[name]` for a zombie, whose command line is gone).
    public let command: String
    /// The worker (or `shakedown run` copy) whose code started it; `nil` when it could not be attributed.
    public let worker: Int?
    /// A zombie's exit status.
    public let exit: ProcessExit?
    /// How long it existed when Shakedown found it.
    public let lifetime: Duration?
    /// How Shakedown got rid of it.
    public let cleanup: Cleanup

    /// Assembles a leak record (the ledger does this).
    public init(kind: Kind, pid: Int32, parent: Int32?, command: String, worker: Int?, exit: ProcessExit?,
                lifetime: Duration?, cleanup: Cleanup) {
        self.kind = kind
        self.pid = pid
        self.parent = parent
        self.command = command
        self.worker = worker
        self.exit = exit
        self.lifetime = lifetime
        self.cleanup = cleanup
    }

    package func with(worker: Int?) -> LeakedProcess {
        LeakedProcess(kind: kind, pid: pid, parent: parent, command: command, worker: worker, exit: exit,
                      lifetime: lifetime, cleanup: cleanup)
    }

    /// `orphan pid 4711 `sleep 30` from worker 2, lived 12 ms; stopped by SIGTERM, reaped`.
    public var description: String {
        var text = "\(kind.rawValue) pid \(pid) `\(command)`"
        if let worker { text += " from worker \(worker)" }
        if let parent, kind == .zombie { text += ", parent \(parent)" }
        if let exit { text += ", \(exit)" }
        if let lifetime { text += ", lived \(lifetime.shortDescription)" }
        return text + "; \(cleanup)"
    }
}

extension Duration {
    /// `12 ms`, `1.25 s`, `850 µs`.
    public var shortDescription: String {
        let nanoseconds = Double(self.nanoseconds)
        if nanoseconds == 0 { return "0 ms" }
        if nanoseconds < 1_000_000 { return "\(Int(nanoseconds / 1_000)) µs" }
        if nanoseconds < 1_000_000_000 { return "\(Int(nanoseconds / 1_000_000)) ms" }
        let seconds = nanoseconds / 1_000_000_000
        return "\((seconds * 100).rounded() / 100) s"
    }
}
