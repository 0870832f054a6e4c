/// Runs an async body in this process (no fork) on Shakedown's one-thread executor, each next job drawn from a
/// seed among the ready ones: an ordinary async test whose interleaving of tasks and actor jobs is chosen by the
/// seed and replays with it.
///
/// The runtime's hooks are process-global: while a run goes on, every task of the process (not only the body's)
/// runs on this executor. Only one run may use them at a time; a second concurrent run throws
/// ``AsyncExecutorError/inProcessRunActive``. The hooks are reset to unset afterwards, and jobs still queued
/// (tasks the body left running) are handed back to the runtime's own executor.
public enum SeededExecutor {
    /// What an in-process run returned, and how it was scheduled.
    public struct Run<Value> {
        /// The body's result.
        public let value: Value
        /// The seed of the run; the same seed replays the same job order.
        public let seed: Seed
        /// Picks among two or more ready jobs.
        public let decisions: UInt64
        /// Jobs the executor ran.
        public let jobs: UInt64
        /// The policy the run used (with its PCT parameters).
        public let policy: SchedulingPolicy
    }

    /// How `Task.sleep` and other delayed jobs are timed.
    public enum DelayTime: Sendable, Equatable {
        /// A delayed job becomes ready when its time has come on CLOCK_MONOTONIC.
        case real
        /// When no job is ready and none is running, the earliest delayed job becomes ready at once: sleeps cost
        /// nothing and keep their order relative to each other, and a run replays without depending on how fast
        /// the host is. Code that measures elapsed time sees the real clock, not the jump.
        case virtual
    }

    /// The most threads an in-process run may use.
    public static let maximumThreads = 64

    /// Runs `body` to completion on a fresh seeded executor, blocking the calling thread.
    ///
    /// Call it from synchronous code or from an async test (it blocks that test's thread, which is fine: the
    /// body's jobs run on the executor's own thread).
    ///
    /// - Parameters:
    ///   - policy: `.seeded(seed)` for a drawn order, `.pct(seed, depth:decisions:)` for PCT over tasks,
    ///     `.fifo` for enqueue order.
    ///   - threads: the executor's threads, 1...``maximumThreads``. Only 1 replays an order exactly.
    ///   - time: ``DelayTime/real`` (default) or ``DelayTime/virtual`` for delayed jobs such as `Task.sleep`.
    ///   - timeout: past it, ``AsyncExecutorError/timedOut(seed:decisions:)`` is thrown and the hooks are
    ///     restored; a job still blocking the executor's thread keeps it (the thread is abandoned).
    ///   - body: the async code to run; its tasks, child tasks and actor jobs run on the seeded executor.
    /// - Returns: the body's value with the seed, the scheduling decisions and the number of jobs run.
    /// - Throws: what the body throws, or ``AsyncExecutorError`` (hooks missing, already set, replaced by the
    ///   body, busy, timed out,
    ///   a thread count or PCT parameter out of range).
    /// - Cost: `threads` threads per run, a lock round trip per job; PCT adds a dictionary lookup per ready job
    ///   per decision.
    public static func run<Value>(
        _ policy: SchedulingPolicy,
        threads: Int = 1,
        time: DelayTime = .real,
        timeout: Duration = .seconds(60),
        _ body: @escaping () async throws -> Value
    ) throws -> Run<Value> {
        guard (1...maximumThreads).contains(threads) else {
            throw AsyncExecutorError.invalidSchedulingArgument(name: "threads", value: threads,
                                                               allowed: 1...maximumThreads)
        }
        try policy.validate()
        let executor = JobExecutor(policy: policy, threads: threads, virtualTime: time == .virtual)
        try HookInstallation.install(executor, main: false)
        let result = AsyncCompletion.run(on: executor, deadline: deadline(after: timeout), body)
        let replaced = HookInstallation.replacedHook()
        HookInstallation.uninstall(executor)
        JobForwarding.forward(executor.stop())
        let statistics = executor.statistics
        let seed = policy.seed ?? Seed(0)
        if let replaced { throw AsyncExecutorError.hookReplaced(replaced) }
        guard let result else { throw AsyncExecutorError.timedOut(seed: seed.value, decisions: statistics.decisions) }
        return Run(value: try result.get(), seed: seed, decisions: statistics.decisions, jobs: statistics.jobs,
                   policy: policy)
    }

    private static func deadline(after timeout: Duration) -> UInt64 {
        let (seconds, attoseconds) = timeout.components
        guard seconds >= 0 else { return executorClockNow() }
        let nanoseconds = UInt64(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        let total = nanoseconds.overflow ? UInt64.max : nanoseconds.partialValue &+ UInt64(max(0, attoseconds) / 1_000_000_000)
        let (sum, overflow) = executorClockNow().addingReportingOverflow(total)
        return overflow ? UInt64.max : sum
    }
}
