/// How Shakedown's executor picks the next job among those ready to run.
public enum SchedulingPolicy: Sendable, Equatable {
    /// First come, first served: the order the runtime enqueued them (what a plain serial executor does).
    case fifo
    /// A choice drawn from the seed among all ready jobs at every step. With the executor's single thread the
    /// same seed replays the same order, as long as the body's jobs depend only on each other (no sleeps racing
    /// real time, no jobs arriving from threads outside the executor).
    case seeded(Seed)
}

/// Draws the index of the next job from the policy. Counts decisions: picks with more than one job ready.
struct JobChooser {
    private var generator: SplitMix64?
    private(set) var decisions: UInt64 = 0
    let policy: SchedulingPolicy

    init(_ policy: SchedulingPolicy) {
        self.policy = policy
        if case let .seeded(seed) = policy { generator = SplitMix64(seed: seed.value) }
    }

    /// An index below `count` (which is at least 1).
    mutating func pick(among count: Int) -> Int {
        guard count > 1 else { return 0 }
        decisions &+= 1
        guard var drawn = generator else { return 0 }
        let index = Int(drawn.next() % UInt64(count))
        generator = drawn
        return index
    }
}
