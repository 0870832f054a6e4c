#if canImport(Glibc)
import Glibc
#endif

extension Shake {
    /// Forks an `async` body into `processes` workers, as the synchronous
    /// ``fork(processes:rounds:timeout:jitter:seed:observing:teardown:body:)`` does.
    ///
    /// In each worker the body runs once per round as a task on the worker's own executor (one thread that the
    /// worker starts after the fork), so `Task`, `async let`, task groups, actors, `Task.sleep` and `MainActor`
    /// work whatever the test process did before the fork; `MainActor` work runs on that executor too. The worker's main thread waits for the round's task;
    /// the run's `timeout` covers it, so a job that blocks forever is reported as a hung worker.
    ///
    /// Not covered: Dispatch's global queues (their threads are not copied by fork either; code that hops to
    /// them still hangs, and is reported hung at the deadline).
    ///
    /// Work left behind: after the last round the worker gives jobs still queued on its executor (an unstructured
    /// or detached `Task` the body started and did not await) up to ``asyncBacklogGrace`` to finish; when only
    /// sleepers are left their sleeps end at once (a cancelled `Task.sleep` leaves such a job; a real sleeper
    /// wakes early instead of being dropped). Jobs still queued after the grace would be dropped when the worker
    /// exits, so their effects would silently be missing from the state the test checks: each worker that leaves
    /// any records a failure at this call's `file` and `line` saying how many. (Tasks suspended outside the
    /// executor, on a continuation nobody resumes, cannot be seen.)
    ///
    /// - Parameters:
    ///   - processes: how many workers to fork (1 to ``RunConfiguration/maximumProcesses``).
    ///   - rounds: how many times each worker runs `body`; every round starts in all workers together.
    ///   - timeout: the deadline of the whole run, covering every round's async work.
    ///   - jitter: where and how workers are delayed at jitter points.
    ///   - seed: the seed of every jitter decision; `nil` takes `SHAKEDOWN_SEED`, else a random one.
    ///   - observing: counters whose increment per round becomes the report's outcome histogram (at most 8).
    ///   - teardown: how processes that outlive the run are stopped.
    ///   - scheduling: `.fifo` runs ready jobs in enqueue order; `.seeded(s)` picks each next job at random
    ///     among the ready ones, `.pct(s, …)` by PCT priorities per task; worker `i` draws from
    ///     `s.derived(for: i)`. A thrown error or failure then names that seed and the number of scheduling
    ///     decisions. PCT parameters out of range are thrown as ``ShakedownError`` (invalid argument "scheduling").
    ///   - file: where a worker's left-behind jobs are reported (the caller's file, by default).
    ///   - line: the line for that report.
    ///   - body: what each worker runs once per round, as a task on the worker's executor.
    /// - Returns: the report; crashes, hangs, failures and leaks are findings in it, not thrown errors.
    /// - Cost: the synchronous fork's, plus in each worker one thread and a lock round trip per job, and after
    ///   the last round a check of the executor's queue every millisecond while jobs remain (at most
    ///   ``asyncBacklogGrace``).
    /// - Throws: ``ShakedownError`` for a bad argument or a failed system call. A runtime without the hooks, or
    ///   a hook already set by other code, is not thrown: every worker reports it as its error, without running
    ///   the body.
    public static func fork(
        processes: Int,
        rounds: Int = 1,
        timeout: Duration = .seconds(60),
        jitter: JitterPlan = .default,
        seed: Seed? = nil,
        observing: [SharedCounter] = [],
        teardown: Teardown = .default,
        scheduling: SchedulingPolicy = .fifo,
        file: StaticString = #filePath,
        line: UInt = #line,
        body: @escaping (Worker) async throws -> Void
    ) throws(ShakedownError) -> RunReport {
        do throws(AsyncExecutorError) {
            try scheduling.validate()
        } catch {
            throw ShakedownError(.invalidArgument(name: "scheduling", reason: error.description))
        }
        let configuration = RunConfiguration(processes: processes, rounds: rounds, timeout: timeout, jitter: jitter,
                                             seed: seed, teardown: teardown)
        return try fork(configuration, observing: observing) { worker in
            try runAsyncRound(worker, scheduling: scheduling, body: body)
            if worker.round == worker.rounds - 1, let executor = WorkerAsyncSupport.executor {
                reportLeftBehindJobs(executor, worker: worker, file: file, line: line)
            }
        }
    }

    /// How long a worker lets jobs that outlive its last round finish before it reports them: long enough for
    /// short follow-up work (a task that logs or sleeps a few milliseconds), short enough that a task sleeping
    /// for an hour costs one second, not the run's deadline.
    public static let asyncBacklogGrace = Duration.seconds(1)

    /// After the last round: records a failure when jobs outlive it (see ``WorkerAsyncSupport/leftBehindJobs(grace:)``).
    private static func reportLeftBehindJobs(_ executor: JobExecutor, worker: Worker, file: StaticString, line: UInt) {
        guard let message = WorkerAsyncSupport.leftBehindJobs(on: executor, grace: asyncBacklogGrace) else { return }
        worker.fail(message, file: file, line: line)
    }

    /// One round of an async body in a worker: waits on the worker's main thread for the task to finish.
    private static func runAsyncRound(_ worker: Worker, scheduling: SchedulingPolicy,
                                      body: @escaping (Worker) async throws -> Void) throws {
        WorkerAsyncSupport.redirectMainActor()
        if let problem = WorkerAsyncSupport.problem { throw problem }
        guard let executor = WorkerAsyncSupport.executor else {
            throw AsyncExecutorError.missingRuntimeSymbol("swift_task_enqueueGlobal_hook")
        }
        if worker.round == 0, let seed = scheduling.seed {
            executor.reset(policy: scheduling.reseeded(seed.derived(for: worker.index)))
        }
        let result = AsyncCompletion.run(on: executor, deadline: nil) { try await body(worker) }
        if let replaced = HookInstallation.replacedHook() { throw AsyncExecutorError.hookReplaced(replaced) }
        guard case let .failure(error)? = result else { return }
        let statistics = executor.statistics
        guard let workerSeed = statistics.policy.seed else { throw error }
        throw SeededRoundFailure(error: error, seed: workerSeed, decisions: statistics.decisions)
    }
}

/// An async body's error under seeded scheduling, with the worker's scheduling seed and the decisions so far.
public struct SeededRoundFailure: Error, CustomStringConvertible {
    /// What the body threw.
    public let error: any Error
    /// The worker's scheduling seed (the run's `.seeded` seed derived for the worker's index).
    public let seed: Seed
    /// Picks among two or more ready jobs the worker's executor made, over all rounds so far.
    public let decisions: UInt64

    /// The error in words, naming the symbol, seed or reason.
    public var description: String {
        "\(error) (scheduling seed \(seed.value), \(decisions) scheduling decisions)"
    }
}
