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
}
