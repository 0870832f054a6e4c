extension Seed {
    /// The seed of repetition `index` of a repeated run (`shakedown run --repeat`): repetition 0 keeps this seed,
    /// so a one-repetition replay with a printed repetition seed is that repetition again; every later one is
    /// an independent stream derived from this seed and `index` alone.
    ///
    /// Deterministic and stateless, so a shard that runs repetitions `k..<m` of a run computes the same seeds as
    /// one process running them all. The mixing constant differs from ``derived(for:)``'s, so a repetition's seed
    /// does not coincide with a worker stream of the same index.
    /// - Cost: one SplitMix64 step.
    public func repetition(_ index: Int) -> Seed {
        guard index != 0 else { return self }
        var mixer = SplitMix64(seed: value ^ (0xD1B5_4A32_D192_ED03 &* UInt64(truncatingIfNeeded: index)))
        return Seed(mixer.next())
    }

    /// The value as `0x`-prefixed hexadecimal, as `--seed` and `SHAKEDOWN_SEED` take it.
    public var hexadecimal: String { "0x" + String(value, radix: 16) }
}
