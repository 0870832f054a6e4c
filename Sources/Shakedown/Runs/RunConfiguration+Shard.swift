extension RunConfiguration {
    /// This configuration as shard `shard` runs it: the same run, cut like `shakedown run --shard` cuts
    /// repetitions.
    ///
    /// - Rounds: of the `R` rounds, the shard runs its block's count, ``Shard/range(of:)`` of `R` (shard 2/3 of
    ///   1,000 rounds runs 333). The shards' rounds add up to `R` exactly. A run with fewer rounds than shards
    ///   cannot be cut: every shard runs all `R` of them (a shard never skips a run, which would read as clean).
    /// - Seed: a worker's jitter is one stream over all its rounds, so a shard cannot start in the middle of it;
    ///   instead shard `i` takes the seed of repetition `i − 1` of the run's seed `S` (``Seed/repetition(_:)``):
    ///   shard 1 keeps `S`, so its rounds are the unsharded run's first rounds, and each other shard shakes with
    ///   its own independent stream. `S` itself is resolved first (explicit, else `SHAKEDOWN_SEED`, else random):
    ///   give every shard the same `SHAKEDOWN_SEED` to make the whole split deterministic.
    ///
    /// The report's seed is the shard's seed: rerunning with that seed and without `SHAKEDOWN_SHARD` runs all `R`
    /// rounds from it, the shard's rounds first. The report also carries a note naming the shard, its rounds and
    /// the base seed.
    /// - Throws: ``ShakedownError`` when the seed cannot be resolved (a bad `SHAKEDOWN_SEED`).
    /// - Cost: one SplitMix64 step.
    public func sharded(_ shard: Shard) throws(ShakedownError) -> (configuration: RunConfiguration, note: String) {
        let base = try Seed.resolve(seed)
        var result = self
        let block = shard.range(of: rounds)
        let cut = rounds >= shard.count
        if cut { result.rounds = block.count }
        result.seed = base.repetition(shard.index - 1)
        let roundsText = cut
            ? "rounds \(block.lowerBound)..<\(block.upperBound) of \(rounds) (\(block.count))"
            : "all \(rounds) round\(rounds == 1 ? "" : "s") (fewer rounds than shards: not cut)"
        let note = "shard \(shard) (\(Shard.environmentVariable)): \(roundsText), seed \(result.seed.map(\.description) ?? "?")"
            + " = base seed \(base)'s repetition \(shard.index - 1); replay this shard with "
            + "\(Shard.environmentVariable)=\(shard) \(base.replayHint)"
        return (result, note)
    }

    /// ``sharded(_:)`` with the shard in `SHAKEDOWN_SHARD`; the configuration unchanged (and no note) when it is
    /// unset. Closure runs (``Shake/fork(_:observing:body:)`` and its siblings) call this before anything else.
    /// - Throws: `.invalidArgument("SHAKEDOWN_SHARD")` when the variable is set to anything but `i/n` with
    ///   `1 ≤ i ≤ n`: a typo in a CI matrix is an error, never a silently unsharded run.
    public func shardedByEnvironment() throws(ShakedownError) -> (configuration: RunConfiguration, note: String?) {
        guard let shard = try Shard.fromEnvironment() else { return (self, nil) }
        let (configuration, note) = try sharded(shard)
        return (configuration, note)
    }
}
