#if canImport(Glibc)
import Glibc
#endif

/// Swift concurrency inside a forked worker.
///
/// A fork copies the runtime's bookkeeping but not the parent's executor threads: once the parent has used the
/// runtime, a `Task` in the child never runs (measured; see docs/guide.md, "Async code"). Every closure worker
/// therefore points the runtime's hooks at an executor of its own right after the fork; its thread starts with
/// the first job, so a worker that never uses concurrency pays only four pointer stores.
package enum WorkerAsyncSupport {
    /// This worker's executor, when the hooks could be installed.
    nonisolated(unsafe) static var executor: JobExecutor?
    /// Why they could not (a foreign hook inherited from the parent, a runtime without hooks).
    nonisolated(unsafe) static var problem: AsyncExecutorError?

    /// Called by the worker process after the fork, before any body runs. Never fails the worker: a sync body
    /// that does not use concurrency is unaffected; an async body reports ``problem`` instead of running.
    package static func installAfterFork() {
        // The main-executor redirect waits for an async body (``redirectMainActor()``): a sync body on the
        // forking thread may pass dynamic `MainActor` checks that the redirect would make fail.
        let created = JobExecutor(publishesStatus: true)
        do throws(AsyncExecutorError) {
            try HookInstallation.install(created, main: true)
            executor = created
            ExecutorStatus.recordHook(HookInstallation.globalHookRecord)
        } catch {
            problem = error
        }
    }

    /// Sends this worker's `MainActor` jobs to its executor (see ``MainExecutorRedirect``); once per worker,
    /// before its first async round. A failure becomes ``problem``.
    static func redirectMainActor() {
        guard let executor, problem == nil, !mainActorRedirected else { return }
        do throws(AsyncExecutorError) {
            try MainExecutorRedirect.install(executor)
            mainActorRedirected = true
        } catch {
            problem = error
        }
    }

    nonisolated(unsafe) private static var mainActorRedirected = false

    /// Set once ``leftBehindJobs(on:grace:)`` has described a backlog in this worker, so the check after the last
    /// round (synchronous bodies) does not report what an async body's last round already reported.
    nonisolated(unsafe) static var backlogReported = false

    /// Waits up to `grace` for `executor` to run dry (checking every millisecond), and describes the jobs still
    /// on it then, or returns nil when none are. Called after a worker's last round: jobs left there (a `Task` the
    /// body started and did not await) are dropped when the worker exits, so their work silently never happens.
    /// Whenever only delayed jobs are left, their time is made to come at once (``JobExecutor/fastForwardDelayed()``):
    /// a cancelled `Task.sleep` leaves such a job behind, and it must not count as lost work, nor cost the grace.
    /// What is still there after the grace keeps producing work (a loop that sleeps or yields forever).
    /// Synchronous closure workers, whose bodies can start tasks too, can make the same check (same module).
    static func leftBehindJobs(on executor: JobExecutor, grace: Duration) -> String? {
        let deadline = executorClockNow() &+ UInt64(max(0, grace.nanoseconds))
        var backlog = executor.backlog
        while backlog != (0, 0, 0), executorClockNow() < deadline {
            if backlog.ready == 0 && backlog.running == 0 { executor.fastForwardDelayed() }
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            nanosleep(&pause, nil)
            backlog = executor.backlog
        }
        guard backlog != (0, 0, 0) else { return nil }
        backlogReported = true
        let jobs = backlog.ready + backlog.delayed + backlog.running
        return "\(jobs) async job(s) still on the worker's executor \(grace) after its last round "
            + "(\(backlog.ready) ready, \(backlog.delayed) waiting on a delay such as Task.sleep, \(backlog.running) running, "
            + "sleeps already cut short): a Task the body started and did not await keeps working after the run, "
            + "and what it would still do is lost when the worker exits"
    }
}
