import CShakedown

// The runtime's hook signatures (swift/Runtime/Concurrency.h). They are Swift-calling-convention function
// pointers; `@convention(thin)` is how Swift spells one. A job is passed as its pointer, which `UnownedJob` wraps.
typealias EnqueueOriginal = @convention(thin) (UnownedJob) -> Void
typealias EnqueueHook = @convention(thin) (UnownedJob, EnqueueOriginal) -> Void
typealias DelayOriginal = @convention(thin) (UInt64, UnownedJob) -> Void
typealias DelayHook = @convention(thin) (UInt64, UnownedJob, DelayOriginal) -> Void
typealias DeadlineOriginal = @convention(thin) (Int64, Int64, Int64, Int64, Int32, UnownedJob) -> Void
typealias DeadlineHook = @convention(thin) (Int64, Int64, Int64, Int64, Int32, UnownedJob, DeadlineOriginal) -> Void

/// The addresses of the concurrency runtime's hook variables, found with `dlsym`.
struct RuntimeHooks {
    /// The names looked up; tests pass a name no runtime exports to see the error.
    struct Names {
        var enqueueGlobal = "swift_task_enqueueGlobal_hook"
        var enqueueGlobalWithDelay = "swift_task_enqueueGlobalWithDelay_hook"
        var enqueueGlobalWithDeadline = "swift_task_enqueueGlobalWithDeadline_hook"
        var enqueueMainExecutor = "swift_task_enqueueMainExecutor_hook"
    }

    let names: Names
    let enqueueGlobal: UnsafeMutablePointer<EnqueueHook?>
    let enqueueGlobalWithDelay: UnsafeMutablePointer<DelayHook?>
    let enqueueGlobalWithDeadline: UnsafeMutablePointer<DeadlineHook?>
    let enqueueMainExecutor: UnsafeMutablePointer<EnqueueHook?>

    /// Looks every hook up; throws naming the first one the runtime does not export.
    static func locate(_ names: Names = Names()) throws(AsyncExecutorError) -> RuntimeHooks {
        RuntimeHooks(
            names: names,
            enqueueGlobal: try address(names.enqueueGlobal).assumingMemoryBound(to: EnqueueHook?.self),
            enqueueGlobalWithDelay: try address(names.enqueueGlobalWithDelay).assumingMemoryBound(to: DelayHook?.self),
            enqueueGlobalWithDeadline: try address(names.enqueueGlobalWithDeadline)
                .assumingMemoryBound(to: DeadlineHook?.self),
            enqueueMainExecutor: try address(names.enqueueMainExecutor).assumingMemoryBound(to: EnqueueHook?.self))
    }

    /// A runtime function (not a hook), e.g. `swift_task_enqueueGlobal`, to hand jobs back to the real executor.
    static func function(_ name: String) throws(AsyncExecutorError) -> UnsafeMutableRawPointer {
        try address(name)
    }

    private static func address(_ name: String) throws(AsyncExecutorError) -> UnsafeMutableRawPointer {
        guard let pointer = shakedown_async_symbol(name) else { throw .missingRuntimeSymbol(name) }
        return pointer
    }

    /// The name of the first hook someone else already set (`main`: include the main-executor hook).
    func occupied(includingMain main: Bool) -> String? {
        if enqueueGlobal.pointee != nil { return names.enqueueGlobal }
        if enqueueGlobalWithDelay.pointee != nil { return names.enqueueGlobalWithDelay }
        if enqueueGlobalWithDeadline.pointee != nil { return names.enqueueGlobalWithDeadline }
        if main, enqueueMainExecutor.pointee != nil { return names.enqueueMainExecutor }
        return nil
    }
}
