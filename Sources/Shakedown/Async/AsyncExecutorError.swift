/// Why Shakedown's executor could not take over (or finish with) the Swift concurrency runtime's global queue.
public enum AsyncExecutorError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The runtime loaded in this process does not export the named hook variable (an older or different
    /// runtime): Shakedown cannot route jobs to its own executor.
    case missingRuntimeSymbol(String)
    /// Other code (a test helper such as `withMainSerialExecutor`, or a runtime tool) already set the named hook.
    /// Shakedown does not chain to it: the other code's assumptions about where jobs run would silently break.
    case hookAlreadyInstalled(String)
    /// Code in the body replaced the named hook after Shakedown installed it (its own executor hook, a test helper):
    /// from then on its jobs went elsewhere, so the order was not Shakedown's and a verdict would mean nothing.
    case hookReplaced(String)
    /// Another in-process seeded run is going on: the hooks are process-global, so only one run may own them.
    case inProcessRunActive
    /// The executor's thread could not be created (the reason, with errno): no job of the body can run.
    case threadNotStarted(String)
    /// A scheduling parameter (thread count, PCT depth or decisions) outside the range it allows.
    case invalidSchedulingArgument(name: String, value: Int, allowed: ClosedRange<Int>)
    /// The async body did not finish before the deadline; the seed and decisions made so far replay the order.
    case timedOut(seed: UInt64, decisions: UInt64)

    /// The error in words, naming the symbol, seed or reason.
    public var description: String {
        switch self {
        case let .missingRuntimeSymbol(name):
            return "the Swift concurrency runtime in this process does not export \(name); async bodies cannot be "
                + "scheduled by Shakedown's executor"
        case let .hookAlreadyInstalled(name):
            return "\(name) is already set by other code in this process; Shakedown does not chain to a foreign "
                + "hook — remove it (or run the body without it) to use Shakedown's executor"
        case let .hookReplaced(name):
            return "code in the body replaced \(name) while Shakedown's executor owned it; its jobs no longer ran "
                + "on Shakedown's executor — remove that hook from the code under test"
        case .inProcessRunActive:
            return "another in-process seeded run owns the concurrency runtime's hooks; only one may run at a time"
        case let .threadNotStarted(reason):
            return "Shakedown's executor thread could not be started: \(reason)"
        case let .invalidSchedulingArgument(name, value, allowed):
            return "\(name) must be within \(allowed.lowerBound)...\(allowed.upperBound), got \(value)"
        case let .timedOut(seed, decisions):
            return "the async body did not finish before the deadline (scheduling seed \(seed), \(decisions) "
                + "scheduling decisions so far)"
        }
    }
}
