import CShakedown

/// One worker's jitter decisions, drawn from seeded generators: one stream per thread.
///
/// ``point()`` is where code under test lets Shakedown perturb the schedule. It is thread-safe: each thread that
/// reaches a point gets its own stream, seeded from ``seed`` and the thread's order of first use (the first thread
/// draws from ``seed`` itself), so threads never share a generator. Every decision is folded into ``digest``; with one
/// thread, two runs with the same seed make identical choices. With several threads, which thread comes first is up
/// to the scheduler, so the streams are reproducible per order of first use, not per thread.
///
/// Cost: a disabled source (a plan whose points do not act) returns after one branch; an enabled point costs a
/// thread-local lookup and a few generator steps (nanoseconds) plus the action itself.
public final class JitterSource: @unchecked Sendable {
    /// The plan the decisions follow.
    public let plan: JitterPlan
    /// The seed this source started from.
    public let seed: Seed
    /// Owned; freed in deinit. Only read through the thread-safe C functions.
    package let root: OpaquePointer?
    private let acts: Bool

    /// Creates a source; when the plan's points do not act, every point is a single branch.
    public init(plan: JitterPlan, seed: Seed) {
        self.plan = plan
        self.seed = seed
        acts = plan.actsAtPoints
        let threshold = plan.probability >= 1 ? UInt64.max : UInt64(plan.probability * Double(UInt64.max))
        let sleepMicros = UInt64(max(plan.maximumSleep.nanoseconds / 1_000, 1))
        root = shakedown_jitter_root_create(seed.value, threshold, UInt32(clamping: plan.yieldWeight),
                                            UInt32(clamping: plan.sleepWeight), UInt32(clamping: plan.spinWeight),
                                            sleepMicros, UInt64(max(plan.maximumSpin, 1)))
    }

    deinit {
        if let root { shakedown_jitter_root_destroy(root) }
    }

    /// How many points were reached, over all threads (exact once they are done).
    public var points: Int { root.map { Int(truncatingIfNeeded: shakedown_jitter_points($0)) } ?? 0 }
    /// How many points acted (yielded, slept or spun), over all threads.
    public var actions: Int { root.map { Int(truncatingIfNeeded: shakedown_jitter_actions($0)) } ?? 0 }
    /// How many threads reached a point.
    public var threads: Int { root.map { Int(shakedown_jitter_threads($0)) } ?? 0 }
    /// A running hash (FNV-1a) of every decision: the first thread's own digest when one thread ran, else a fold of
    /// each thread's digest in order of first use.
    public var digest: UInt64 { root.map { shakedown_jitter_digest($0) } ?? 0xCBF2_9CE4_8422_2325 }

    /// A jitter point: maybe yield, sleep or spin, as the plan and the calling thread's seeded stream decide.
    @inline(__always)
    public func point() {
        guard acts, let root else { return }
        shakedown_jitter_point(root)
    }
}
