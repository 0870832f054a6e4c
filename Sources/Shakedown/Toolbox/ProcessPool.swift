#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// A fixed set of forked worker processes that run one work function over many inputs: the `Pool` of classic
/// multiprocessing, built to report what went wrong per input.
///
/// The work function is given at creation (it is in every worker from the fork on; functions cannot be sent to
/// a running process). ``map(_:chunkSize:timeout:)`` returns results in input order; ``submit(_:)`` returns a
/// ``PoolTask`` to wait on. Per input the result says whether the function returned, threw, crashed its worker
/// (the signal), or ran past `taskTimeout`. A crashed or hung worker is killed, reaped and replaced, and its task
/// is not run again. With `chunkSize` > 1 the other inputs of that chunk are run again by the new worker (the
/// replies of a chunk travel together): use chunk size 1 when no input may run twice.
///
/// The pool has no thread of its own: whoever waits (map, ``PoolTask/wait(timeout:)``, ``join(timeout:)``)
/// drives it. Use it from one thread at a time. Workers get SIGKILL when the thread that forked them exits, and
/// ``terminate()`` (also run when the pool goes away) kills and reaps them all: no process is left behind.
///
/// Cost: one fork per worker (and per replacement); per chunk one message each way over a Unix socket, plus
/// the ``CompactEncoder`` encoding of inputs and outputs.
public final class ProcessPool<Input: Codable, Output: Codable> {
    /// The number of worker processes.
    public let processes: Int
    /// The longest one input may run before its worker is killed; `nil`: no limit.
    public let taskTimeout: Duration?
    /// Workers that crashed or hung and were replaced.
    public private(set) var replacedWorkers = 0

    private let work: (Input) throws -> Output
    private let progress: PoolProgress
    private let maximumMessageBytes: Int
    private var workers: [PoolWorkerState<Input>] = []
    private var pending: [PoolChunk<Input>] = []
    private var results: [Int: TaskResult<Output>] = [:]
    /// Outputs of whole successful ``mapValues(_:chunkSize:timeout:)`` chunks, by the chunk's first task id.
    private var bulkOutputs: [Int: [Output]] = [:]
    private var nextTask = 0
    private var closed = false
    private var joined = false

    /// Forks the workers.
    /// - Parameters:
    ///   - processes: how many workers, 1 ... 1024; `nil`: ``AvailableCPUs/count`` (affinity and cgroup quota).
    ///   - taskTimeout: the longest one input may run (positive); `nil`: no limit.
    ///   - maximumMessageBytes: the largest encoded chunk of inputs or replies (see ``MessagePipe``).
    ///   - work: runs in the workers, once per input.
    /// - Throws: `.invalidArgument("processes")` for 0, negative or more than 1024; `.invalidArgument("taskTimeout")`
    ///   for zero or negative; `.systemCall("fork")`/`("socketpair")` when the system refuses.
    public init(processes: Int? = nil, taskTimeout: Duration? = nil,
                maximumMessageBytes: Int = MessagePipe.defaultMaximumMessageBytes,
                work: @escaping (Input) throws -> Output) throws(ShakedownError) {
        let count = processes ?? AvailableCPUs.count
        guard count > 0, count <= 1024 else {
            throw .invalidArgument("processes", "a pool needs 1 to 1024 worker processes, got \(count)")
        }
        if let taskTimeout, taskTimeout <= .zero {
            throw .invalidArgument("taskTimeout", "must be positive (or nil for no limit), got \(taskTimeout)")
        }
        self.processes = count
        self.taskTimeout = taskTimeout
        self.work = work
        self.maximumMessageBytes = maximumMessageBytes
        progress = try PoolProgress(workers: count)
        do throws(ShakedownError) {
            for index in 0..<count { workers.append(try spawn(index: index)) }
        } catch {
            terminate()
            throw error
        }
    }

    deinit { terminate() }

    /// The workers' process ids now (replacements change them).
    public var workerPids: [Int32] { workers.map(\.pid) }

    // MARK: submitting and waiting

