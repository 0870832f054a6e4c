/// Everything that shapes a run: how many processes, how many rounds, how long at most, what jitter, which seed,
/// and how leftovers are torn down.
public struct RunConfiguration: Hashable, Sendable {
    /// Worker processes started together (1...1024).
    public var processes: Int
    /// Rounds each worker runs, with all workers released together at the start of each (at least 1).
    public var rounds: Int
    /// The deadline for the whole run; past it the stuck workers are reported as hung, then torn down.
    public var timeout: Duration
    /// Schedule pressure at jitter points.
    public var jitter: JitterPlan
    /// The seed; `nil` takes `SHAKEDOWN_SEED` or a random one.
    public var seed: Seed?
    /// How hung workers and leaked processes are stopped.
    public var teardown: Teardown
    /// Bytes of each worker's output (stdout and stderr) kept for the report.
    public var outputTailBytes: Int
    /// Capture every thread's backtrace of hung workers before tearing them down (costs ~10 ms per process).
    public var diagnosesHangs: Bool
    /// Stop (SIGSTOP) hung workers and their children at the deadline, so that none runs user code after it: the
    /// teardown's SIGKILL ends them where they stood, and its SIGTERM never reaches a handler. `true` by default;
    /// `false` lets a hung worker's SIGTERM handler run (and, if it does not exit, the worker run on until SIGKILL).
    public var freezesHungWorkers = true
    /// How the `syscalls` and `pct` modes schedule, trace and replay the run (other modes ignore it).
    public var schedule = ScheduleOptions()
    /// System-call failures to inject (tests of Shakedown's own error paths); empty by default.
    package var faults = FaultPlan()

    /// The largest output tail kept per worker (64 MiB).
    public static let maximumOutputTailBytes = 64 << 20

    /// The largest number of worker processes a run accepts.
    public static let maximumProcesses = 1024

    /// The timeouts a run accepts: 1 ms to 1 week. Below a millisecond no run can start; above a week is a
    /// mistake, and the bound keeps `start + timeout` in Int64 nanoseconds far from overflow.
    public static let timeoutRange: ClosedRange<Duration> = .milliseconds(1) ... .seconds(7 * 24 * 3600)

    /// A configuration; nothing is checked until ``validate()`` (every run calls it before forking).
    public init(
        processes: Int,
        rounds: Int = 1,
        timeout: Duration = .seconds(60),
        jitter: JitterPlan = .default,
        seed: Seed? = nil,
        teardown: Teardown = .default,
        outputTailBytes: Int = 4096,
        diagnosesHangs: Bool = true
    ) {
        self.processes = processes
        self.rounds = rounds
        self.timeout = timeout
        self.jitter = jitter
        self.seed = seed
        self.teardown = teardown
        self.outputTailBytes = outputTailBytes
        self.diagnosesHangs = diagnosesHangs
    }

    /// Checks every field; called before anything is forked.
    /// - Throws: `.invalidArgument` naming the first field out of range.
    public func validate() throws(ShakedownError) {
        guard processes >= 1, processes <= Self.maximumProcesses else {
            throw .invalidArgument("processes", "must be within 1...\(Self.maximumProcesses), got \(processes)")
        }
        guard rounds >= 1 else { throw .invalidArgument("rounds", "must be at least 1, got \(rounds)") }
        guard Self.timeoutRange.contains(timeout) else {
            throw .invalidArgument("timeout", "must be within 1 ms...1 week (604800 seconds), got \(timeout)")
        }
        guard outputTailBytes >= 0, outputTailBytes <= Self.maximumOutputTailBytes else {
            throw .invalidArgument("outputTailBytes",
                                   "must be within 0...\(Self.maximumOutputTailBytes), got \(outputTailBytes)")
        }
        do throws(ShakedownError) { try teardown.validate() } catch {
            guard error.code == .invalidArgument, let reason = error.reason else { throw error }
            throw .invalidArgument("teardown", reason)
        }
        try validateJitter()
    }

    /// The plan's fields are mutable, so a plan that bypassed `JitterPlan.init`'s checks is caught here rather
    /// than by a trap in every worker (a NaN probability, a negative weight, a zero spin limit).
    private func validateJitter() throws(ShakedownError) {
        guard jitter.probability >= 0, jitter.probability <= 1 else {
            throw .invalidArgument("jitter", "probability must be within 0...1, got \(jitter.probability)")
        }
        let weights = [jitter.yieldWeight, jitter.sleepWeight, jitter.spinWeight]
        // A third of Int.max each, so the workers' sum of the weights cannot overflow.
        guard weights.allSatisfy({ $0 >= 0 && $0 <= Int.max / 3 }) else {
            throw .invalidArgument("jitter", "weights must be within 0...\(Int.max / 3), got \(weights)")
        }
        guard jitter.maximumSpin >= 1, jitter.maximumSleep >= .microseconds(1) else {
            throw .invalidArgument("jitter", "maximumSpin must be at least 1 and maximumSleep at least 1 µs")
        }
    }
}
