/// What became of one task run by a ``ProcessPool``.
public enum TaskResult<Output> {
    /// The work function returned this.
    case value(Output)
    /// The work function threw; the error's description (errors do not cross processes, their text does).
    case threw(String)
    /// The worker process died running this task (a signal, or an exit from inside the task). The task is not
    /// run again; the pool replaced the worker.
    case crashed(ProcessExit)
    /// The task ran longer than the pool's `taskTimeout`; its worker was killed and replaced.
    case timedOut

    /// The value, or `nil` when the task did not return one.
    public var value: Output? {
        if case let .value(output) = self { return output }
        return nil
    }
}

extension TaskResult: Sendable where Output: Sendable {}
extension TaskResult: Equatable where Output: Equatable {}

/// A worker's answer to one task, as it travels back to the pool.
enum PoolReply<Output: Codable>: Codable {
    case value(Output)
    case threw(String)
}