    /// Runs `work` on every input and returns the results in input order.
    /// - Parameters:
    ///   - inputs: the values to run `work` on, each sent to a worker.
    ///   - chunkSize: inputs sent to a worker at once (≥ 1); larger chunks cost fewer messages.
    ///   - timeout: the longest the whole map may take; inputs unfinished by then are ``TaskResult/timedOut``
    ///     (their workers are killed and replaced). Zero: only what completes at once.
    /// - Throws: `.invalidArgument` for a closed pool, `chunkSize` < 1, a negative timeout, or inputs that cannot
    ///   be encoded or exceed `maximumMessageBytes`.
    public func map(_ inputs: [Input], chunkSize: Int = 1, timeout: Duration = .seconds(3600)) throws(ShakedownError) -> [TaskResult<Output>] {
        guard chunkSize > 0 else { throw .invalidArgument("chunkSize", "must be at least 1, got \(chunkSize)") }
        let deadline = try Deadline(after: timeout)
        var ids: [Int] = []
        ids.reserveCapacity(inputs.count)
        var start = 0
        while start < inputs.count {
            let end = min(start + chunkSize, inputs.count)
            ids += try enqueue(Array(inputs[start..<end]))
            try dispatch()  // idle workers start on this chunk while the next ones are encoded
            start = end
        }
        // Results arrive in order per chunk: checking from the first missing id keeps this linear overall.
        var firstMissing = 0
        try pump(until: deadline) {
            while firstMissing < ids.count, results[ids[firstMissing]] != nil { firstMissing += 1 }
            return firstMissing == ids.count
        }
        let unfinished = ids.filter { results[$0] == nil }
        if !unfinished.isEmpty { try abandon(Set(unfinished)) }
        return ids.map { results.removeValue(forKey: $0) ?? .timedOut }
    }

    /// Like ``map(_:chunkSize:timeout:)`` for when every task is expected to return: the outputs in input order,
    /// or `nil` when any task threw, crashed or timed out (``map(_:chunkSize:timeout:)`` says which). Cheaper per
    /// task: a chunk that succeeds whole is kept as one array, with no per-task result in the parent (the pool is
    /// generic code compiled in the library, so per-task work in the parent costs generic-metadata lookups).
    public func mapValues(_ inputs: [Input], chunkSize: Int = 1, timeout: Duration = .seconds(3600)) throws(ShakedownError) -> [Output]? {
        guard chunkSize > 0 else { throw .invalidArgument("chunkSize", "must be at least 1, got \(chunkSize)") }
        let deadline = try Deadline(after: timeout)
        var chunks: [[Int]] = []
        var start = 0
        while start < inputs.count {
            let end = min(start + chunkSize, inputs.count)
            chunks.append(try enqueue(Array(inputs[start..<end]), bulk: true))
            try dispatch()  // idle workers start on this chunk while the next ones are encoded
            start = end
        }
        var firstOpen = 0
        try pump(until: deadline) {
            while firstOpen < chunks.count, bulkOutputs[chunks[firstOpen][0]] != nil || chunks[firstOpen].allSatisfy({ results[$0] != nil }) {
                firstOpen += 1
            }
            return firstOpen == chunks.count
        }
        let unfinished = chunks[firstOpen...].filter { bulkOutputs[$0[0]] == nil }.joined().filter { results[$0] == nil }
        if !unfinished.isEmpty { try abandon(Set(unfinished)) }
        var outputs: [Output] = []
        outputs.reserveCapacity(inputs.count)
        var complete = true
        for ids in chunks {
            if let whole = bulkOutputs.removeValue(forKey: ids[0]) {
                outputs.append(contentsOf: whole)
                continue
            }
            for id in ids {
                if case let .value(output)? = results.removeValue(forKey: id) { outputs.append(output) } else { complete = false }
            }
        }
        return complete ? outputs : nil
    }

    /// Queues one input and returns a handle to wait for its result (the classic `apply_async`).
    public func submit(_ input: Input) throws(ShakedownError) -> PoolTask<Input, Output> {
        guard let id = try enqueue([input]).first else { throw .invalidArgument("input", "could not be queued") }
        return PoolTask(pool: self, id: id)
    }

    /// Runs one input and waits for its result (the classic `apply`).
    public func apply(_ input: Input, timeout: Duration = .seconds(3600)) throws(ShakedownError) -> TaskResult<Output> {
        let task = try submit(input)
        if let result = try task.wait(timeout: timeout) { return result }
        try abandon([task.id])
        return results.removeValue(forKey: task.id) ?? .timedOut
    }

    /// Waits at most `timeout` for task `id`; `nil` when it is not finished.
    func result(of id: Int, timeout: Duration) throws(ShakedownError) -> TaskResult<Output>? {
        if let done = results.removeValue(forKey: id) { return done }
        let deadline = try Deadline(after: timeout)
        try pump(until: deadline) { results[id] != nil }
        return results.removeValue(forKey: id)
    }

