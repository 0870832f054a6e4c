/// How a run perturbs the schedule of the code under test.
///
/// Chosen by ``JitterPlan/mode``, and for every run of a process by `SHAKEDOWN_JITTER=MODE`
/// (``JitterPlan/resolve(_:)``). Each mode is seeded by the run's seed.
public enum JitterMode: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// No perturbation at all: plain stress.
    case none
    /// Only where the code calls ``Jitter/point()`` (or a ``JitterSource``): cheap and precise, but blind to code
    /// nobody instrumented.
    case points
    /// Preemption at arbitrary instructions without code changes: a per-thread timer on a real-time signal
    /// (``JitterPlan/preemptionSignal``) whose handler yields, sleeps or spins. Exec'd commands get it from a preload
    /// library (dynamically linked commands only); closure workers from an in-process timer.
    case preempt
    /// Control of the system calls through which processes interact (seccomp user notification). Until the
    /// scheduler is wired into runs this mode runs as ``preempt`` plus ``points`` and says so
    /// (``JitterPlan/fallbackNote``).
    case syscalls
    /// PCT priorities over controlled points. Until the scheduler is wired into runs this mode runs as ``preempt``
    /// plus ``points`` and says so (``JitterPlan/fallbackNote``).
    case pct
    /// Jitter points plus gentle preemption: timers fire within 100 µs (``JitterPlan/default``) instead of the 10 µs of
    /// ``preempt``. On the 2-core VM this was measured on, each timer signal costs ≈ 40 µs, so 10 µs timers leave
    /// running code ≈ 1 % of its speed: good at stretching short races, far too slow for a whole test suite;
    /// at 100 µs lock-heavy runs take about as long as with points alone (docs/guide.md, "Jitter modes").
    case `default`

    /// Whether jitter points act in this mode.
    public var usesPoints: Bool {
        switch self {
        case .points, .default, .syscalls, .pct: true
        case .none, .preempt: false
        }
    }

    /// Whether threads are preempted by timer signals in this mode.
    public var usesPreemption: Bool {
        switch self {
        case .preempt, .syscalls, .pct, .default: true
        case .none, .points: false
        }
    }

    /// The mode's name, as `SHAKEDOWN_JITTER` takes it.
    public var description: String { rawValue }
}
