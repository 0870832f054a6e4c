#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CShakedown
import SystemPackage

/// What the tracer collected for one thread, before symbolization.
struct RawThread: Sendable {
    var tid: Int32
    var name: String
    var state: ProcessState
    var wchan: String?
    var systemCall: SystemCall?
    var instructionPointers: [UInt64] = []
    /// unw_get_proc_name results (name, offset in function), only when asked for.
    var procedureNames: [(name: String, offset: UInt64)] = []
    var framesCut = 0
    var stopReason: String?
    var seized = false
    var stopped = false
    var vanished = false

    /// Reads the thread's state, name, wait channel and system call from /proc before it is stopped: once in a
    /// ptrace stop, /proc would show the stop, not what the thread was doing.
    init(pid: Int32, tid: Int32) {
        self.tid = tid
        let directory = "/proc/\(pid)/task/\(tid)"
        let stat = ProcStat.read(pid: pid, tid: tid)
        state = stat?.state ?? .dead
        name = ProcFiles.text(directory + "/comm").map { String($0.prefix(while: { $0 != "\n" })) } ?? stat?.command ?? ""
        wchan = ProcFiles.text(directory + "/wchan").flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
        systemCall = ProcFiles.text(directory + "/syscall").flatMap { SystemCall(procLine: $0) }
        if stat == nil { vanished = true }
    }
}

/// What the tracer collected for one process.
struct RawCapture: Sendable {
    var threads: [RawThread] = []
    var maps: ProcessMaps?
    var mutexes: [MutexSnapshot] = []
    /// What blocked threads wait for, by tid, read while they were stopped.
    var lockWaits: [Int32: LockWait] = [:]
    /// The futex words behind them, for readings that need the thread's frames (rwlocks).
    var futexProbes: [Int32: FutexLock.Probe] = [:]
    var notes: [String] = []
    /// The process disappeared while it was being captured.
    var exited = false
    /// From the first PTRACE_SEIZE to just before the threads are detached.
    var stoppedNanoseconds: Int64 = 0
}

/// One ptrace session over one process: seize and interrupt every thread, wait for the stops, unwind, read the
/// memory map and mutex records while everything stands still, detach. Must run on the thread returned by
/// ``onTracerThread(_:)``: every ptrace request has to come from the thread that seized.
struct Tracer {
    let pid: Int32
    let maxFrames: Int
    let deadline: Int64
    let threadStopTimeLimit: Int64
    let wantProcedureNames: Bool

    /// How many frames to walk past `maxFrames` to count the cut ones.
    static let walkLimit = 4_096
    /// Rounds of re-listing /proc/PID/task until no new thread appears.
    static let listingRounds = 16

    /// The threads of one process while it is held: what ``stop()`` seized, for ``collect(_:)`` and ``detach(_:)``.
    struct Session {
        var capture = RawCapture()
        var threads: [RawThread] = []
        var firstSeize: Int64
    }

    /// Stops, collects and releases one process.
    func run() throws(ShakedownError) -> RawCapture {
        var session = try stop()
        var capture = collect(&session)
        detach(session.threads)
        capture.stoppedNanoseconds = monotonicNanoseconds() - session.firstSeize
        return capture
    }

    /// Seizes and stops every thread of the process. On failure, what was seized is released before throwing.
    func stop() throws(ShakedownError) -> Session {
        var session = Session(firstSeize: monotonicNanoseconds())
        do throws(ShakedownError) {
            try seizeAll(&session)
        } catch {
            detach(session.threads)
            throw error
        }
        return session
    }

    /// Seize what is there, wait for it to stop, look again: threads created meanwhile are seized in the next
    /// round. Once every thread is stopped, none can create another, so the listing settles.
    private func seizeAll(_ session: inout Session) throws(ShakedownError) {
        var known = Set<Int32>()
        for round in 0...Self.listingRounds {
            let listed: [Int32]
            do {
                listed = try ProcFiles.taskIDs(of: pid)
            } catch {
                session.capture.exited = true
                break
            }
            let fresh = listed.filter { !known.contains($0) }
            if fresh.isEmpty { break }
            if round == Self.listingRounds {
                session.capture.notes.append("threads kept appearing during capture; \(fresh.count) created last were not captured")
                break
            }
            let first = session.threads.count
            for tid in fresh {
                known.insert(tid)
                var thread = RawThread(pid: pid, tid: tid)
                if !thread.vanished { try seize(&thread) }
                session.threads.append(thread)
            }
            waitForStops(&session.threads[first...])
            if monotonicNanoseconds() > deadline { break }
        }
    }