    private func enqueue(_ inputs: [Input], bulk: Bool = false) throws(ShakedownError) -> [Int] {
        guard !closed else { throw .invalidArgument("pool", "the pool is closed; no more tasks can be submitted") }
        let frame = try ToolboxFrame.encode(inputs, limit: maximumMessageBytes, limitName: "maximumMessageBytes")
        let ids = Array(nextTask..<(nextTask + inputs.count))
        nextTask += inputs.count
        pending.append(PoolChunk(ids: ids, inputs: inputs, frame: frame, bulk: bulk))
        return ids
    }

    // MARK: closing

    /// Accepts no more tasks; those already submitted still run. Idempotent.
    public func close() { closed = true }

    /// After ``close()``: waits at most `timeout` for every submitted task to finish and every worker to exit.
    /// Returns `false` when time ran out (call ``terminate()``, or let the pool go, to kill the rest).
    /// - Throws: `.invalidArgument("join")` when the pool was not closed first (as `multiprocessing.Pool` does).
    public func join(timeout: Duration = .seconds(60)) throws(ShakedownError) -> Bool {
        guard closed else { throw .invalidArgument("join", "call close() before join(): an open pool may still get tasks") }
        let deadline = try Deadline(after: timeout)
        try pump(until: deadline) { pending.isEmpty && workers.allSatisfy { $0.chunk == nil } }
        guard pending.isEmpty, workers.allSatisfy({ $0.chunk == nil }) else { return false }
        for worker in workers { worker.endpoint.close() }  // each worker sees end of file and exits 0
        for index in workers.indices where workers[index].exit == nil {
            workers[index].exit = reap(workers[index].pid, until: deadline)
            if workers[index].exit != nil { workers[index].exitWatch.close() }
        }
        joined = workers.allSatisfy { $0.exit != nil }
        return joined
    }

    /// How each worker ended, once ``join(timeout:)`` reaped them.
    public var workerExits: [ProcessExit?] { workers.map(\.exit) }

    /// Kills every worker with SIGKILL and reaps it. Pending tasks are dropped. Idempotent.
    public func terminate() {
        closed = true
        pending.removeAll()
        for index in workers.indices where workers[index].exit == nil {
            _ = kill(workers[index].pid, SIGKILL)
            workers[index].endpoint.close()
            workers[index].exitWatch.close()
            var status: Int32 = 0
            while waitpid(workers[index].pid, &status, 0) < 0 && errno == EINTR {}
            workers[index].exit = ProcessExit(waitStatus: status)
        }
    }

    // MARK: the engine

    /// Sends work to idle workers and handles replies, deaths and timeouts until `done` or `deadline`.
    private func pump(until deadline: Deadline, done: () -> Bool) throws(ShakedownError) {
        while !done() {
            try dispatch()
            guard workers.contains(where: { $0.chunk != nil }) else { return }
            // Each worker's socket, then its pidfd: a process the task forked inherits the socket, so end of file
            // alone can come long after the worker died (only when that process exits).
            var entries = workers.flatMap { worker in
                [pollfd(fd: worker.endpoint.descriptor, events: Int16(POLLIN), revents: 0),
                 pollfd(fd: worker.exitWatch.descriptor, events: Int16(POLLIN), revents: 0)]
            }
            let ready = poll(&entries, nfds_t(entries.count), min(deadline.pollMilliseconds, timeoutCheckMilliseconds()))
            if ready < 0 && errno != EINTR { throw .systemCall("poll") }
            for index in workers.indices {
                let pid = workers[index].pid
                // The reply first: a worker that answered and then died has its answer in the socket already.
                if entries[2 * index].revents != 0 { try receive(from: index) }
                guard entries[2 * index + 1].revents != 0, workers[index].pid == pid else { continue }
                try receiveWhatIsLeft(from: index)
                if workers[index].pid == pid { try workerDied(index, blame: .crashed) }
            }
            try enforceTaskTimeout()
            if deadline.hasPassed { return }
        }
    }

    private func dispatch() throws(ShakedownError) {
        for index in workers.indices where workers[index].chunk == nil && !pending.isEmpty {
            let chunk = pending.removeFirst()
            progress.start(worker: index, position: 0)
            workers[index].chunk = chunk
            do { try workers[index].endpoint.sendFrame(chunk.frame) } catch {
                // The worker is gone (it died while idle): its death is handled like a crash before the first task.
                try workerDied(index, blame: nil)
            }
        }
    }

