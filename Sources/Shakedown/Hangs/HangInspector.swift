#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CShakedown

/// Captures what every thread of a running process is doing — state, system call, symbolized stack — and lets it
/// run on.
///
/// Capture seizes each thread with ptrace (PTRACE_SEIZE + PTRACE_INTERRUPT), unwinds it remotely with
/// libunwind-ptrace while it stands still, reads the memory map and the Shakedown mutex records, and detaches: the
/// process is stopped for milliseconds (about 2–4 ms per thread) and then continues as if nothing happened
/// (interrupted system calls are restarted). Symbolization runs after the process is released.
///
/// Needs the right to trace the process: root, or CAP_SYS_PTRACE, or (with Yama) a permissive ptrace_scope.
/// A process that is already being traced (by a debugger, strace, another inspector) cannot be captured.
public struct HangInspector: Sendable {
    /// How names are found for code addresses.
    public enum Symbolization: Sendable {
        /// Use `llvm-symbolizer` if ``Symbolizer/locateLLVMSymbolizer()`` finds one, else libunwind's names.
        case automatic
        /// Use this symbolizer (it can be shared between inspectors, keeping one process running).
        case using(Symbolizer)
        /// Only libunwind's `unw_get_proc_name`: nearest exported symbol, no file:line; glibc internals may be
        /// named after a neighbouring exported function.
        case libunwindOnly
    }

    /// Limits and choices for a capture.
    public struct Options: Sendable {
        /// Frames kept per thread (innermost first); the rest are counted in ``ThreadSnapshot/framesCut``.
        public var maxFrames: Int
        /// The whole capture, including waiting for threads to stop; threads not unwound by then say so.
        public var timeLimit: Duration
        /// How long to wait for one thread to reach its ptrace stop (a thread in state D may never).
        public var threadStopTimeLimit: Duration
        /// Where names come from; `.automatic` by default.
        public var symbolization: Symbolization

        /// Defaults: 64 frames, 10 s in all, 1 s for one thread to stop, automatic symbolization.
        public init(
            maxFrames: Int = 64, timeLimit: Duration = .seconds(10), threadStopTimeLimit: Duration = .seconds(1),
            symbolization: Symbolization = .automatic
        ) {
            self.maxFrames = maxFrames
            self.timeLimit = timeLimit
            self.threadStopTimeLimit = threadStopTimeLimit
            self.symbolization = symbolization
        }
    }

    /// The limits and choices this inspector was made with.
    public let options: Options
    private let symbolizer: Symbolizer?
    private let symbolizerNote: String?

    /// Creates an inspector. Cheap: symbolizer processes, if any, start at the first capture.
    public init(options: Options = Options()) {
        self.options = options
        switch options.symbolization {
        case .automatic:
            do throws(ShakedownError) {
                symbolizer = try Symbolizer()
                symbolizerNote = nil
            } catch {
                symbolizer = nil
                symbolizerNote = "llvm-symbolizer not found (looked at $SHAKEDOWN_LLVM_SYMBOLIZER, next to swift on PATH, "
                    + "and on PATH): names come from libunwind's unw_get_proc_name — nearest exported symbol, no file:line"
            }
        case let .using(given):
            symbolizer = given
            symbolizerNote = nil
        case .libunwindOnly:
            symbolizer = nil
            symbolizerNote = "names come from libunwind's unw_get_proc_name (symbolizer disabled): nearest exported "
                + "symbol, no file:line"
        }
    }

    /// Captures process `pid` and leaves it running.
    ///
    /// A zombie gives a snapshot without threads (state Z, with a note). Threads that vanish during capture are left
    /// out; threads that do not stop in time (state D) are listed without frames, with the reason.
    ///
    /// - Throws: `ShakedownError` with
    ///   - `.noSuchProcess` when `pid` does not exist or exits before anything was captured;
    ///   - `.permissionDenied` when the kernel refuses ptrace (the reason says why and what to change) or another
    ///     tracer already holds the process (the reason names it);
    ///   - `.invalidArgument(name: "pid", …)` when `pid` is not positive, is this process (a process cannot trace
    ///     itself), or is a kernel thread (no user-space stack);
    ///   - `.systemCall` for other failures.
    ///
    /// The corresponding C function is `ptrace(2)`.
    public func capture(pid: Int32) throws(ShakedownError) -> ProcessSnapshot {
        guard let only = captureAll(pids: [pid]).first else { throw ShakedownError(.noSuchProcess(pid: pid)) }
        return try only.result.get()
    }

