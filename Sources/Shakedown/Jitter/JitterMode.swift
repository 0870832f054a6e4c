/// How a run perturbs the schedule of the code under test.
///
/// Chosen by ``JitterPlan/mode``, and for every run of a process by `SHAKEDOWN_JITTER=MODE`
/// (``JitterPlan/resolve(_:)``). Each mode is seeded by the run's seed.
public enum JitterMode: String, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// No perturbation at all: plain stress.
    case none
    /// Only where the code calls `Jitter.point()` (or a ``JitterSource``): cheap and precise, but blind to code
    /// nobody instrumented.
    case points
    /// Preemption at arbitrary instructions without code changes: a per-thread timer on a real-time signal
    /// (``JitterPlan/preemptionSignal``) whose handler yields, sleeps or spins. Exec'd commands get it from a preload
    /// library (dynamically linked commands only); closure workers from an in-process timer.
    case preempt
    /// A start gate for exec'd commands, no timers: the preload library holds every copy before `main` until all have
    /// loaded and releases them together, so copies of a short program overlap instead of running one after the
    /// other; jitter points act as in ``points``. Closure workers start together anyway (the run's start barrier):
    /// for them this is ``points``.
    case gate
    /// Control of the system calls through which processes interact (seccomp user notification): the run leader
    /// releases one copy's call at a time, chosen by the seed (``ScheduleOptions``). Falls back to ``preempt``
    /// where the kernel or a sandbox has no seccomp user notification, and says so in the report.
    case syscalls
    /// PCT priorities over the controlled system calls of ``syscalls`` (``ScheduleOptions/pctDepth``); the same
    /// fallback.
    case pct
    /// Jitter points, as before preemption existed. Preemption finds far more races in uninstrumented code
    /// (docs/guide.md, "Jitter modes") but stays opt-in (``preempt``, `--jitter preempt`, `SHAKEDOWN_JITTER=preempt`):
    /// with points plus preemption every < 100 µs as the default, the test suite ran without wedging (a waiting thread
    /// is no longer stormed) but preemption changed what three tests observe: a command's zombie count, Foundation's
    /// `waitUntilExit` woken in a forked child, and a command crash reported by the Swift runtime the preload library
    /// used to bring along (docs/guide.md, "Why `default` is not `preempt`").
    case `default`

    /// Whether jitter points act in this mode.
    public var usesPoints: Bool {
        switch self {
        case .points, .gate, .default, .syscalls, .pct: true
        case .none, .preempt: false
        }
    }

    /// Whether threads are preempted by timer signals in this mode.
    public var usesPreemption: Bool {
        switch self {
        case .preempt: true
        case .none, .points, .gate, .default, .syscalls, .pct: false
        }
    }

    /// Whether copies of an exec'd command are held at the preload library's start gate until all have loaded.
    public var usesStartGate: Bool {
        switch self {
        case .preempt, .gate: true
        case .none, .points, .default, .syscalls, .pct: false
        }
    }

    /// The mode's name, as `SHAKEDOWN_JITTER` takes it.
    public var description: String { rawValue }
}