    private func receive(from index: Int) throws(ShakedownError) {
        let now = try Deadline(after: .zero)
        // Decoded straight from the receive buffer: a chunk's reply is not copied out first.
        switch try workers[index].endpoint.withNextFrame(until: now, { payload throws(ShakedownError) in
            try? CompactDecoder().decode(PoolReplies<Output>.self, from: payload)
        }) {
        case let .message(decoded):
            guard let chunk = workers[index].chunk else { return }
            workers[index].chunk = nil
            if chunk.bulk, let whole = decoded, whole.failures.isEmpty, whole.outputs.count == chunk.ids.count,
               let first = chunk.ids.first {
                bulkOutputs[first] = whole.outputs  // one entry per chunk: no per-task bookkeeping in the parent
                return
            }
            guard let replies = decoded?.results(count: chunk.ids.count) else {
                for id in chunk.ids { results[id] = .threw("malformed reply from worker \(workers[index].pid)") }
                return
            }
            for (id, reply) in zip(chunk.ids, replies) { results[id] = reply }
        case .timedOut: return  // part of a reply; the rest comes with the next poll
        case .endOfFile: try workerDied(index, blame: .crashed)
        }
    }

    /// After the worker exited: takes a reply that is already in its socket (every byte it sent is there by now).
    private func receiveWhatIsLeft(from index: Int) throws(ShakedownError) {
        var entry = pollfd(fd: workers[index].endpoint.descriptor, events: Int16(POLLIN), revents: 0)
        if poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLIN) != 0 { try receive(from: index) }
    }

    private func enforceTaskTimeout() throws(ShakedownError) {
        guard let taskTimeout else { return }
        let limit = taskTimeout.nanoseconds
        for index in workers.indices where workers[index].chunk != nil {
            let started = progress.current(worker: index).startedAt
            if monotonicNanoseconds() - started > limit {
                _ = kill(workers[index].pid, SIGKILL)
                try workerDied(index, blame: .timedOut)
            }
        }
    }

    private func timeoutCheckMilliseconds() -> CInt {
        guard let taskTimeout else { return CInt.max }
        return CInt(max(1, min(Int64(CInt.max), taskTimeout.nanoseconds / 4_000_000)))
    }

    enum Blame { case crashed, timedOut }

    /// Reaps worker `index`, records the task it was running, puts the rest of its chunk back, and forks a
    /// replacement in its slot.
    private func workerDied(_ index: Int, blame: Blame?) throws(ShakedownError) {
        let dead = workers[index]
        _ = kill(dead.pid, SIGKILL)  // it closed its socket, so it is ending anyway; make sure
        let exit = reap(dead.pid, until: nil)
        dead.endpoint.close()
        dead.exitWatch.close()
        if let chunk = dead.chunk {
            let position = min(max(0, progress.current(worker: index).position), chunk.ids.count - 1)
            var rerun: [Int] = []
            for (offset, id) in chunk.ids.enumerated() {
                if offset == position, let blame {
                    results[id] = blame == .timedOut ? .timedOut : .crashed(exit ?? .signaled(.kill))
                } else {
                    rerun.append(offset)
                }
            }
            if !rerun.isEmpty {
                let inputs = rerun.map { chunk.inputs[$0] }
                let frame = try ToolboxFrame.encode(inputs, limit: maximumMessageBytes, limitName: "maximumMessageBytes")
                pending.insert(PoolChunk(ids: rerun.map { chunk.ids[$0] }, inputs: inputs, frame: frame), at: 0)
            }
        }
        replacedWorkers += 1
        workers[index] = try spawn(index: index)
    }

    /// Gives up on `ids`: drops them from the queue, kills workers running them, reports them timed out.
    private func abandon(_ ids: Set<Int>) throws(ShakedownError) {
        for index in workers.indices {
            guard let chunk = workers[index].chunk, chunk.ids.contains(where: ids.contains) else { continue }
            try workerDied(index, blame: nil)  // puts its whole chunk back; the abandoned ids are dropped next
        }
        pending = pending.compactMap { chunk in
            let keep = chunk.ids.indices.filter { !ids.contains(chunk.ids[$0]) }
            if keep.count == chunk.ids.count { return chunk }
            guard !keep.isEmpty else { return nil }
            let inputs = keep.map { chunk.inputs[$0] }
            guard let frame = try? ToolboxFrame.encode(inputs, limit: maximumMessageBytes, limitName: "maximumMessageBytes") else { return nil }
            return PoolChunk(ids: keep.map { chunk.ids[$0] }, inputs: inputs, frame: frame)
        }
        for id in ids where results[id] == nil { results[id] = .timedOut }
    }

    /// Waits for `pid` (this pid only: never another child's status). `nil` deadline: wait as long as it takes,
    /// which is short: callers have killed it or seen it close its socket.
    private func reap(_ pid: Int32, until deadline: Deadline?) -> ProcessExit? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, deadline == nil ? 0 : WNOHANG)
            if result == pid { return ProcessExit(waitStatus: status) }
            if result < 0 && errno != EINTR { return nil }
            if let deadline {
                if deadline.hasPassed { return nil }
                usleep(1_000)
            }
        }
    }

    private func spawn(index: Int) throws(ShakedownError) -> PoolWorkerState<Input> {
        let pipe = try MessagePipe(maximumMessageBytes: maximumMessageBytes, spinBeforeSleeping: .zero)
        let inherited = workers.map(\.endpoint.descriptor)
        fflush(nil)
        let parent = getpid()
        let pid = fork()
        if pid < 0 { throw .systemCall("fork") }
        if pid == 0 {
            _ = shakedown_set_parent_death_signal(SIGKILL)
            if getppid() != parent { shakedown_exit_now(125) }
            for fd in inherited where fd >= 0 { _ = Glibc.close(fd) }  // the other workers' sockets are not ours
            guard let endpoint = try? pipe.childEnd() else { shakedown_exit_now(126) }
            PoolWorkerLoop.run(index: index, endpoint: endpoint, progress: progress, timed: taskTimeout != nil, work: work)
        }
        return PoolWorkerState(pid: pid, endpoint: try pipe.parentEnd(), exitWatch: PoolExitWatch(pid: pid))
    }
}

