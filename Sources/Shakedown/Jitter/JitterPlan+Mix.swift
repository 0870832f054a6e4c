extension JitterPlan {
    /// The share of runs of a command under ``JitterMode/mix`` that preempt (``JitterMode/preempt``); the others
    /// hold the copies at the start gate only (``JitterMode/gate``). Chosen by the detection benchmark's budget
    /// measurement when preemption still fired every 1–10 µs (docs/benchmarks.md, "1-second runs"): race-aba found in 31
    /// of 40 one-second runs at 0.5 against 24 of 40 at 0.3, the one-instruction counters alike.
    public static let mixPreemptShare = 0.5

    /// The plan one run of an exec'd command uses: under ``JitterMode/mix``, ``JitterMode/preempt`` in a share
    /// ``mixPreemptShare`` of seeds and ``JitterMode/gate`` in the rest; under ``JitterMode/default``,
    /// ``JitterMode/preempt``; the pressure settings unchanged; every other mode as it is. A function of `seed` alone,
    /// so a repetition's seed (``Seed/repetition(_:)``) fixes its mode and replaying that seed draws the same mode again.
    /// - Cost: one SplitMix64 step.
    public func forCommandRun(seed: Seed) -> JitterPlan {
        var drawn = self
        switch mode {
        case .mix: drawn.mode = JitterPlan.mixPreempts(seed: seed) ? .preempt : .gate
        case .default: drawn.mode = .preempt
        default: return self
        }
        return drawn
    }

    /// Whether the run with `seed` preempts under `mix` (``forCommandRun(seed:)``). The mixing constant keeps the
    /// draw independent of the worker streams (``Seed/derived(for:)``) and the repetition seeds.
    public static func mixPreempts(seed: Seed, share: Double = mixPreemptShare) -> Bool {
        var mixer = SplitMix64(seed: seed.value ^ 0x6A09_E667_F3BC_C909)
        let unit = Double(mixer.next() >> 11) / Double(UInt64(1) << 53)  // uniform in 0 ..< 1
        return unit < share
    }
}
