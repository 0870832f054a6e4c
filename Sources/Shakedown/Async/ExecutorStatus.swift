import CShakedown
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the process's status block (`shakedown_async_status`, in C so its layout and address are fixed) current
/// for a worker's executor, so that a hang report can say which jobs wait in it.
///
/// Written under the executor's lock; read by another process while this one is stuck, so a read may catch a
/// half-written update: the report says "as last published". Cost: a few dozen stores per job.
enum ExecutorStatus {
    private static var block: UnsafeMutablePointer<shakedown_async_status> { shakedown_async_status_block() }

    /// A fresh block for this process and policy (a worker after the fork, or a new round's policy).
    static func begin(policy: SchedulingPolicy, threads: Int) {
        let status = block
        let hook = (status.pointee.pid == getpid()) ? (status.pointee.hook_address, status.pointee.hook_value) : (0, 0)
        status.pointee = shakedown_async_status()
        (status.pointee.hook_address, status.pointee.hook_value) = hook
        status.pointee.pid = getpid()
        status.pointee.threads = UInt32(clamping: threads)
        switch policy {
        case .fifo: status.pointee.policy = 0
        case .seeded: status.pointee.policy = 1
        case .pct: status.pointee.policy = 2
        }
        status.pointee.seed = policy.seed?.value ?? 0
        status.pointee.magic = UInt64(SHAKEDOWN_ASYNC_MAGIC)
    }

    /// Where the global hook lives and what Shakedown stored there: a hang report compares the stuck worker's
    /// hook with it to tell code that replaced it.
    static func recordHook(_ record: (address: UInt64, value: UInt64)?) {
        block.pointee.hook_address = record?.address ?? 0
        block.pointee.hook_value = record?.value ?? 0
    }

    /// Called first on an executor thread: the first one's tid is the one reports name.
    static func threadStarted() {
        if block.pointee.executor_tid == 0 { block.pointee.executor_tid = shakedown_async_gettid() }
    }

    /// The queue's counts and its first ``SHAKEDOWN_ASYNC_LISTED`` jobs; `started`: the job about to run.
    static func update(queue: JobQueue, chooser: JobChooser, jobsRun: UInt64, running: UInt64, started: UnownedJob?) {
        let status = block
        status.pointee.ready = UInt64(queue.ready.count)
        status.pointee.delayed = UInt64(queue.delayed.count)
        status.pointee.decisions = chooser.decisions
        status.pointee.jobs_run = jobsRun
        status.pointee.running = running
        if let started {
            status.pointee.running_task = JobIdentity.taskID(of: started)
            status.pointee.running_since_ns = executorClockNow()
        }
        var entries: [shakedown_async_job_entry] = []
        let capacity = Int(SHAKEDOWN_ASYNC_LISTED)
        for job in queue.ready.prefix(capacity) {
            entries.append(entry(job, chooser: chooser, due: 0))
        }
        for delayed in queue.delayed.prefix(capacity - entries.count) {
            entries.append(entry(delayed.job, chooser: chooser, due: delayed.due))
        }
        status.pointee.listed = UInt32(entries.count)
        withUnsafeMutableBytes(of: &status.pointee.jobs) { raw in
            let slots = raw.bindMemory(to: shakedown_async_job_entry.self)
            for (index, entry) in entries.enumerated() where index < slots.count { slots[index] = entry }
        }
    }

    private static func entry(_ job: UnownedJob, chooser: JobChooser, due: UInt64) -> shakedown_async_job_entry {
        shakedown_async_job_entry(task: JobIdentity.taskID(of: job), priority: chooser.priority(of: job) ?? 0,
                                  due_ns: due)
    }
}
