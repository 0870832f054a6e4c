/// The state of ``SchedulingPolicy/pct(_:depth:decisions:)``: a priority per task and the change points.
///
/// Initial priorities have bit 62 set, so every one of them is above the demoted priorities `1...depth−1` that
/// change points hand out; ties (never in practice, 62 random bits) go to the job enqueued first.
struct PCTPriorities {
    private var generator: SplitMix64
    private var priorities: [UInt64: UInt64] = [:]
    /// Jobs that are not tasks (an actor's processing job) → the task whose job enqueued them: the actor runs on
    /// that task's behalf, so it gets that task's priority instead of one of its own.
    private var onBehalfOf: [UInt64: UInt64] = [:]
    /// Decision numbers (1-based) at which the task about to run is demoted, ascending.
    private(set) var changePoints: [UInt64]
    private let depth: Int

    init(seed: Seed, depth: Int, decisions: Int) {
        generator = SplitMix64(seed: seed.value)
        self.depth = max(1, depth)
        let span = UInt64(max(1, decisions))
        var points = Set<UInt64>()
        // Distinct points when there is room for them; with fewer decisions than points, some coincide.
        let wanted = min(self.depth - 1, Int(span))
        while points.count < wanted { points.insert(generator.next() % span + 1) }
        changePoints = points.sorted()
    }

    /// The job of the highest-priority task; at a change point, that task is demoted first.
    mutating func pick(among jobs: [UnownedJob], decision: UInt64) -> Int {
        var chosen = highest(among: jobs)
        if let point = changePoints.firstIndex(of: decision) {
            // The i-th change point (1-based) demotes to depth − i: later demotions sink below earlier ones.
            priorities[key(of: jobs[chosen])] = UInt64(max(1, depth - (point + 1)))
            chosen = highest(among: jobs)
        }
        return chosen
    }

    /// Records that `job` was enqueued while the job of task `running` ran (the executor's own thread).
    mutating func enqueued(_ job: UnownedJob, whileRunning running: UInt64?) {
        let task = JobIdentity.task(of: job)
        guard task >> 63 == 1 else { return }
        if let running { onBehalfOf[task] = running } else { onBehalfOf[task] = nil }
    }

    func priority(of job: UnownedJob) -> UInt64? { priorities[key(of: job)] }

    /// The task a job's priority belongs to: its own, or for a non-task job the task it runs on behalf of.
    func key(of job: UnownedJob) -> UInt64 {
        let task = JobIdentity.task(of: job)
        return onBehalfOf[task] ?? task
    }

    private mutating func highest(among jobs: [UnownedJob]) -> Int {
        var best = 0
        var bestPriority: UInt64 = 0
        for (index, job) in jobs.enumerated() {
            let priority = assigned(key(of: job))
            if priority > bestPriority {
                best = index
                bestPriority = priority
            }
        }
        return best
    }

    private mutating func assigned(_ task: UInt64) -> UInt64 {
        if let priority = priorities[task] { return priority }
        let priority = (generator.next() >> 2) | (1 << 62)
        priorities[task] = priority
        return priority
    }
}
