/// Entry points: fork a closure into many processes, or run a command many times at once.
///
/// Every run forks one run leader (the subreaper that owns every process of the run) and, from it, the
/// workers; waits with a deadline; captures and tears down what hangs; accounts for every leaked process; and
/// returns a ``RunReport``. Nothing is left running when these functions return.
public enum Shake {
    /// Forks `body` into `processes` worker processes, each running it `rounds` times; all workers start each
    /// round together.
    ///
    /// The body runs in a forked copy of the test process and never returns into the test runner: the worker
    /// ends with `_exit` whatever the body does. Record failures with ``Worker/fail(_:file:line:)`` or
    /// ``Worker/check(_:_:file:line:)``; they come back in the report at their file and line.
    ///
    /// With `SHAKEDOWN_SHARD=i/n` in the environment the run is shard `i` of `n`: it runs its block of the rounds
    /// with its shard's seed (``RunConfiguration/sharded(_:)`` says exactly how), and a bad value is an
    /// `.invalidArgument("SHAKEDOWN_SHARD")` error.
    ///
    /// - Parameters:
    ///   - processes: how many workers to fork (1 to ``RunConfiguration/maximumProcesses``).
    ///   - rounds: how many times each worker runs `body`; every round starts in all workers together.
    ///   - timeout: the deadline of the whole run; past it the run is captured as hung and torn down.
    ///   - jitter: where and how workers are delayed at jitter points.
    ///   - seed: the seed of every jitter decision; `nil` takes `SHAKEDOWN_SEED`, else a random one.
    ///   - observing: counters whose increment per round becomes the report's outcome histogram (at most 8).
    ///     Create them before calling: they must be in shared memory when the workers fork.
    ///   - teardown: how processes that outlive the run are stopped.
    ///   - body: what each worker runs once per round, in its own process.
    /// - Returns: the report; crashes, hangs, failures and leaks are findings in it, not thrown errors.
    /// - Throws: ``ShakedownError`` for a bad argument (before anything is forked) or a failed system call.
    /// - Cost: one leader fork plus one fork per worker (≈ the cost of `fork()` of the test process each,
    ///   0.1–0.7 ms depending on its size), and two pipes per worker.
    public static func fork(
        processes: Int,
        rounds: Int = 1,
        timeout: Duration = .seconds(60),
        jitter: JitterPlan = .default,
        seed: Seed? = nil,
        observing: [SharedCounter] = [],
        teardown: Teardown = .default,
        body: (Worker) throws -> Void
    ) throws(ShakedownError) -> RunReport {
        let configuration = RunConfiguration(processes: processes, rounds: rounds, timeout: timeout, jitter: jitter,
                                             seed: seed, teardown: teardown)
        return try fork(configuration, observing: observing, body: body)
    }

    /// ``fork(processes:rounds:timeout:jitter:seed:observing:teardown:body:)`` with a whole configuration.
    public static func fork(
        _ configuration: RunConfiguration,
        observing: [SharedCounter] = [],
        body: (Worker) throws -> Void
    ) throws(ShakedownError) -> RunReport {
        try fork(configuration, observing: observing, lifecycle: WorkerLifecycle(), judge: nil, body: body)
    }

    /// Forks `body` as ``fork(_:observing:body:)`` does, with per-worker setup and teardown and a judge that
    /// grades the state after every round (see ``RoundJudge``). The report's ``RunReport/outcomes`` hold the
    /// judge's outcome histogram; a forbidden outcome makes the run not clean.
    ///
    /// - Cost: with a judge, one closure call per round in the barrier's last worker and one small message.
    public static func fork<Outcome: Hashable>(
        _ configuration: RunConfiguration,
        observing: [SharedCounter] = [],
        lifecycle: WorkerLifecycle = WorkerLifecycle(),
        judge: RoundJudge<Outcome>,
        body: (Worker) throws -> Void
    ) throws(ShakedownError) -> RunReport {
        try fork(configuration, observing: observing, lifecycle: lifecycle, judge: ErasedJudge(judge), body: body)
    }

    /// Forks `body` with per-worker setup and teardown, without a judge.
    public static func fork(
        _ configuration: RunConfiguration,
        observing: [SharedCounter] = [],
        lifecycle: WorkerLifecycle,
        body: (Worker) throws -> Void
    ) throws(ShakedownError) -> RunReport {
        try fork(configuration, observing: observing, lifecycle: lifecycle, judge: nil, body: body)
    }

    private static func fork(
        _ configuration: RunConfiguration,
        observing: [SharedCounter],
        lifecycle: WorkerLifecycle,
        judge: ErasedJudge?,
        body: (Worker) throws -> Void
    ) throws(ShakedownError) -> RunReport {
        // SHAKEDOWN_SHARD cuts the rounds and picks the shard's seed (RunConfiguration+Shard.swift).
        let (configuration, shardNote) = try configuration.shardedByEnvironment()
        try configuration.validate()
        let result: Result<RunReport, ShakedownError> = withoutActuallyEscaping(body) { escapable in
            let work = WorkerLaunch.ClosureWork(body: escapable, lifecycle: lifecycle, judge: judge)
            let supervisor = Supervisor(configuration: configuration, launch: .closure(work),
                                        observed: observing, runOwnedCounters: 0, command: nil,
                                        diagnoseHang: HangCapture.diagnose)
            do throws(ShakedownError) { return .success(try supervisor.run()) } catch { return .failure(error) }
        }
        return try result.get().adding(note: shardNote)
    }

    /// Runs `command` (no shell: argv as given) as `processes` copies at once, started together.
    ///
    /// Each copy is started by a shepherd process that reports the copy's exit and every process it left behind.
    /// A copy built with Shakedown can ``Worker/attach()`` to the run to take part in its rounds, jitter and
    /// counters.
    ///
    /// - Parameters:
    ///   - command: the program and its arguments, exactly as `execv` takes them (no shell).
    ///   - configuration: copies, rounds, deadline, jitter, seed and teardown of the run.
    ///   - counters: run-owned shared counters (0...8) that cooperative copies reach with
    ///     ``Worker/counter(_:)``; the report observes each of them.
    ///   - progress: called on the calling thread about twice a second while the run goes on (the first call after
    ///     half a second), for a progress line on a terminal; not called for runs that end sooner.
    /// - Throws: `.invalidArgument` for bad numbers or an empty command, `.executableNotFound` when the command
    ///   cannot be found, before anything is started.
    public static func run(
        command: [String],
        _ configuration: RunConfiguration,
        counters: Int = 0,
        progress: ((RunProgress) -> Void)? = nil
    ) throws(ShakedownError) -> RunReport {
        try configuration.validate()
        guard counters >= 0, counters <= 8 else { throw .invalidArgument("counters", "must be within 0...8, got \(counters)") }
        let commandLine = try WorkerLaunch.CommandLine(command)
        var supervisor = Supervisor(configuration: configuration, launch: .command(commandLine), observed: [],
                                    runOwnedCounters: counters, command: command, diagnoseHang: HangCapture.diagnose)
        supervisor.progress = progress
        return try supervisor.run()
    }
}
