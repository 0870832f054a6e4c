// `swift_task_getMainExecutor_hook`'s signature: it returns the executor `MainActor` runs on.
typealias GetMainOriginal = @convention(thin) () -> UnownedSerialExecutor
typealias GetMainHook = @convention(thin) (GetMainOriginal) -> UnownedSerialExecutor

/// Makes a forked worker's `MainActor` run on the worker's executor.
///
/// On this runtime (6.3) main-actor jobs go to the main queue through the main executor object, not through
/// `swift_task_enqueueMainExecutor_hook`; after a fork no thread drains that queue (the worker's main thread waits
/// for its round). Answering `swift_task_getMainExecutor` with the worker's executor sends them there instead, and
/// `MainActor.assertIsolated()` holds inside them (measured: `AsyncWorkerTests`). Workers only: in-process the
/// real main thread may be draining the main queue.
enum MainExecutorRedirect {
    static let hookName = "swift_task_getMainExecutor_hook"
    nonisolated(unsafe) private static var target: JobExecutor?

    /// Points the hook at `executor`; refuses a hook set by other code, without chaining to it.
    static func install(_ executor: JobExecutor) throws(AsyncExecutorError) {
        let hook = try RuntimeHooks.function(hookName).assumingMemoryBound(to: GetMainHook?.self)
        guard hook.pointee == nil else { throw .hookAlreadyInstalled(hookName) }
        target = executor
        hook.pointee = { original in
            guard let executor = MainExecutorRedirect.target else { return original() }
            return executor.asUnownedSerialExecutor()
        }
    }
}
