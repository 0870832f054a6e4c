import CShakedown

/// The ambient jitter point that code under test calls without being handed a ``JitterSource``.
///
/// Inside a Shakedown worker process it draws from that worker's seeded source (a stream per thread, so any number
/// of threads may call it); everywhere else (the test process itself, production builds, a plan whose points do not
/// act) it does nothing and costs one load and one branch: the source lives in a C global read with a relaxed load,
/// no reference counting, no lazy-global check.
public enum Jitter {
    /// Keeps the source alive while its root is the ambient one; only written by the thread that sets it up.
    nonisolated(unsafe) private static var ambient: JitterSource?

    /// Perturbs the schedule here if running inside a worker whose plan acts at points.
    @inline(__always)
    public static func point() {
        shakedown_jitter_ambient_point()
    }

    /// The source ambient points draw from in this process (set in a worker right after `fork`, before the body
    /// starts any thread). A source whose points do not act is kept but not armed, so points stay one branch.
    package static var current: JitterSource? {
        get { ambient }
        set {
            ambient = newValue
            let armed = newValue.flatMap { $0.plan.actsAtPoints ? $0.root : nil }
            shakedown_jitter_set_ambient(armed)
        }
    }

    /// Whether ambient points act in this process (a source whose plan acts at points is current).
    package static var isArmed: Bool { shakedown_jitter_ambient_is_set() != 0 }
}
