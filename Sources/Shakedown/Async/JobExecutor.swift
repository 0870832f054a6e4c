#if canImport(Glibc)
import Glibc
#endif

/// Shakedown's executor: threads of its own (one unless asked) that run the jobs the concurrency runtime hands
/// it, picking each next job by its ``SchedulingPolicy``; delayed jobs (`Task.sleep`) run when their time has
/// come, in real time.
///
/// The threads start with the first job, so a worker that never uses concurrency pays nothing. With one thread
/// every job runs serially: actor isolation holds trivially, and a seeded order replays. With more, jobs run in
/// parallel (default actors still serialise themselves) and the order depends on the threads' timing too.
final class JobExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private let lock = ConditionLock()
    private var queue = JobQueue()
    private var chooser: JobChooser
    private var started = false
    private var stopped = false
    private var jobsRun: UInt64 = 0
    /// Why the thread could not be started (jobs then never run); read under the lock.
    private var startFailure: String?
    private let threadCount: Int
    /// Whether this executor keeps the process's status block current (a worker's: hang reports read it).
    private let publishes: Bool
    private var running: UInt64 = 0
    /// The PCT task key of the job running now (one thread: the only one), for jobs it enqueues.
    private var runningTaskKey: UInt64?

    /// Why the executor's thread could not be started, if it could not.
    var startProblem: String? { lock.withLock { startFailure } }

    /// Whether sleeps end as soon as nothing else is ready (``SeededExecutor/DelayTime/virtual``).
    private let virtualTime: Bool

    /// `threads` must be within 1...``SeededExecutor/maximumThreads`` (callers validate it; it is clamped here).
    init(policy: SchedulingPolicy = .fifo, threads: Int = 1, virtualTime: Bool = false, publishesStatus: Bool = false) {
        chooser = JobChooser(policy)
        self.virtualTime = virtualTime
        threadCount = min(max(1, threads), SeededExecutor.maximumThreads)
        publishes = publishesStatus
        if publishes { ExecutorStatus.begin(policy: policy, threads: threadCount) }
    }

    /// Replaces the policy (and restarts its random stream); the decision count starts again at 0.
    func reset(policy: SchedulingPolicy) {
        lock.withLock {
            chooser = JobChooser(policy)
            if publishes { ExecutorStatus.begin(policy: policy, threads: threadCount) }
        }
    }

    /// The policy, and how many decisions and jobs it made and ran so far.
    var statistics: (policy: SchedulingPolicy, decisions: UInt64, jobs: UInt64) {
        lock.withLock { (chooser.policy, chooser.decisions, jobsRun) }
    }

    /// Jobs not run yet: ready now, waiting on a delay (`Task.sleep`), and running at this moment.
    var backlog: (ready: Int, delayed: Int, running: Int) {
        lock.withLock { (queue.ready.count, queue.delayed.count, Int(running)) }
    }

    /// Makes every delayed job ready now, as if its time had come. Used once a worker's last round is over and
    /// only sleepers are left: the sleep job of a cancelled `Task.sleep` stays queued until its due time (the
    /// runtime cannot take it back), and running it early is a no-op; a task still really sleeping wakes early
    /// rather than being dropped when the worker exits.
    func fastForwardDelayed() {
        lock.withLock {
            guard !queue.delayed.isEmpty else { return }
            queue.promote(now: UInt64.max)
            publish()
            lock.broadcast()
        }
    }

    func enqueue(_ job: consuming ExecutorJob) { enqueue(UnownedJob(job)) }

    func enqueue(_ job: UnownedJob) { add(job) { $0.append(job) } }

    /// A job that becomes ready at `due` (CLOCK_MONOTONIC, ns).
    func enqueue(_ job: UnownedJob, due: UInt64) { add(job) { $0.append(job, due: due) } }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

    func asUnownedTaskExecutor() -> UnownedTaskExecutor { UnownedTaskExecutor(ordinary: self) }

    /// Stops the thread after its current job and returns the jobs it had not run (to hand back to the runtime).
    /// Jobs sent here later go straight to the runtime's own executor.
    func stop() -> (ready: [UnownedJob], delayed: [JobQueue.Delayed]) {
        lock.withLock {
            stopped = true
            lock.broadcast()
            return queue.drain()
        }
    }

    private func add(_ job: UnownedJob, _ insert: (inout JobQueue) -> Void) {
        let accepted: Bool = lock.withLock {
            if stopped { return false }
            chooser.enqueued(job, whileRunning: runningTaskKey)
            insert(&queue)
            startIfNeeded()
            publish()
            lock.broadcast()
            return true
        }
        // A stopped executor no longer owns the hooks; a job still sent here directly goes to the runtime.
        if !accepted {
            var leftover = JobQueue()
            insert(&leftover)
            JobForwarding.forward(leftover.drain())
        }
    }

    /// Lock held.
    private func startIfNeeded() {
        guard !started else { return }
        started = true
        for _ in 0..<threadCount where startFailure == nil { startThread() }
    }

    /// Lock held.
    private func startThread() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            guard let context else { return nil }
            let executor = Unmanaged<JobExecutor>.fromOpaque(context).takeRetainedValue()
            executor.runLoop()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<JobExecutor>.fromOpaque(context).release()
            startFailure = "pthread_create failed (errno \(result)): async jobs cannot run"
            return
        }
        pthread_detach(thread)
    }

    private func runLoop() {
        if publishes { ExecutorStatus.threadStarted() }
        while let job = nextJob() {
            if threadCount == 1 {
                job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
            } else {
                // Not serial with several threads: the job runs on the task executor only.
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
            lock.withLock {
                running &-= 1
                runningTaskKey = nil
                publish()
            }
        }
    }

    /// Lock held: the status block a hang report reads (workers only).
    private func publish(started job: UnownedJob? = nil) {
        guard publishes else { return }
        ExecutorStatus.update(queue: queue, chooser: chooser, jobsRun: jobsRun, running: running, started: job)
    }

    /// Waits for a ready job and picks it; nil once stopped.
    private func nextJob() -> UnownedJob? {
        lock.withLock {
            while !stopped {
                queue.promote(now: executorClockNow())
                // Virtual time jumps to the earliest sleeper when nothing else can run (and nothing is running,
                // which could still enqueue an earlier job).
                if virtualTime, queue.ready.isEmpty, running == 0, let due = queue.nextDue { queue.promote(now: due) }
                if !queue.ready.isEmpty {
                    jobsRun &+= 1
                    running &+= 1
                    let job = queue.take(at: chooser.pick(among: queue.ready))
                    runningTaskKey = chooser.taskKey(of: job)
                    publish(started: job)
                    return job
                }
                lock.wait(until: queue.nextDue)
            }
            return nil
        }
    }
}
