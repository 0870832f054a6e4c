/// Per-worker steps around a closure run's rounds, run in each worker process.
///
/// ``setUp`` runs once after the fork, before round 0 (open a database connection, map a file: state that must
/// never be shared across a fork is made here); ``tearDown`` runs once after the last round the worker ran.
/// A throw in either is reported for that worker like a throw in the body, and a worker whose setup threw runs
/// no round.
public struct WorkerLifecycle {
    /// Runs once per worker, after the fork and before the first round.
    public var setUp: ((Worker) throws -> Void)?
    /// Runs once per worker after its rounds, also when they ended early.
    public var tearDown: ((Worker) throws -> Void)?

    /// Steps for each worker; either may be `nil`.
    public init(setUp: ((Worker) throws -> Void)? = nil, tearDown: ((Worker) throws -> Void)? = nil) {
        self.setUp = setUp
        self.tearDown = tearDown
    }
}
