/// Everything the run learned about one worker.
public struct WorkerReport: Sendable {
    /// 0-based worker index (the copy number for `shakedown run`).
    public let index: Int
    /// The worker process (for command runs: the shepherd that started the command).
    public let pid: Int32
    /// For command runs: the command's own pid.
    public let commandPid: Int32?
    /// How its part of the run ended.
    public let outcome: WorkerOutcome
    /// How the process ended (for command runs: how the command ended); `nil` if no status was read.
    public let exit: ProcessExit?
    /// Rounds whose body returned.
    public let roundsCompleted: Int
    /// Failures recorded in the worker, through its result channel or printed by XCTest.
    public let failures: [RecordedFailure]
    /// The last bytes the worker wrote to stdout and stderr.
    public let outputTail: String
    /// The first line of its output that says why it died (`…: Fatal error: …`), kept even when the tail has
    /// moved past it.
    public let crashMessage: String?
    /// The crashing thread's frames (function at file:line), read from the crash report the Swift runtime
    /// printed; `nil` when it printed none (a command without Swift, a crash with the backtracer off).
    public let crashFrames: String?
    /// How many bytes it wrote in all.
    public let outputBytes: Int
    /// Jitter points reached, points that acted, and the digest of every decision (same seed ⇒ same digest).
    public let jitterPoints: Int
    /// Jitter points that acted (yielded, slept or spun).
    public let jitterActions: Int
    /// The digest of every jitter decision; `nil` when the worker sent no final result.
    public let jitterDigest: UInt64?
    /// What was wrong with its result channel (garbage, a truncated frame), if anything.
    public let channelProblem: String?

    /// Assembles a worker report (runs do this).
    public init(index: Int, pid: Int32, commandPid: Int32?, outcome: WorkerOutcome, exit: ProcessExit?,
                roundsCompleted: Int, failures: [RecordedFailure], outputTail: String, crashMessage: String?, outputBytes: Int,
                jitterPoints: Int, jitterActions: Int, jitterDigest: UInt64?, channelProblem: String?,
                crashFrames: String? = nil) {
        self.index = index
        self.pid = pid
        self.commandPid = commandPid
        self.outcome = outcome
        self.exit = exit
        self.roundsCompleted = roundsCompleted
        self.failures = failures
        self.outputTail = outputTail
        self.crashMessage = crashMessage
        self.crashFrames = crashFrames
        self.outputBytes = outputBytes
        self.jitterPoints = jitterPoints
        self.jitterActions = jitterActions
        self.jitterDigest = jitterDigest
        self.channelProblem = channelProblem
    }

    /// One line: `worker 2 (pid 4711): crashed with SIGSEGV after 17 rounds`.
    public var summary: String {
        var text = "worker \(index) (pid \(commandPid ?? pid)): \(outcome)"
        let ranRounds: Bool
        if case .notStarted = outcome { ranRounds = false } else { ranRounds = outcome != .completed }
        if ranRounds { text += " after \(roundsCompleted) round\(roundsCompleted == 1 ? "" : "s")" }
        if let crashMessage, !outcome.isSuccess { text += " — \(crashMessage)" }
        if !failures.isEmpty { text += ", \(failures.count) failure\(failures.count == 1 ? "" : "s")" }
        if let channelProblem { text += "; result channel: \(channelProblem)" }
        return text
    }
}
