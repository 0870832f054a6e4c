/// A process as hang capture saw it: every thread's state and stack, the Shakedown mutexes it maps, and what
/// could not be captured (in `notes`).
///
/// A value: taking it does not change the process, which keeps running after capture.
public struct ProcessSnapshot: Hashable, Sendable, Codable {
    /// The process id.
    public var pid: Int32
    /// The command line (/proc/PID/cmdline), empty for a zombie.
    public var commandLine: [String]
    /// The executable (/proc/PID/exe), nil for a zombie.
    public var executable: String?
    /// The process state (its main thread's) before capture.
    public var state: ProcessState
    /// The threads, main thread first, then by thread id.
    public var threads: [ThreadSnapshot]
    /// What was incomplete or degraded, in plain words ("thread 4712 did not stop within 1 s (state D …)").
    public var notes: [String]
    /// The Shakedown process mutexes mapped by the process, read while it was stopped.
    public var mutexes: [MutexSnapshot]
    /// How long capture took, including symbolization.
    public var captureDuration: Duration
    /// How long the process was held: from seizing its first thread to releasing them all (unwinding, reading the
    /// memory map and mutexes happen in between; symbolization comes after).
    public var stoppedDuration: Duration

    /// A snapshot as capture builds it (public for tools that assemble snapshots of their own).
    public init(
        pid: Int32, commandLine: [String], executable: String?, state: ProcessState, threads: [ThreadSnapshot],
        notes: [String] = [], mutexes: [MutexSnapshot] = [], captureDuration: Duration = .zero,
        stoppedDuration: Duration = .zero
    ) {
        self.pid = pid
        self.commandLine = commandLine
        self.executable = executable
        self.state = state
        self.threads = threads
        self.notes = notes
        self.mutexes = mutexes
        self.captureDuration = captureDuration
        self.stoppedDuration = stoppedDuration
    }

    private enum CodingKeys: String, CodingKey {
        case pid, commandLine, executable, state, stateMeaning, threads, notes, mutexes, captureMilliseconds, stoppedMilliseconds
    }

    /// Decodes a snapshot written by ``encode(to:)`` (a saved report); throws `DecodingError` on other data.

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pid = try container.decode(Int32.self, forKey: .pid)
        commandLine = try container.decodeIfPresent([String].self, forKey: .commandLine) ?? []
        executable = try container.decodeIfPresent(String.self, forKey: .executable)
        state = try container.decode(ProcessState.self, forKey: .state)
        threads = try container.decode([ThreadSnapshot].self, forKey: .threads)
        notes = try container.decodeIfPresent([String].self, forKey: .notes) ?? []
        mutexes = try container.decodeIfPresent([MutexSnapshot].self, forKey: .mutexes) ?? []
        let milliseconds = try container.decodeIfPresent(Double.self, forKey: .captureMilliseconds) ?? 0
        captureDuration = .nanoseconds(Int64(milliseconds * 1_000_000))
        let stopped = try container.decodeIfPresent(Double.self, forKey: .stoppedMilliseconds) ?? 0
        stoppedDuration = .nanoseconds(Int64(stopped * 1_000_000))
    }

    /// Encodes the snapshot for a saved report (`shakedown run --json`, `RunReport.writeFullReport()`).

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pid, forKey: .pid)
        try container.encode(commandLine, forKey: .commandLine)
        try container.encodeIfPresent(executable, forKey: .executable)
        try container.encode(state, forKey: .state)
        try container.encode(state.meaning, forKey: .stateMeaning)
        try container.encode(threads, forKey: .threads)
        try container.encode(notes, forKey: .notes)
        try container.encode(mutexes, forKey: .mutexes)
        try container.encode(Double(captureDuration.nanoseconds) / 1_000_000, forKey: .captureMilliseconds)
        try container.encode(Double(stoppedDuration.nanoseconds) / 1_000_000, forKey: .stoppedMilliseconds)
    }
}