    /// Captures several processes at one instant: every thread of every process is stopped first, then all are
    /// unwound and their lock words and file locks read, then all are released. Waits between processes are
    /// therefore seen consistently (a cycle through several processes is not an artefact of capturing them one after
    /// another). Each process returns to exactly its prior state: ptrace stops leave job-control state alone, so a
    /// process that was stopped (state T) before stays stopped.
    ///
    /// A pid given twice, or a thread id of a process already listed, is captured once; results come in the order
    /// the pids were first given. A failure for one process (it exited, ptrace was refused) is its result and does
    /// not stop the others. Costs: the processes are held together for the sum of their stop times.
    public func captureAll(pids: [Int32]) -> [(pid: Int32, result: Result<ProcessSnapshot, ShakedownError>)] {
        let started = monotonicNanoseconds()
        var results: [(pid: Int32, result: Result<ProcessSnapshot, ShakedownError>)] = []
        var targets: [(index: Int, target: Target)] = []
        var seen = Set<Int32>()
        for pid in pids {
            do throws(ShakedownError) {
                let target = try Self.resolve(pid)
                guard seen.insert(target.pid).inserted else { continue }
                if var finished = target.finished {
                    finished.captureDuration = .nanoseconds(monotonicNanoseconds() - started)
                    results.append((target.pid, .success(finished)))
                    continue
                }
                results.append((target.pid, .failure(ShakedownError(.noSuchProcess(pid: target.pid)))))
                targets.append((results.count - 1, target))
            } catch {
                guard seen.insert(pid).inserted else { continue }
                results.append((pid, .failure(error)))
            }
        }
        guard !targets.isEmpty else { return results }
        // The symbolizer is idle during the capture: let it start and load the modules that take longest while
        // the threads are being stopped and unwound (the work runs in other processes, on the other CPU).
        symbolizer?.prepare(modules: Array(Set(targets.flatMap {
            Self.modulesWorthLoadingEarly(pid: $0.target.pid, executable: $0.target.executable)
        })).sorted())
        let tracers = targets.map { entry in
            Tracer(
                pid: entry.target.pid, maxFrames: min(max(1, options.maxFrames), Tracer.walkLimit),
                deadline: Self.saturatingAdd(started, max(0, options.timeLimit.nanoseconds)),
                threadStopTimeLimit: max(0, options.threadStopTimeLimit.nanoseconds),
                wantProcedureNames: symbolizer == nil)
        }
        let raws: [Result<RawCapture, ShakedownError>]
        do throws(ShakedownError) {
            raws = try onTracerThread { Self.holdTogether(tracers) }
        } catch {
            for entry in targets { results[entry.index].result = .failure(error) }
            return results
        }
        for (position, entry) in targets.enumerated() {
            results[entry.index].result = raws[position].flatMap { raw in
                Result { () throws(ShakedownError) -> ProcessSnapshot in try finish(entry.target, raw, started: started) }
            }
        }
        return results
    }

    /// Stops every process, then collects each, then releases all (on the tracer thread).
    private static func holdTogether(_ tracers: [Tracer]) -> [Result<RawCapture, ShakedownError>] {
        var sessions: [Result<Tracer.Session, ShakedownError>] = tracers.map { tracer in
            do throws(ShakedownError) { return .success(try tracer.stop()) } catch { return .failure(error) }
        }
        var captures: [Result<RawCapture, ShakedownError>] = []
        for index in tracers.indices {
            switch sessions[index] {
            case var .success(session):
                captures.append(.success(tracers[index].collect(&session)))
                sessions[index] = .success(session)
            case let .failure(error):
                captures.append(.failure(error))
            }
        }
        let released = monotonicNanoseconds()
        for index in tracers.indices {
            guard case let .success(session) = sessions[index] else { continue }
            tracers[index].detach(session.threads)
            if case var .success(capture) = captures[index] {
                capture.stoppedNanoseconds = released - session.firstSeize
                captures[index] = .success(capture)
            }
        }
        return captures
    }

