#if canImport(Glibc)
import Glibc
#endif

/// Points the concurrency runtime's global-executor hooks at one ``JobExecutor``, and takes them back.
///
/// The hooks are process-global: one installation at a time. The hook functions cannot capture, so they find
/// the executor through ``target``, set before the hooks and cleared after them.
enum HookInstallation {
    nonisolated(unsafe) private static var target: JobExecutor?
    nonisolated(unsafe) private static var installed: (hooks: RuntimeHooks, main: Bool)?
    /// The raw values Shakedown stored in the hooks, to notice code that replaces them later.
    nonisolated(unsafe) private static var storedValues: [(name: String, address: UnsafeMutableRawPointer, value: UInt)] = []
    private static let lock = ConditionLock()

    /// Installs the hooks for `executor`; with `main`, main-actor jobs go to it too (a forked worker, whose main
    /// thread only waits). Refuses when any hook is already set, by others or by another run.
    static func install(_ executor: JobExecutor, main: Bool,
                        names: RuntimeHooks.Names = RuntimeHooks.Names()) throws(AsyncExecutorError) {
        let hooks = try RuntimeHooks.locate(names)
        // Needed to hand jobs back after an in-process run; checked now so that cannot fail later.
        _ = try RuntimeHooks.function("swift_task_enqueueGlobal")
        _ = try RuntimeHooks.function("swift_task_enqueueGlobalWithDelay")
        let result: AsyncExecutorError? = lock.withLock {
            if installed != nil { return .inProcessRunActive }
            if let name = hooks.occupied(includingMain: main) { return .hookAlreadyInstalled(name) }
            target = executor
            installed = (hooks, main)
            hooks.enqueueGlobal.pointee = { job, original in
                guard let executor = HookInstallation.target else { return original(job) }
                executor.enqueue(job)
            }
            hooks.enqueueGlobalWithDelay.pointee = { delay, job, original in
                guard let executor = HookInstallation.target else { return original(delay, job) }
                executor.enqueue(job, due: executorClockNow() &+ delay)
            }
            hooks.enqueueGlobalWithDeadline.pointee = { seconds, nanoseconds, _, _, clock, job, original in
                guard let executor = HookInstallation.target else {
                    return original(seconds, nanoseconds, 0, 0, clock, job)
                }
                executor.enqueue(job, due: HookInstallation.monotonicDue(seconds, nanoseconds, clock: clock))
            }
            if main {
                hooks.enqueueMainExecutor.pointee = { job, original in
                    guard let executor = HookInstallation.target else { return original(job) }
                    executor.enqueue(job)
                }
            }
            storedValues = record(hooks, main: main)
            return nil
        }
        if let result { throw result }
    }

    /// The name of a hook that holds something other than what ``install`` stored: code in the body installed its
    /// own (a test helper, a tracing tool). Its jobs no longer reach Shakedown's executor.
    static func replacedHook() -> String? {
        lock.withLock {
            storedValues.first { $0.address.load(as: UInt.self) != $0.value }?.name
        }
    }

    /// Where the global hook lives and what Shakedown stored there (for the worker's status block).
    static var globalHookRecord: (address: UInt64, value: UInt64)? {
        lock.withLock {
            storedValues.first.map { (UInt64(UInt(bitPattern: $0.address)), UInt64($0.value)) }
        }
    }

    private static func record(_ hooks: RuntimeHooks, main: Bool) -> [(name: String, address: UnsafeMutableRawPointer, value: UInt)] {
        var pointers: [(String, UnsafeMutableRawPointer)] = [
            (hooks.names.enqueueGlobal, UnsafeMutableRawPointer(hooks.enqueueGlobal)),
            (hooks.names.enqueueGlobalWithDelay, UnsafeMutableRawPointer(hooks.enqueueGlobalWithDelay)),
            (hooks.names.enqueueGlobalWithDeadline, UnsafeMutableRawPointer(hooks.enqueueGlobalWithDeadline)),
        ]
        if main { pointers.append((hooks.names.enqueueMainExecutor, UnsafeMutableRawPointer(hooks.enqueueMainExecutor))) }
        return pointers.map { (name: $0.0, address: $0.1, value: $0.1.load(as: UInt.self)) }
    }

    /// Restores the hooks to unset (their value before ``install``, which refused anything else).
    static func uninstall(_ executor: JobExecutor) {
        lock.withLock {
            guard let current = installed, target === executor else { return }
            current.hooks.enqueueGlobal.pointee = nil
            current.hooks.enqueueGlobalWithDelay.pointee = nil
            current.hooks.enqueueGlobalWithDeadline.pointee = nil
            if current.main { current.hooks.enqueueMainExecutor.pointee = nil }
            installed = nil
            target = nil
            storedValues = []
        }
    }

    /// A deadline on the runtime's clock (1: continuous = CLOCK_BOOTTIME, 2: suspending = CLOCK_MONOTONIC)
    /// as a CLOCK_MONOTONIC time: the remaining time is what matters.
    static func monotonicDue(_ seconds: Int64, _ nanoseconds: Int64, clock: Int32) -> UInt64 {
        let deadline = UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, nanoseconds))
        let now = clockNanoseconds(clock == 1 ? CLOCK_BOOTTIME : CLOCK_MONOTONIC)
        let remaining = deadline > now ? deadline - now : 0
        return executorClockNow() &+ remaining
    }
}