    /// Unwinds every stopped thread and reads the memory map, Shakedown mutexes and lock waits, while the process
    /// is held. The caller detaches afterwards.
    func collect(_ session: inout Session) -> RawCapture {
        var capture = session.capture
        let unwinder = shakedown_unwinder_create()
        defer { shakedown_unwinder_destroy(unwinder) }
        for index in session.threads.indices where session.threads[index].stopped {
            if monotonicNanoseconds() > deadline {
                session.threads[index].stopReason = "not unwound: the capture time limit was reached"
                continue
            }
            guard let unwinder else {
                session.threads[index].stopReason = "not unwound: libunwind could not create an address space"
                continue
            }
            unwind(&session.threads[index], with: unwinder)
        }

        if session.threads.contains(where: \.stopped) || !capture.exited {
            do {
                let maps = try ProcessMaps.read(pid: pid)
                capture.maps = maps
                let (mutexes, problems) = MutexSnapshot.read(pid: pid, maps: maps)
                capture.mutexes = mutexes
                capture.notes += problems
                (capture.lockWaits, capture.futexProbes) = LockWaitReader(pid: pid, maps: maps).read(session.threads)
            } catch {
                capture.notes.append("could not read /proc/\(pid)/maps: \(error)")
            }
        }
        if ProcStat.read(pid: pid) == nil { capture.exited = true }
        capture.threads = session.threads
        return capture
    }

    private func seize(_ thread: inout RawThread) throws(ShakedownError) {
        if shakedown_ptrace_seize(thread.tid) != 0 {
            let error = Errno.lastError
            switch error {
            case .noSuchProcess:
                thread.vanished = true
                return
            case .notPermitted:
                try explainRefusal(&thread)
                return
            default:
                throw ShakedownError.systemCall("ptrace(PTRACE_SEIZE, \(thread.tid))", errno: error)
            }
        }
        thread.seized = true
        if shakedown_ptrace_interrupt(thread.tid) != 0 {
            let error = Errno.lastError
            if error == .noSuchProcess { thread.vanished = true; return }
            throw ShakedownError.systemCall("ptrace(PTRACE_INTERRUPT, \(thread.tid))", errno: error)
        }
    }

    /// Polls until each seized thread is in its ptrace stop, is gone, or the time limit passes. Polling (with
    /// waitid WNOHANG, backing off from 20 µs to 2 ms) is what allows a limit per thread; /proc state "t" also
    /// counts, in case another waiter in this process consumed the stop notification.
    private func waitForStops(_ threads: inout ArraySlice<RawThread>) {
        let limit = min(deadline, HangInspector.saturatingAdd(monotonicNanoseconds(), threadStopTimeLimit))
        var pause: UInt32 = 20
        while true {
            var pending = 0
            for index in threads.indices where threads[index].seized && !threads[index].stopped && !threads[index].vanished {
                var status: CInt = 0
                let result = shakedown_poll_stop(threads[index].tid, &status)
                if result == CInt(SHAKEDOWN_STOP_STOPPED) {
                    threads[index].stopped = true
                    continue
                }
                let now = ProcStat.read(pid: pid, tid: threads[index].tid)
                switch now?.state {
                case nil, .zombie?, .dead?:
                    threads[index].vanished = true
                case .tracingStop?:
                    threads[index].stopped = true
                default:
                    pending += 1
                }
            }
            if pending == 0 { return }
            if monotonicNanoseconds() >= limit {
                for index in threads.indices where threads[index].seized && !threads[index].stopped && !threads[index].vanished {
                    let state = ProcStat.read(pid: pid, tid: threads[index].tid)?.state ?? threads[index].state
                    let why = state == .uninterruptible
                        ? " (state D: in uninterruptible sleep in the kernel, usually I/O; it cannot stop until that returns)"
                        : " (state \(state.rawValue): \(state.meaning))"
                    threads[index].stopReason = "not unwound: the thread did not stop within the time limit" + why
                    if state == .uninterruptible { threads[index].state = .uninterruptible }
                }
                return
            }
            usleep(pause)
            pause = min(pause * 2, 2_000)
        }
    }

