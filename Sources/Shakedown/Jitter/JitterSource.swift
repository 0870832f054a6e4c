#if canImport(Glibc)
import Glibc
#endif

/// One worker's stream of jitter decisions, drawn from a seeded generator.
///
/// ``point()`` is where code under test lets Shakedown perturb the schedule. Every decision is folded into
/// ``digest``, so two runs with the same seed can be checked to have made identical choices.
/// Not thread-safe: one source per worker process (or per thread).
public final class JitterSource {
    /// The plan the decisions follow.
    public let plan: JitterPlan
    /// The seed this source started from.
    public let seed: Seed
    private var generator: SplitMix64
    private let threshold: UInt64
    private let totalWeight: UInt64
    /// How many points were reached.
    public private(set) var points: Int = 0
    /// How many points acted (yielded, slept or spun).
    public private(set) var actions: Int = 0
    /// A running hash (FNV-1a) of every decision made.
    public private(set) var digest: UInt64 = 0xCBF2_9CE4_8422_2325

    /// Creates a source; with `.none` every point is a single branch.
    public init(plan: JitterPlan, seed: Seed) {
        self.plan = plan
        self.seed = seed
        generator = SplitMix64(seed: seed.value)
        threshold = plan.probability >= 1 ? UInt64.max : UInt64(plan.probability * Double(UInt64.max))
        totalWeight = UInt64(plan.yieldWeight + plan.sleepWeight + plan.spinWeight)
    }

    /// A jitter point: maybe yield, sleep or spin, as the plan and the seeded generator decide.
    @inline(__always)
    public func point() {
        guard plan.isEnabled else { return }
        act()
    }

    @inline(never)
    private func act() {
        points += 1
        let draw = generator.next()
        guard draw <= threshold || threshold == UInt64.max, totalWeight > 0 else {
            record(0)
            return
        }
        actions += 1
        var pick = generator.next() % totalWeight
        if pick < UInt64(plan.yieldWeight) {
            record(1)
            sched_yield()
            return
        }
        pick -= UInt64(plan.yieldWeight)
        let amount = generator.next()
        if pick < UInt64(plan.sleepWeight) {
            let limit = UInt64(max(plan.maximumSleep.nanoseconds / 1_000, 1))
            let micros = 1 + amount % limit
            record(2 &+ micros << 2)
            usleep(UInt32(truncatingIfNeeded: micros))
        } else {
            let spins = amount % UInt64(plan.maximumSpin)
            record(3 &+ spins << 2)
            var sink: UInt64 = 0
            for i in 0..<spins { sink = sink &+ i }
            withExtendedLifetime(sink) {}
        }
    }

    @inline(__always)
    private func record(_ decision: UInt64) {
        digest = (digest ^ decision) &* 0x100_0000_01B3
    }
}