/// A pidfd on one pool worker: readable once the worker exits, whoever still holds its socket. Closed when the
/// worker is replaced or the pool goes away. Without pidfd support it is -1, and `poll` ignores it: the pool then
/// sees a death at end of file only, as before.
final class PoolExitWatch {
    private(set) var descriptor: CInt

    init(pid: Int32) { descriptor = shakedown_pidfd_open(pid) }

    func close() {
        closeQuietly(descriptor)
        descriptor = -1
    }

    deinit { closeQuietly(descriptor) }
}

/// One pool worker as the pool sees it.
struct PoolWorkerState<Input> {
    var pid: Int32
    var endpoint: MessageEndpoint
    /// Watches for the worker's exit (see ``PoolExitWatch``).
    var exitWatch: PoolExitWatch
    /// The chunk it is running, `nil` when idle.
    var chunk: PoolChunk<Input>? = nil
    var exit: ProcessExit? = nil
}

/// A batch of inputs sent to one worker as one message.
struct PoolChunk<Input> {
    var ids: [Int]
    var inputs: [Input]
    var frame: [UInt8]
    /// Sent by ``ProcessPool/mapValues(_:chunkSize:timeout:)``: when every task returns, the outputs are kept as
    /// one array under `ids[0]` instead of one result per task.
    var bulk = false
}

/// A submitted task: wait for its result.
public final class PoolTask<Input: Codable, Output: Codable> {
    private let pool: ProcessPool<Input, Output>
    /// The task's number in submission order.
    public let id: Int
    private var finished: TaskResult<Output>?

    init(pool: ProcessPool<Input, Output>, id: Int) {
        self.pool = pool
        self.id = id
    }

    /// Waits at most `timeout` (zero: check once) for the result; `nil` when the task has not finished. The
    /// task keeps running after a `nil`; wait again later. Once returned, the result is kept and returned again.
    public func wait(timeout: Duration) throws(ShakedownError) -> TaskResult<Output>? {
        if let finished { return finished }
        finished = try pool.result(of: id, timeout: timeout)
        return finished
    }

    /// The `async` form of ``wait(timeout:)`` (the classic `AsyncResult.get(timeout)` from async code): drives the
    /// pool in slices of at most 5 ms and yields between them, so other tasks on the executor keep running.
    /// Returns `nil` when `timeout` passed first.
    public func value(timeout: Duration) async throws(ShakedownError) -> TaskResult<Output>? {
        let deadline = try Deadline(after: timeout)
        while true {
            let slice = Duration.nanoseconds(min(deadline.remaining, 5_000_000))
            if let result = try wait(timeout: slice) { return result }
            if deadline.hasPassed { return nil }
            await Task.yield()
        }
    }
}
