import ArgumentParser
import Shakedown

/// What `--shard i/n` asks of `shakedown run`: the checks that make the shards add up to the unsharded run.
enum ShardPlan {
    /// Refuses a shard that could not be merged into the unsharded run (usage error, exit 64): more shards than
    /// repetitions (a shard with nothing to do), or no seed every shard agrees on (each would pick its own random
    /// one, and their repetitions would not be the unsharded run's).
    static func validate(_ shard: Shard, repetitions: Int, seed: Seed?) throws {
        guard shard.count <= repetitions else {
            throw ValidationError("--shard \(shard): \(shard.count) shards need at least \(shard.count) repetitions "
                + "(--repeat \(repetitions) leaves some shard nothing to run); give --repeat R with n ≤ R")
        }
        if seed != nil { return }
        let fromEnvironment: Seed?
        do { fromEnvironment = try Seed.fromEnvironment() } catch {
            throw ValidationError(TerminalText.escaped(error.description))
        }
        guard fromEnvironment != nil else {
            throw ValidationError("--shard \(shard) needs a seed every shard shares: give --seed S (or set "
                + "\(Seed.environmentVariable)) with the same value on every shard")
        }
    }
}

extension RunCommand {
    /// The repetitions this process runs: `0..<R`, or the block of `--shard i/n` (``Shard/range(of:)``).
    var plannedRepetitions: Range<Int> { shard.map { $0.range(of: repetitions) } ?? 0..<repetitions }
}
