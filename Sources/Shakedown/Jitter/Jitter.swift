/// The ambient jitter point that code under test calls without being handed a ``JitterSource``.
///
/// Inside a Shakedown worker process it draws from that worker's seeded source; everywhere else (the test
/// process itself, production builds) it does nothing and costs one load and one branch.
/// The source is per process: a worker is its own process after `fork`, so workers never share it.
public enum Jitter {
    nonisolated(unsafe) private static var ambient: JitterSource?

    /// Perturbs the schedule here if running inside a worker with jitter enabled.
    @inline(__always)
    public static func point() {
        if let source = ambient { source.point() }
    }

    /// The source ambient points draw from in this process (set in a worker right after `fork`).
    package static var current: JitterSource? {
        get { ambient }
        set { ambient = newValue }
    }
}
