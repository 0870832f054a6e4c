import CShakedownJitter

/// The ambient jitter point that code under test calls without being handed a `JitterSource`.
///
/// Inside a Shakedown worker process it draws from that worker's seeded source (a stream per thread, so any number
/// of threads may call it); everywhere else (the test process itself, production builds, a plan whose points do not
/// act) it does nothing and costs one load and one branch: the source lives in a C global read with a relaxed load,
/// no reference counting, no lazy-global check, and ``point()`` is inlined into the caller.
///
/// This type lives in the small `ShakedownJitter` library so that production code can keep its points without
/// linking the rest of Shakedown (ptrace, libunwind, lzma); `import Shakedown` re-exports it.
public enum Jitter {
    /// Perturbs the schedule here if running inside a worker whose plan acts at points.
    ///
    /// Cost outside a run: one relaxed load of a global and one not-taken branch, inlined at the call site (see
    /// docs/design.md for the release-build disassembly). Inside a run: a thread-local lookup, a few generator steps,
    /// and the yield, sleep or spin the seeded stream picks.
    @inlinable @inline(__always)
    public static func point() {
        shakedown_jitter_ambient_point()
    }
}
