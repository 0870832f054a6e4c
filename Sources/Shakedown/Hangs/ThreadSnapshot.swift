/// One thread of a captured process: its scheduler state, the system call it sits in, and its stack.
public struct ThreadSnapshot: Hashable, Sendable, Codable {
    /// The kernel thread id (the main thread's equals the process id).
    public var tid: Int32
    /// The thread's name (/proc/PID/task/TID/comm; at most 15 bytes).
    public var name: String
    /// The state just before the thread was stopped for unwinding.
    public var state: ProcessState
    /// The kernel function the thread sleeps in (/proc/PID/task/TID/wchan), nil when running or unknown.
    public var wchan: String?
    /// The system call the thread is blocked in, nil when it is not in one.
    public var systemCall: SystemCall?
    /// The stack, innermost first; empty when it could not be unwound (see `unwindStopReason`).
    public var frames: [Frame]
    /// How many outer frames were walked but not kept because of the frame limit.
    public var framesCut: Int
    /// Why the stack ends where it does, when that is not its natural end (the thread's entry point).
    public var unwindStopReason: String?
    /// The lock the thread is blocked on and who holds it, when its system call is a lock wait (futex, flock,
    /// fcntl F_SETLKW); nil otherwise.
    public var waitsFor: LockWait?

    /// A thread snapshot as capture builds it (public for tools that assemble snapshots of their own).
    public init(
        tid: Int32, name: String, state: ProcessState, wchan: String? = nil, systemCall: SystemCall? = nil,
        frames: [Frame] = [], framesCut: Int = 0, unwindStopReason: String? = nil, waitsFor: LockWait? = nil
    ) {
        self.waitsFor = waitsFor
        self.tid = tid
        self.name = name
        self.state = state
        self.wchan = wchan
        self.systemCall = systemCall
        self.frames = frames
        self.framesCut = framesCut
        self.unwindStopReason = unwindStopReason
    }

    /// The innermost frame in the program's own code (see ``Frame/isUserCode``): where it is stuck.
    public var firstUserFrame: Frame? { frames.first(where: \.isUserCode) }

    private enum CodingKeys: String, CodingKey {
        case tid, name, state, stateMeaning, wchan, systemCall, frames, framesCut, unwindStopReason, waitsFor
    }

    /// Decodes a snapshot written by ``encode(to:)`` (a saved report); throws `DecodingError` on other data.

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tid = try container.decode(Int32.self, forKey: .tid)
        name = try container.decode(String.self, forKey: .name)
        state = try container.decode(ProcessState.self, forKey: .state)
        wchan = try container.decodeIfPresent(String.self, forKey: .wchan)
        systemCall = try container.decodeIfPresent(SystemCall.self, forKey: .systemCall)
        frames = try container.decode([Frame].self, forKey: .frames)
        framesCut = try container.decodeIfPresent(Int.self, forKey: .framesCut) ?? 0
        unwindStopReason = try container.decodeIfPresent(String.self, forKey: .unwindStopReason)
        waitsFor = try container.decodeIfPresent(LockWait.self, forKey: .waitsFor)
    }

    /// Encodes the snapshot for a saved report (`shakedown run --json`, `RunReport.writeFullReport()`).

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tid, forKey: .tid)
        try container.encode(name, forKey: .name)
        try container.encode(state, forKey: .state)
        try container.encode(state.meaning, forKey: .stateMeaning)
        try container.encodeIfPresent(wchan, forKey: .wchan)
        try container.encodeIfPresent(systemCall, forKey: .systemCall)
        try container.encode(frames, forKey: .frames)
        try container.encode(framesCut, forKey: .framesCut)
        try container.encodeIfPresent(unwindStopReason, forKey: .unwindStopReason)
        try container.encodeIfPresent(waitsFor, forKey: .waitsFor)
    }
}
