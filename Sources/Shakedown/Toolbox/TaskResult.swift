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

/// A worker's answers to one chunk, as they travel back to the pool: the outputs of the tasks that returned, in
/// order, and the error text of those that threw, by position. (Two flat arrays: an enum per task would cost two
/// keyed containers per task to encode and decode.)
struct PoolReplies<Output: Codable>: Codable {
    var outputs: [Output] = []
    var failedPositions: [Int] = []
    var failures: [String] = []

    /// One-letter keys: a reply must fit pools with small message limits.
    enum CodingKeys: String, CodingKey { case outputs = "o", failedPositions = "p", failures = "f" }

    /// Task results in chunk order, or `nil` when the reply does not match a chunk of `count` tasks.
    func results(count: Int) -> [TaskResult<Output>]? {
        guard outputs.count + failures.count == count, failedPositions.count == failures.count else { return nil }
        var results: [TaskResult<Output>] = []
        results.reserveCapacity(count)
        var nextOutput = 0, nextFailure = 0
        for position in 0..<count {
            if nextFailure < failedPositions.count, failedPositions[nextFailure] == position {
                results.append(.threw(failures[nextFailure]))
                nextFailure += 1
            } else {
                guard nextOutput < outputs.count else { return nil }
                results.append(.value(outputs[nextOutput]))
                nextOutput += 1
            }
        }
        return results
    }
}
