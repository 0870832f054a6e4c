#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs `body` on a fresh thread that exits when it returns, and waits for it.
///
/// ptrace belongs to a thread, not a process: only the thread that seized a tracee may operate on it, and when that
/// thread exits the kernel detaches every tracee it still holds — including one that never reached its stop (a
/// thread in uninterruptible sleep), which could not be detached otherwise and would freeze in a trap stop the
/// moment it woke. A short-lived tracer thread makes that cleanup unconditional. Costs one thread creation
/// (tens of microseconds).
func onTracerThread<Result>(_ body: @escaping () -> Result) throws(ShakedownError) -> Result {
    let box = TracerResultBox<Result>()
    let work = TracerWork { box.value = body() }
    let context = Unmanaged.passRetained(work).toOpaque()
    var thread = pthread_t()
    let error = pthread_create(&thread, nil, { context in
        guard let context else { return nil }
        Unmanaged<TracerWork>.fromOpaque(context).takeRetainedValue().body()
        return nil
    }, context)
    if error != 0 {
        Unmanaged<TracerWork>.fromOpaque(context).release()
        throw ShakedownError.systemCall("pthread_create", errno: .init(rawValue: error))
    }
    pthread_join(thread, nil)
    guard let value = box.value else {
        throw ShakedownError.systemCall("pthread_create", errno: .init(rawValue: EAGAIN))
    }
    return value
}

/// The closure handed to the tracer thread. Touched by exactly one other thread; pthread_join orders the accesses.
private final class TracerWork: @unchecked Sendable {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

private final class TracerResultBox<Value>: @unchecked Sendable {
    var value: Value?
    init() {}
}