    /// Turns what the tracer read into a snapshot: symbolization and the notes that need names.
    private func finish(_ target: Target, _ capturedRaw: RawCapture, started: Int64) throws(ShakedownError) -> ProcessSnapshot {
        var raw = capturedRaw
        if raw.threads.allSatisfy({ !$0.stopped }) && raw.exited {
            // Exited before a single thread could be stopped: maybe it is a zombie now.
            if let after = ProcStat.read(pid: target.pid), after.state == .zombie {
                var snapshot = Self.zombieSnapshot(pid: target.pid, stat: after)
                snapshot.captureDuration = .nanoseconds(monotonicNanoseconds() - started)
                return snapshot
            }
            throw ShakedownError(.noSuchProcess(pid: target.pid))
        }
        if raw.exited { raw.notes.append("the process exited during capture") }
        var notes = target.notes + raw.notes
        if let symbolizerNote { notes.append(symbolizerNote) }

        var threads = Self.frameless(raw.threads)
        if let maps = raw.maps {
            let symbolized = FrameBuilder(maps: maps, symbolizer: symbolizer).frames(for: raw.threads)
            threads = symbolized.threads
            notes += symbolized.notes
        }
        ShortStackNote.annotate(&threads)
        Self.nameRestartedCalls(&threads)
        LockWaitReader.resolveDescriptionLocks(&raw.lockWaits, raw.descriptionLocks)
        LockNaming.attach(raw.lockWaits, probes: raw.futexProbes, pid: target.pid, to: &threads, maps: raw.maps)
        // Main thread first, then by thread id.
        threads.sort { ($0.tid == target.pid ? 0 : 1, $0.tid) < ($1.tid == target.pid ? 0 : 1, $1.tid) }
        return ProcessSnapshot(
            pid: target.pid, commandLine: target.commandLine, executable: target.executable, state: target.state,
            threads: threads, notes: notes, mutexes: raw.mutexes,
            captureDuration: .nanoseconds(monotonicNanoseconds() - started),
            stoppedDuration: .nanoseconds(raw.stoppedNanoseconds))
    }

    /// libc first (nearly every blocked thread is in it, and its separate debug information is the slowest to
    /// load), then the executable. Other modules are loaded on demand: guessing would cost CPU the capture needs.
    private static func modulesWorthLoadingEarly(pid: Int32, executable: String?) -> [String] {
        var modules: [String] = []
        if let maps = try? ProcessMaps.read(pid: pid),
           let libc = maps.mappings.first(where: { mapping in
               guard mapping.isExecutable, mapping.path.hasPrefix("/") else { return false }
               let name = mapping.path.split(separator: "/").last ?? ""
               return name.hasPrefix("libc.so") || name.hasPrefix("libc-") || name.hasPrefix("ld-musl")
           }) {
            modules.append(libc.path)
        }
        if let executable, executable.hasPrefix("/"), !executable.hasSuffix(" (deleted)") { modules.append(executable) }
        return modules
    }

    /// `restart_syscall` says only that an interrupted sleep is being resumed; the function the thread sits in
    /// (innermost frame: `clock_nanosleep`, `__futex_abstimed_wait_common`) says which.
    static func nameRestartedCalls(_ threads: inout [ThreadSnapshot]) {
        for index in threads.indices where threads[index].systemCall?.name == "restart_syscall" {
            guard let function = threads[index].frames.first?.function else { continue }
            threads[index].systemCall?.restarting = function.hasPrefix("__") ? String(function.drop(while: { $0 == "_" })) : function
        }
    }

    /// `base + amount` without trapping: a huge time limit means "no limit", not a crash.
    static func saturatingAdd(_ base: Int64, _ amount: Int64) -> Int64 {
        let (sum, overflow) = base.addingReportingOverflow(amount)
        return overflow ? (amount > 0 ? Int64.max : Int64.min) : sum
    }

    private static func frameless(_ threads: [RawThread]) -> [ThreadSnapshot] {
        threads.filter { !$0.vanished }.map {
            ThreadSnapshot(tid: $0.tid, name: $0.name, state: $0.state, wchan: $0.wchan, systemCall: $0.systemCall,
                           frames: $0.instructionPointers.enumerated().map { Frame(index: $0, address: $1) },
                           framesCut: $0.framesCut, unwindStopReason: $0.stopReason)
        }
    }

