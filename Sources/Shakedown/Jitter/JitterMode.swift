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
    /// For exec'd commands (`shakedown run --jitter mix`, ``Shake/run(command:_:counters:progress:)``): per run,
    /// ``preempt`` or ``gate``, drawn from the run's seed (``JitterPlan/forCommandRun(seed:)``,
    /// ``JitterPlan/mixPreemptShare`` preempt), so each repetition of `shakedown run --repeat` has its mode, the report
    /// and `--json` name it, and a replay of its seed draws it again. For closure workers: ``points``.
    ///
    /// Per second of repetitions the two are complementary on the race catalogue (docs/benchmarks.md, "Race detection
    /// power", "1-second runs"): the gate alone costs about a plain start per repetition and finds 9 of the 10 bugs in
    /// every 1-second run, but never the ABA slot reuse; preemption costs 5–20× more per repetition and is the only one
    /// that finds it. The mix had the best worst case (84 % of 1-second runs; the gate 0 %, preempt 60 %).
    /// A cooperative command's jitter points act in its ``gate`` repetitions only.
    case mix
    /// Jitter points, as before preemption existed. Preemption finds far more races in uninstrumented code
    /// (docs/guide.md, "Jitter modes") but stays opt-in (``preempt``, ``mix``, `--jitter preempt|mix`,
    /// `SHAKEDOWN_JITTER=preempt|mix`): with points plus preemption every < 100 µs as the default, the test suite ran
    /// without wedging (a waiting thread is no longer stormed) but preemption changed what three tests observe: a
    /// command's zombie count (fixed since: sleeps in commands keep their length), Foundation's `waitUntilExit` woken in
    /// a forked child, and a command crash reported by the Swift runtime the preload library used to bring along
    /// (fixed). The calls Linux never restarts after a signal handler, even with `SA_RESTART` (`poll`, `select`,
    /// `epoll_wait` and their mask-taking forms, System V IPC waits, timed semaphore waits, `pause`, `sigsuspend`,
    /// `sigtimedwait`, `sigwaitinfo`, sleeps), returned `EINTR` under preemption; in dynamically linked commands they
    /// now keep their semantics (the preload library blocks its timer signal while a thread waits in them). What
    /// remains: a static binary runs without preemption; raw `syscall(2)` calls, glibc's internal calls and calls not
    /// listed (socket timeouts, `io_getevents`) can still return `EINTR` early (docs/guide.md, "Why `default` is not
    /// `mix` (yet)").
    case `default`

    /// Whether jitter points act in this mode.
    public var usesPoints: Bool {
        switch self {
        case .points, .gate, .mix, .default, .syscalls, .pct: true
        case .none, .preempt: false
        }
    }

    /// Whether threads are preempted by timer signals in this mode.
    public var usesPreemption: Bool {
        switch self {
        case .preempt: true
        case .none, .points, .gate, .mix, .default, .syscalls, .pct: false
        }
    }

    /// Whether copies of an exec'd command are held at the preload library's start gate until all have loaded.
    public var usesStartGate: Bool {
        switch self {
        case .preempt, .gate: true
        case .none, .points, .mix, .default, .syscalls, .pct: false
        }
    }

    /// The mode's name, as `SHAKEDOWN_JITTER` takes it.
    public var description: String { rawValue }
}
