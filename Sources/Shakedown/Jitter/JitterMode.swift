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
    /// (``JitterPlan/preemptionSignal``) whose handler yields or sleeps (``JitterPlan/init(mode:)``; a plan may add
    /// spins). Exec'd commands get it from a preload library (dynamically linked commands only), with the start gate of
    /// ``gate``; closure workers from an in-process timer.
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
    /// Half the repetitions pay no timers and no signal handling: about a plain start each. On the race catalogue the
    /// default (preemption in every run) has the better worst case per second (docs/benchmarks.md, "1-second runs");
    /// the mix is for commands that preemption slows down a lot. A cooperative command's jitter points act in its
    /// ``gate`` repetitions only.
    case mix
    /// The mode to use unless a measurement says otherwise: for exec'd commands ``preempt`` in every run (the start
    /// gate, then per-thread timers; ``JitterPlan/forCommandRun(seed:)``), for closure workers ``points``.
    ///
    /// Chosen by the detection benchmark (docs/benchmarks.md, "Race detection power"): with the standard preemption
    /// settings (``JitterPlan/standardPreemptInterval``, yields and sleeps) it found each bug of the race catalogue
    /// in 300 of 300 one-second runs (96–100 % on a loaded host), where the gate alone missed the ABA slot reuse
    /// and the mix lost runs to its gate-only half. Closure workers get points because an in-process timer interrupts the test process's own
    /// runtime too (Foundation's `waitUntilExit` in a forked child, sleeps cut short: docs/guide.md, "Why closure
    /// workers get points under `default`").
    ///
    /// What it can change in a command: the calls Linux never restarts after a signal handler, even with
    /// `SA_RESTART` (`poll`, `select`, `epoll_wait` and their mask-taking forms, System V IPC waits, timed semaphore
    /// waits, `pause`, `sigsuspend`, `sigtimedwait`, `sigwaitinfo`, sleeps), keep their semantics in dynamically
    /// linked commands: the preload library blocks its timer signal while a thread waits in them. Raw `syscall(2)`
    /// calls, glibc's internal calls and calls not listed (socket timeouts, `io_getevents`) can still return `EINTR`
    /// early; a static binary runs without preemption, and the report says so.
    ///
    /// - Cost: each copy of a command loads the preload library (which brings the Swift runtime along) and waits at
    ///   the start gate for the others; timer signals slow the code while it runs, most in the first 0.5 s of each
    ///   process (then the intervals double every 0.5 s, at most 64 ×, so a long computation keeps most of its
    ///   speed). `--jitter points`
    ///   (or ``points``) avoids all of it for commands that need speed more than detection (docs/benchmarks.md,
    ///   "the default mode (preempt) ÷ `--jitter points`").
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