    // MARK: checks before tracing

    private struct Target {
        var pid: Int32
        var state: ProcessState = .dead
        var commandLine: [String] = []
        var executable: String?
        var notes: [String] = []
        /// Set when there is nothing to trace (a zombie): the answer without ptrace.
        var finished: ProcessSnapshot?
    }

    private static func resolve(_ requested: Int32) throws(ShakedownError) -> Target {
        guard requested > 0 else {
            throw ShakedownError.invalidArgument("pid", "\(requested) is not a process id (must be positive)")
        }
        if let shown = ProcFiles.link("/proc/self").flatMap({ Int32($0) }), shown != getpid() {
            // /proc was mounted by another PID namespace: the pids it lists mean other processes (or none) to ptrace.
            throw ShakedownError.invalidArgument(
                "pid", "this process runs in a different PID namespace from the /proc it reads (it is pid \(getpid()) "
                    + "here and \(shown) in /proc), so pid \(requested) from /proc cannot be traced from here: run "
                    + "shakedown in the target's PID namespace, or mount a /proc for this one (unshare --pid --fork --mount-proc)")
        }
        guard let statusText = ProcFiles.text("/proc/\(requested)/status") else {
            throw ShakedownError(.noSuchProcess(pid: requested))
        }
        let status = ProcStatus(statusText)
        var target = Target(pid: status.threadGroup ?? requested)
        if target.pid != requested {
            target.notes.append("\(requested) is a thread of process \(target.pid); captured the whole process")
        }
        if target.pid == getpid() {
            throw ShakedownError.invalidArgument(
                "pid", "\(requested) is this process (pid \(getpid())): a process cannot ptrace itself; capture it from another process")
        }
        guard let stat = ProcStat.read(pid: target.pid) else { throw ShakedownError(.noSuchProcess(pid: target.pid)) }
        target.state = stat.state
        if stat.isKernelThread {
            throw ShakedownError.invalidArgument(
                "pid", "\(target.pid) (\(stat.command)) is a kernel thread: it has no user-space stack to capture")
        }
        if stat.state == .zombie, Self.allThreadsExited(target.pid) {
            target.finished = zombieSnapshot(pid: target.pid, stat: stat)
            return target
        }
        if let tracer = status.tracer, tracer != 0 {
            let name = ProcStat.read(pid: tracer)?.command ?? "?"
            let who = tracer == getpid() ? "this process (pid \(tracer))" : "process \(tracer) (\(name))"
            throw ShakedownError(.permissionDenied(
                pid: target.pid,
                reason: "it is already being traced by \(who); a thread can have only one tracer — detach the debugger or tracer first"))
        }
        target.executable = ProcFiles.link("/proc/\(target.pid)/exe")
        if target.executable == nil, ProcFiles.openError("/proc/\(target.pid)/exe") == .noSuchFileOrDirectory,
           let now = ProcStat.read(pid: target.pid), now.flags & 0x0020_0000 != 0 {  // PF_KTHREAD
            // Only the kernel's flag says "kernel thread": an exiting process too has lost its exe and cmdline.
            throw ShakedownError.invalidArgument(
                "pid", "\(target.pid) (\(stat.command)) has no executable and no command line: a kernel thread, nothing to capture")
        }
        target.commandLine = ProcFiles.text("/proc/\(target.pid)/cmdline")?
            .split(separator: "\0", omittingEmptySubsequences: false).map(String.init) ?? []
        if target.commandLine.last == "" { target.commandLine.removeLast() }
        return target
    }

    private static func allThreadsExited(_ pid: Int32) -> Bool {
        guard let tasks = try? ProcFiles.taskIDs(of: pid) else { return true }
        return tasks.allSatisfy { tid in
            ProcStat.read(pid: pid, tid: tid).map { $0.state == .zombie || $0.state == .dead } ?? true
        }
    }

    private static func zombieSnapshot(pid: Int32, stat: ProcStat) -> ProcessSnapshot {
        ProcessSnapshot(
            pid: pid, commandLine: [], executable: nil, state: .zombie, threads: [],
            notes: ["zombie, no threads to unwind: \(stat.command) has exited and its parent (pid \(stat.parent)) has not "
                + "collected its exit status with wait"])
    }
}
