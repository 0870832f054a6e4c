import CShakedown

/// What a hang report says about Swift concurrency in a stuck worker: the jobs waiting in Shakedown's executor
/// (read from the worker's status block), and which threads sit in the concurrency runtime.
///
/// The runtime keeps no list of suspended tasks that another process could read, so a task that waits on a
/// continuation nobody resumes is invisible here except as "nothing ready, nothing running": the note says so.
/// Cost: one process_vm_readv per stuck process (a few hundred bytes), run at the deadline only.
enum AsyncHangReport {
    /// One note per stuck worker that ran Shakedown's executor, or whose threads sit in the runtime.
    static func notes(for snapshots: [ProcessSnapshot], labels: [Int32: String]) -> [String] {
        snapshots.compactMap { snapshot in
            note(for: snapshot, label: labels[snapshot.pid] ?? "pid \(snapshot.pid)")
        }
    }

    private static func note(for snapshot: ProcessSnapshot, label: String) -> String? {
        var status = shakedown_async_status()
        let readFailure = shakedown_async_read_status(snapshot.pid, &status)
        let valid = readFailure == 0 && status.magic == UInt64(SHAKEDOWN_ASYNC_MAGIC) && status.pid == snapshot.pid
        let runtimeThreads = threadsInRuntime(snapshot, executorThread: valid ? status.executor_tid : 0)
        let idle = valid && status.ready == 0 && status.delayed == 0 && status.running == 0
        let blockedInDispatch = runtimeThreads.contains { $0.contains("in Dispatch") }
        let dispatch = (idle || blockedInDispatch) ? DispatchAfterFork.note(worker: snapshot) : nil
        guard valid else {
            guard !runtimeThreads.isEmpty else { return nil }
            return "async (\(label)): " + (runtimeThreads + [dispatch].compactMap { $0 }).joined(separator: "; ")
        }
        var parts = [executorSummary(status)]
        parts.append(contentsOf: waitingJobs(status))
        parts.append(contentsOf: executorThreadState(status, snapshot))
        parts.append(contentsOf: runtimeThreads)
        if let replaced = replacedHook(status, pid: snapshot.pid) { parts.append(replaced) }
        if idle {
            parts.append("nothing is ready or running: the round's tasks wait on something no job will do (a "
                + "continuation never resumed, a Dispatch queue that does not run after fork, an actor awaiting itself)")
        }
        if let dispatch { parts.append(dispatch) }
        return "async (\(label)): " + parts.joined(separator: "; ")
    }

    private static func executorSummary(_ status: shakedown_async_status) -> String {
        let policy = switch status.policy {
        case 1: "seeded random, seed \(status.seed)"
        case 2: "PCT, seed \(status.seed)"
        default: "fifo"
        }
        return "Shakedown's executor (\(policy), \(status.threads) thread\(status.threads == 1 ? "" : "s")): "
            + "\(status.ready) job\(status.ready == 1 ? "" : "s") ready, \(status.delayed) sleeping, "
            + "\(status.running) running; \(status.jobs_run) run so far, \(status.decisions) scheduling decisions"
    }

    /// The listed jobs: task ids (and PCT priorities), sleeping ones with the time left.
    private static func waitingJobs(_ status: shakedown_async_status) -> [String] {
        var entries = status.jobs
        let listed = min(Int(status.listed), Int(SHAKEDOWN_ASYNC_LISTED))
        let now = executorClockNow()
        let described: [String] = withUnsafeBytes(of: &entries) { raw in
            raw.bindMemory(to: shakedown_async_job_entry.self).prefix(listed).map { entry in
                var text = entry.task == 0 ? "a job that is not a task (an actor's)" : "task \(entry.task)"
                if entry.priority != 0 { text += " (PCT priority \(entry.priority >> 40))" }
                if entry.due_ns != 0 {
                    let left = entry.due_ns > now ? (entry.due_ns - now) / 1_000_000 : 0
                    text += " sleeping, due in \(left) ms"
                }
                return text
            }
        }
        guard !described.isEmpty else { return [] }
        let total = status.ready + status.delayed
        let more = total > UInt64(listed) ? " and \(total - UInt64(listed)) more" : ""
        return ["waiting: " + described.joined(separator: ", ") + more]
    }

    /// Where the executor's thread is: a job that never returns holds it, and nothing else can run.
    private static func executorThreadState(_ status: shakedown_async_status, _ snapshot: ProcessSnapshot) -> [String] {
        guard status.running > 0 else { return [] }
        let job = status.running_task == 0 ? "a job that is not a task" : "task \(status.running_task)"
        let milliseconds = (executorClockNow() &- status.running_since_ns) / 1_000_000
        var text = "running: \(job) for \(milliseconds) ms"
        if let thread = snapshot.threads.first(where: { $0.tid == status.executor_tid }) {
            text += " on the executor's thread \(thread.tid)"
            if let call = thread.systemCall { text += ", blocked in \(call)" }
            if let frame = thread.firstUserFrame { text += " at \(frame.shortDescription)" }
            if status.threads == 1 { text += " — a job that blocks the only executor thread stops every other job" }
        }
        return [text]
    }

    /// Threads (other than the executor's) with a frame in the concurrency runtime or in Dispatch.
    private static func threadsInRuntime(_ snapshot: ProcessSnapshot, executorThread: Int32) -> [String] {
        snapshot.threads.compactMap { thread -> String? in
            guard thread.tid != executorThread else { return nil }
            let names = thread.frames.compactMap { frame in frame.function ?? frame.symbol }
            let modules = thread.frames.compactMap(\.moduleName)
            let waitsForRound = names.contains { $0.contains("AsyncCompletion") }
            if waitsForRound { return "thread \(thread.tid) waits for the round's task (the worker's main thread)" }
            let inConcurrency = modules.contains { $0.hasPrefix("libswift_Concurrency") }
            let inDispatch = modules.contains { $0.hasPrefix("libdispatch") }
            guard inConcurrency || inDispatch else { return nil }
            let place = inConcurrency ? "the Swift concurrency runtime" : "Dispatch"
            let call = thread.systemCall.map { ", in \($0)" } ?? ""
            return "thread \(thread.tid) (\(thread.name)) is blocked in \(place)\(call)"
        }
    }

    /// The worker's global hook no longer holds Shakedown's value: code in the body installed its own.
    private static func replacedHook(_ status: shakedown_async_status, pid: Int32) -> String? {
        guard status.hook_address != 0 else { return nil }
        var current: UInt64 = 0
        guard shakedown_async_read_word(pid, status.hook_address, &current) == 0, current != status.hook_value else {
            return nil
        }
        return "swift_task_enqueueGlobal_hook was replaced by code in the worker: its jobs no longer reach "
            + "Shakedown's executor (they may never run after fork)"
    }
}
