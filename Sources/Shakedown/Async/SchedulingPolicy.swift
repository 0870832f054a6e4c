/// How Shakedown's executor picks the next job among those ready to run.
public enum SchedulingPolicy: Sendable, Equatable {
    /// First come, first served: the order the runtime enqueued them (what a plain serial executor does).
    case fifo
    /// A choice drawn from the seed among all ready jobs at every step. With the executor's single thread the
    /// same seed replays the same order, as long as the body's jobs depend only on each other (no sleeps racing
    /// real time, no jobs arriving from threads outside the executor).
    case seeded(Seed)
    /// Probabilistic concurrency testing over tasks (Burckhardt et al., ASPLOS 2010): every task gets a priority
    /// drawn from the seed when its first job shows up, the ready job of the highest-priority task runs, and at
    /// `depth − 1` change points, drawn uniformly among the first `decisions` scheduling decisions, the task about
    /// to run drops below every other. It finds a bug that needs `depth` ordering constraints with probability at
    /// least 1 / (tasks · decisions^(depth−1)), and runs long stretches of one task, which plain random choice
    /// rarely does. Replays with one thread like ``seeded(_:)``.
    ///
    /// `depth` must be within 1...``PCTParameters/maximumDepth``, `decisions` within
    /// 1...``PCTParameters/maximumDecisions``; runs check them and throw
    /// ``AsyncExecutorError/invalidSchedulingArgument(name:value:allowed:)``.
    case pct(Seed, depth: Int = 3, decisions: Int = 64)

    /// The seed the policy draws from; nil for ``fifo``.
    public var seed: Seed? {
        switch self {
        case .fifo: nil
        case let .seeded(seed), let .pct(seed, _, _): seed
        }
    }

    /// The same policy drawing from `seed` (a worker's derived seed).
    func reseeded(_ seed: Seed) -> SchedulingPolicy {
        switch self {
        case .fifo: .fifo
        case .seeded: .seeded(seed)
        case let .pct(_, depth, decisions): .pct(seed, depth: depth, decisions: decisions)
        }
    }

    /// Refuses parameters outside their range, naming the parameter.
    func validate() throws(AsyncExecutorError) {
        guard case let .pct(_, depth, decisions) = self else { return }
        guard (1...PCTParameters.maximumDepth).contains(depth) else {
            throw .invalidSchedulingArgument(name: "depth", value: depth, allowed: 1...PCTParameters.maximumDepth)
        }
        guard (1...PCTParameters.maximumDecisions).contains(decisions) else {
            throw .invalidSchedulingArgument(name: "decisions", value: decisions,
                                             allowed: 1...PCTParameters.maximumDecisions)
        }
    }
}

/// The bounds of ``SchedulingPolicy/pct(_:depth:decisions:)``'s parameters.
public enum PCTParameters {
    /// At most this many ordering constraints (change points + 1): beyond it the chance of any one bug vanishes.
    public static let maximumDepth = 64
    /// The change points are drawn among at most this many decisions.
    public static let maximumDecisions = 10_000_000
}

/// Draws the index of the next job from the policy. Counts decisions: picks with more than one job ready.
struct JobChooser {
    private var generator: SplitMix64?
    private var pct: PCTPriorities?
    private(set) var decisions: UInt64 = 0
    let policy: SchedulingPolicy

    init(_ policy: SchedulingPolicy) {
        self.policy = policy
        switch policy {
        case .fifo: break
        case let .seeded(seed): generator = SplitMix64(seed: seed.value)
        case let .pct(seed, depth, decisions): pct = PCTPriorities(seed: seed, depth: depth, decisions: decisions)
        }
    }

    /// An index into `jobs` (which holds at least one job).
    mutating func pick(among jobs: [UnownedJob]) -> Int {
        guard jobs.count > 1 else { return 0 }
        decisions &+= 1
        if var priorities = pct {
            let index = priorities.pick(among: jobs, decision: decisions)
            pct = priorities
            return index
        }
        guard var drawn = generator else { return 0 }
        let index = Int(drawn.next() % UInt64(jobs.count))
        generator = drawn
        return index
    }

    /// Tells PCT which task's job was running when `job` arrived (nil: none, or another thread enqueued it).
    mutating func enqueued(_ job: UnownedJob, whileRunning running: UInt64?) {
        guard var priorities = pct else { return }
        priorities.enqueued(job, whileRunning: running)
        pct = priorities
    }

    /// The task key PCT ranks `job` by (nil unless PCT): the job's own task, or the one it runs on behalf of.
    func taskKey(of job: UnownedJob) -> UInt64? { pct?.key(of: job) }

    /// The PCT priority of a job's task, if the policy is PCT and the task has one yet.
    func priority(of job: UnownedJob) -> UInt64? { pct?.priority(of: job) }
}
