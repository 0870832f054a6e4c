/// How far a run has come, as reported to a progress callback while it goes on.
public struct RunProgress: Sendable, Hashable {
    /// Time since the run started.
    public let elapsed: Duration
    /// The run's deadline.
    public let timeout: Duration
    /// Workers (copies) that have exited.
    public let finished: Int
    /// All workers (copies) of the run.
    public let total: Int

    /// Creates a progress value (runs do this).
    public init(elapsed: Duration, timeout: Duration, finished: Int, total: Int) {
        self.elapsed = elapsed
        self.timeout = timeout
        self.finished = finished
        self.total = total
    }
}