    private func unwind(_ thread: inout RawThread, with unwinder: OpaquePointer) {
        let capacity = max(1, maxFrames)
        var addresses = [UInt64](repeating: 0, count: capacity)
        var result = shakedown_unwind_result()
        let nameLength = 256
        var names = [CChar](repeating: 0, count: wantProcedureNames ? capacity * nameLength : 0)
        var offsets = [UInt64](repeating: 0, count: wantProcedureNames ? capacity : 0)
        addresses.withUnsafeMutableBufferPointer { addresses in
            names.withUnsafeMutableBufferPointer { names in
                offsets.withUnsafeMutableBufferPointer { offsets in
                    shakedown_unwind(
                        unwinder, thread.tid, addresses.baseAddress, Int32(capacity), Int32(max(capacity, Self.walkLimit)),
                        wantProcedureNames ? names.baseAddress : nil, wantProcedureNames ? nameLength : 0,
                        wantProcedureNames ? offsets.baseAddress : nil, &result)
                }
            }
        }
        let count = Int(result.frame_count)
        thread.instructionPointers = Array(addresses[0..<count])
        thread.framesCut = Int(result.frames_cut)
        if wantProcedureNames {
            thread.procedureNames = (0..<count).map { index in
                let start = index * nameLength
                let name = names[start..<(start + nameLength)].withUnsafeBufferPointer { buffer in
                    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                return (name, offsets[index])
            }
        }
        let code = result.stop_code
        let error = "\(String(cString: shakedown_unwind_error_name(code))) (\(code)): \(String(cString: shakedown_unwind_error_string(code)))"
        switch Int(result.stop_stage) {
        case Int(SHAKEDOWN_UNWIND_COMPLETE):
            break
        case Int(SHAKEDOWN_UNWIND_FRAME_LIMIT):
            thread.stopReason = "stopped after walking \(Self.walkLimit) frames (runaway recursion or a corrupt stack)"
        case Int(SHAKEDOWN_UNWIND_CREATE_FAILED):
            thread.stopReason = "not unwound: _UPT_create failed"
        case Int(SHAKEDOWN_UNWIND_INIT_FAILED):
            thread.stopReason = "not unwound: unw_init_remote failed with \(error)"
        case Int(SHAKEDOWN_UNWIND_STEP_FAILED):
            thread.stopReason = "unw_step failed after frame #\(count + thread.framesCut - 1) with \(error)"
        default:
            thread.stopReason = "unw_get_reg(UNW_REG_IP) failed after frame #\(count + thread.framesCut - 1) with \(error)"
        }
    }

    /// Resumes every stopped thread. Threads that were seized but never stopped are released when the tracer
    /// thread exits (see ``onTracerThread(_:)``).
    func detach(_ threads: [RawThread]) {
        for thread in threads where thread.stopped && !thread.vanished {
            _ = shakedown_ptrace_detach(thread.tid)
        }
    }

    /// EPERM from PTRACE_SEIZE also means "exiting" and "someone else traces it": look at /proc again before
    /// blaming permissions. A thread that is gone (or a zombie) is marked vanished; one that another process traces
    /// names that tracer; otherwise the refusal is explained by ``PtraceRefusal``.
    private func explainRefusal(_ thread: inout RawThread) throws(ShakedownError) {
        let now = ProcStat.read(pid: pid, tid: thread.tid)
        if now == nil || now?.state == .zombie || now?.state == .dead {
            thread.vanished = true
            return
        }
        if let tracer = ProcFiles.text("/proc/\(pid)/task/\(thread.tid)/status").map(ProcStatus.init)?.tracer, tracer != 0 {
            let name = ProcStat.read(pid: tracer)?.command ?? "?"
            throw ShakedownError(.permissionDenied(
                pid: pid,
                reason: "thread \(thread.tid) is already traced by \(tracer) (\(name)); a thread can have only one tracer — "
                    + "detach that debugger or tracer (strace -f traces every thread) first"))
        }
        throw ShakedownError(.permissionDenied(pid: pid, reason: PtraceRefusal(facts: PtraceRefusal.gather(pid: pid, tid: thread.tid)).explanation))
    }
}
