/// Swift concurrency inside a forked worker.
///
/// A fork copies the runtime's bookkeeping but not the parent's executor threads: once the parent has used the
/// runtime, a `Task` in the child never runs (measured; see docs/guide.md, "Async code"). Every closure worker
/// therefore points the runtime's hooks at an executor of its own right after the fork; its thread starts with
/// the first job, so a worker that never uses concurrency pays only five pointer stores.
package enum WorkerAsyncSupport {
    /// This worker's executor, when the hooks could be installed.
    nonisolated(unsafe) static var executor: JobExecutor?
    /// Why they could not (a foreign hook inherited from the parent, a runtime without hooks).
    nonisolated(unsafe) static var problem: AsyncExecutorError?

    /// Called by the worker process after the fork, before any body runs. Never fails the worker: a sync body
    /// that does not use concurrency is unaffected; an async body reports ``problem`` instead of running.
    package static func installAfterFork() {
        let created = JobExecutor()
        do throws(AsyncExecutorError) {
            try HookInstallation.install(created, main: true)
            executor = created
            try MainExecutorRedirect.install(created)
        } catch {
            problem = error
        }
    }
}
