/// Runs an async body as a task on a ``JobExecutor`` and blocks the calling thread until it finishes.
///
/// The caller must not be one of the executor's threads (it would wait for itself). Blocking is the point: a
/// worker's main thread waits for its round, so the run's deadline covers a body that never finishes.
final class AsyncCompletion<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var result: Result<Value, any Error>?

    /// Starts `body` as a task (its first job goes through the hooks to the executor) and waits for it, up to
    /// `deadline` (CLOCK_MONOTONIC ns; nil: forever). Nil when the deadline passed first.
    static func run(on executor: JobExecutor, deadline: UInt64?, _ body: @escaping () async throws -> Value) -> Result<Value, any Error>? {
        let completion = AsyncCompletion<Value>()
        let work = UncheckedBody(body)
        // The preference (inherited by child tasks, `async let` and task groups) sends their jobs straight to the
        // executor: the runtime's generic-executor paths do not all pass through the global hooks.
        Task(executorPreference: executor) {
            do {
                completion.finish(.success(try await work.body()))
            } catch {
                completion.finish(.failure(error))
            }
        }
        if let problem = executor.startProblem { return .failure(AsyncExecutorError.threadNotStarted(problem)) }
        return completion.wait(until: deadline)
    }

    private func finish(_ value: Result<Value, any Error>) {
        lock.withLock {
            result = value
            lock.broadcast()
        }
    }

    private func wait(until deadline: UInt64?) -> Result<Value, any Error>? {
        lock.withLock {
            while result == nil {
                if let deadline, executorClockNow() >= deadline { return nil }
                lock.wait(until: deadline)
            }
            return result
        }
    }
}

/// Carries a body that is not `Sendable` into its task. Sound here: the caller blocks until the task ends,
/// so the body is never used from two threads at once.
private struct UncheckedBody<Value>: @unchecked Sendable {
    let body: () async throws -> Value
    init(_ body: @escaping () async throws -> Value) { self.body = body }
}
