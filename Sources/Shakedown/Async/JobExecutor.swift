#if canImport(Glibc)
import Glibc
#endif

/// Shakedown's executor: one thread of its own that runs the jobs the concurrency runtime hands it, picking
/// each next job by its ``SchedulingPolicy``; delayed jobs (`Task.sleep`) run when their time has come, in real
/// time.
///
/// The thread starts with the first job, so a worker that never uses concurrency pays nothing. With one thread
/// every job runs serially: actor isolation holds trivially, and a seeded order replays.
final class JobExecutor: SerialExecutor, TaskExecutor, @unchecked Sendable {
    private let lock = ConditionLock()
    private var queue = JobQueue()
    private var chooser: JobChooser
    private var started = false
    private var stopped = false
    private var jobsRun: UInt64 = 0
    /// Why the thread could not be started (jobs then never run); read under the lock.
    private var startFailure: String?

    /// Why the executor's thread could not be started, if it could not.
    var startProblem: String? { lock.withLock { startFailure } }

    init(policy: SchedulingPolicy = .fifo) { chooser = JobChooser(policy) }

    /// Replaces the policy (and restarts its random stream); the decision count starts again at 0.
    func reset(policy: SchedulingPolicy) {
        lock.withLock { chooser = JobChooser(policy) }
    }

    /// The policy, and how many decisions and jobs it made and ran so far.
    var statistics: (policy: SchedulingPolicy, decisions: UInt64, jobs: UInt64) {
        lock.withLock { (chooser.policy, chooser.decisions, jobsRun) }
    }

    func enqueue(_ job: consuming ExecutorJob) { enqueue(UnownedJob(job)) }

    func enqueue(_ job: UnownedJob) { add { $0.append(job) } }

    /// A job that becomes ready at `due` (CLOCK_MONOTONIC, ns).
    func enqueue(_ job: UnownedJob, due: UInt64) { add { $0.append(job, due: due) } }

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

    private func add(_ insert: (inout JobQueue) -> Void) {
        let accepted: Bool = lock.withLock {
            if stopped { return false }
            insert(&queue)
            startIfNeeded()
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
        while let job = nextJob() {
            job.runSynchronously(isolatedTo: asUnownedSerialExecutor(), taskExecutor: asUnownedTaskExecutor())
        }
    }

    /// Waits for a ready job and picks it; nil once stopped.
    private func nextJob() -> UnownedJob? {
        lock.withLock {
            while !stopped {
                queue.promote(now: executorClockNow())
                if !queue.ready.isEmpty {
                    jobsRun &+= 1
                    return queue.take(at: chooser.pick(among: queue.ready.count))
                }
                lock.wait(until: queue.nextDue)
            }
            return nil
        }
    }
}
