/// Hands jobs back to the runtime's own global executor once Shakedown's hooks are removed (an in-process run
/// that ended with jobs still queued: unstructured tasks the body left behind, or a run past its deadline).
enum JobForwarding {
    private typealias Enqueue = @convention(thin) (UnownedJob) -> Void
    private typealias EnqueueWithDelay = @convention(thin) (UInt64, UnownedJob) -> Void

    static func forward(_ jobs: (ready: [UnownedJob], delayed: [JobQueue.Delayed])) {
        guard !jobs.ready.isEmpty || !jobs.delayed.isEmpty else { return }
        // Both were found when the hooks were installed, so the lookups cannot fail here; if they did, the jobs
        // stay unrun, which the caller's deadline already reports.
        guard let enqueue = try? RuntimeHooks.function("swift_task_enqueueGlobal"),
              let enqueueWithDelay = try? RuntimeHooks.function("swift_task_enqueueGlobalWithDelay") else { return }
        let now = executorClockNow()
        let run = unsafeBitCast(enqueue, to: Enqueue.self)
        let runLater = unsafeBitCast(enqueueWithDelay, to: EnqueueWithDelay.self)
        for job in jobs.ready { run(job) }
        for delayed in jobs.delayed { runLater(delayed.due > now ? delayed.due - now : 0, delayed.job) }
    }
}
