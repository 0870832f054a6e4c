#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import SystemPackage

/// The life of one worker process, from the moment the run leader forks it to its `_exit`.
///
/// It never returns into the caller: whatever the body does (returns, throws, crashes, calls `exit`), the test
/// runner's code after `fork` never runs again in this process.
package struct WorkerProcess {
    package let index: Int
    package let launch: WorkerLaunch
    package let control: RunControl
    package let plumbing: RunPlumbing
    package let plan: JitterPlan
    package let observed: [SharedCounter]
    package let leaderPid: pid_t
    package let originalSignalMask: sigset_t
    /// The preload library's start gate, shared by every copy of a command run under a preempting plan.
    package var startGate: CommandStartGate? = nil
    /// The command's argv and environment, built by the leader (``CommandSpawnPlan``); nil for closure runs.
    package var spawnPlan: CommandSpawnPlan? = nil

    package func main() -> Never {
        // Die with the leader, and be the subreaper of everything the body starts, so at exit the worker can
        // name each process it leaves behind.
        let processProblem = prepareProcess()
        plumbing.keepWorkerEnds(index)
        let channel = plumbing.results[index].writeEnd
        let worker = Worker(index: index, control: control, plan: plan, channel: channel, observed: observed)
        // A worker that could not be set up as promised (its own group, a subreaper, output captured) must not
        // run: it would be reported as if it had, while its leftovers or output went unseen.
        if let problem = processProblem ?? redirectOutput() {
            leave(worker, notStarted: problem)
        }
        switch launch {
        case let .closure(work):
            if let problem = SyscallRunControl.enterClosureWorker() { leave(worker, notStarted: problem) }  // syscalls/pct
            WorkerAsyncSupport.installAfterFork()  // Tasks run after fork only on an executor of its own.
            let preemption = JitterRuntime.installInWorker(plan: plan, seed: worker.seed)
            if let note = preemption.note { worker.send(.workerNote(note)) }
            Jitter.current = worker.jitter
            runLifecycle(work, worker: worker)
            Jitter.current = nil
            if preemption == .armed { JitterRuntime.stop() }
            reportLeftovers(worker, commandPid: nil)
        case let .command(commandLine):
            let code = shepherd(commandLine, worker: worker, channel: channel)
            fflush(nil)
            shakedown_exit_now(code)
        }
        fflush(nil)
        shakedown_exit_now(0)
    }

    /// Setup, the rounds, teardown. A setup that throws runs no round (the others stop at the broken barrier);
    /// teardown runs whenever setup succeeded.
    private func runLifecycle(_ work: WorkerLaunch.ClosureWork, worker: Worker) {
        if let setUp = work.lifecycle.setUp {
            do {
                try setUp(worker)
            } catch {
                worker.send(.threw(message: "setUp threw: \(error)", round: 0))
                control.roundBarrier.break(by: index)
                return
            }
        }
        let rounds = worker.runRounds(work.body, judge: work.judge, reportsFinish: false)
        if rounds == .finished || rounds == .stoppedByJudge { reportLeftBehindJobs(worker) }
        if let tearDown = work.lifecycle.tearDown {
            do {
                try tearDown(worker)
            } catch {
                worker.send(.threw(message: "tearDown threw: \(error)", round: Int64(worker.round)))
                return
            }
        }
        if rounds == .finished || rounds == .stoppedByJudge { worker.sendFinished() }
    }

    /// A synchronous body can start a `Task` too; its jobs run on the worker's executor and would be dropped when
    /// the worker exits, so work the run never did would pass as clean. An async body's last round has already
    /// checked (at the caller's line); this covers the synchronous ones.
    private func reportLeftBehindJobs(_ worker: Worker) {
        guard !WorkerAsyncSupport.backlogReported, let executor = WorkerAsyncSupport.executor,
              let message = WorkerAsyncSupport.leftBehindJobs(on: executor, grace: Shake.asyncBacklogGrace)
        else { return }
        worker.send(.threw(message: message, round: Int64(worker.round)))
    }

    /// Own process group, death with the leader, subreaper, the test's signal mask. Returns what failed.
    private func prepareProcess() -> String? {
        if setpgid(0, 0) != 0 { return failure("setpgid") }
        if shakedown_set_parent_death_signal(SIGKILL) != 0 { return failure("prctl(PR_SET_PDEATHSIG)") }
        // The leader died before PDEATHSIG was armed: nobody would read this worker's report.
        if getppid() != leaderPid { shakedown_exit_now(70) }
        if shakedown_set_child_subreaper(1) != 0 { return failure("prctl(PR_SET_CHILD_SUBREAPER)") }
        var mask = originalSignalMask
        if shakedown_set_signal_mask(&mask) != 0 { return failure("sigprocmask") }
        return nil
    }

    /// Standard input from /dev/null, standard output and error into the output pipe. Returns what failed.
    private func redirectOutput() -> String? {
        let output = plumbing.outputs[index].writeEnd
        if plumbing.nullInput >= 0, dup2(plumbing.nullInput, STDIN_FILENO) < 0 { return failure("dup2(stdin)") }
        if dup2(output, STDOUT_FILENO) < 0 { return failure("dup2(stdout)") }
        if dup2(output, STDERR_FILENO) < 0 { return failure("dup2(stderr)") }
        closeQuietly(output)
        closeQuietly(plumbing.nullInput)
        // Line-buffer stdout so what the worker printed before a crash is not lost in a buffer.
        shakedown_line_buffer_stdout()
        return nil
    }

    private func failure(_ call: String) -> String {
        "\(ShakedownError.systemCall(call, errno: .lastError))"
    }

    /// Reports that this worker never ran, releases the others (they would wait for it at the barriers), leaves.
    private func leave(_ worker: Worker, notStarted reason: String) -> Never {
        worker.send(.notStarted(reason: reason))
        control.startGate.break(by: index)
        control.roundBarrier.break(by: index)
        fflush(nil)
        shakedown_exit_now(0)
    }

    /// Runs the command as a child, waits for it, and reports what it left behind. The shepherd blocks SIGTERM
    /// and friends so that a teardown signal sent to the group ends the command, not the one reporting on it.
    /// Returns the code to exit with: the command's status, encoded (``exitCode(forCommandStatus:)``).
    private func shepherd(_ commandLine: WorkerLaunch.CommandLine, worker: Worker, channel: CInt) -> Int32 {
        if shakedown_block_termination_signals() != 0 { leave(worker, notStarted: failure("sigprocmask")) }
        if case let .broken(by) = control.startGate.arriveAndWait() {
            // Released copies may already run; this one was not released with them, so it does not run at all.
            worker.send(.notStarted(reason: "copy \(by) failed before the copies were released together"))
            return Self.notStartedExitCode
        }
        guard let spawnPlan else { leave(worker, notStarted: "the run leader prepared no argv and environment for this copy") }
        // The command inherits the control block and its result channel under the numbers its environment names
        // (the shepherd's own copies: the shepherd itself execs nothing).
        for descriptor in [control.region.descriptor, channel] where fcntl(descriptor, F_SETFD, 0) != 0 {
            leave(worker, notStarted: failure("fcntl(F_SETFD)"))
        }
        if let note = plan.commandFallbackNote(executable: commandLine.executable) { worker.send(.workerNote(note)) }
        var failedErrno: CInt = 0
        var failedStep: CInt = 0
        let pid = shakedown_spawn(commandLine.executable, spawnPlan.argv, spawnPlan.envp, &failedErrno, &failedStep)
        guard pid > 0 else {
            leave(worker, notStarted: Self.spawnFailure(commandLine.executable, step: failedStep, errno: failedErrno))
        }
        let slot = control.slot(index)
        slot.pointee.command_pid = pid
        worker.send(.commandStarted(pid: Int64(pid)))
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        slot.pointee.command_status = status
        withUnsafeMutablePointer(to: &slot.pointee.command_exited) { shakedown_atomic_store_u32($0, 1) }
        worker.send(.commandExited(pid: Int64(pid), status: Int64(status)))
        if slot.pointee.rounds_completed <= UInt64(control.rounds) {
            control.roundBarrier.break(by: index)
        }
        reportLeftovers(worker, commandPid: pid)
        return Self.exitCode(forCommandStatus: status)
    }

    /// The shepherd's own exit code for its command's wait status: the command's exit code, or 128 + the signal
    /// that killed it. The test process checks it against the status recorded in shared memory, which the command
    /// could overwrite; the shepherd's wait status it cannot.
    package static func exitCode(forCommandStatus status: Int32) -> Int32 {
        switch ProcessExit(waitStatus: status) {
        case let .exited(code): code & 0xFF
        case let .signaled(signal, _): (128 + signal.rawValue) & 0xFF
        }
    }

    /// A shepherd that did not start its command.
    private static let notStartedExitCode: Int32 = 126

    /// The caller's environment less any Shakedown variables: what every copy's environment starts from.
    package static func inheritedEnvironment() -> [String] {
        let ours = ["SHAKEDOWN_RUN_FD=", "SHAKEDOWN_RESULT_FD=", "SHAKEDOWN_WORKER=", "SHAKEDOWN_SEED=", "SHAKEDOWN_JITTER="]
        return ProcessEnvironment.current().filter { variable in !ours.contains { variable.hasPrefix($0) } }
    }

    /// Copy `index`'s environment: `inherited` plus this run's variables (the control block's and the result
    /// channel's descriptors, the copy's index, the run's seed and jitter plan), merged with the plan's own.
    package static func commandEnvironment(inherited: [String], index: Int, control: RunControl, channel: CInt,
                                           plan: JitterPlan, gate: CommandStartGate?) -> [String] {
        plan.commandEnvironment(seed: control.seed.derived(for: index), merging: inherited + [
            "\(WorkerEnvironment.controlDescriptor)=\(control.region.descriptor)",
            "\(WorkerEnvironment.resultDescriptor)=\(channel)",
            "\(WorkerEnvironment.workerIndex)=\(index)",
            "\(Seed.environmentVariable)=\(control.seed.value)",
            "\(WorkerEnvironment.jitterPlan)=\(plan.encoded)",
        ], gate: gate)
    }

    /// Why a command could not be started, in words: the step, the errno, and what it usually means.
    package static func spawnFailure(_ executable: String, step: CInt, errno value: CInt) -> String {
        let error = Errno(rawValue: value)
        let call: String
        switch step {
        case CInt(SHAKEDOWN_SPAWN_PIPE): call = "pipe2"
        case CInt(SHAKEDOWN_SPAWN_PDEATHSIG): call = "prctl(PR_SET_PDEATHSIG)"
        case CInt(SHAKEDOWN_SPAWN_SIGMASK): call = "sigprocmask"
        case CInt(SHAKEDOWN_SPAWN_EXEC): call = "execve"
        default: call = "fork"
        }
        var text = "could not start \(executable): \(ShakedownError.systemCall(call, errno: error))"
        guard step == CInt(SHAKEDOWN_SPAWN_EXEC) else { return text }
        switch error {
        case .noSuchFileOrDirectory:
            text += " — the file or its interpreter (the program on its `#!` line, or the ELF loader) does not exist"
        case .execFormatError:
            text += " — not a format this kernel runs: a script needs a `#!` line, a binary must be built for this machine"
        case .permissionDenied:
            text += " — not executable: a directory, a file without execute permission, or a noexec mount"
        default:
            break
        }
        return text
    }

    /// Names every child still here: zombies (exited, never waited for) are reported and reaped; live ones are
    /// reported and left for the leader, which adopts them when this worker exits and tears them down.
    private func reportLeftovers(_ worker: Worker, commandPid: pid_t?) {
        let slot = control.slot(index)
        // One syscall answers the common case (no children at all: ECHILD) without listing /proc (≈ 30-60 µs).
        var probe = siginfo_t()
        if waitid(P_ALL, 0, &probe, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD {
            slot.pointee.children_left = 1
            return
        }
        var live: UInt32 = 0
        defer { slot.pointee.children_left = 1 + live }
        let me = getpid()
        for child in ProcessTable.children(of: me) {
            guard let status = ProcessTable.status(of: child) else { continue }
            let age = status.ageMilliseconds
            if status.isZombie {
                var info = siginfo_t()
                var waitStatus: Int64 = -1
                if waitid(P_PID, id_t(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 {
                    waitStatus = Int64(Self.waitStatus(from: info))
                }
                worker.send(.leftover(kind: .zombie, pid: Int64(child), parent: Int64(commandPid ?? me),
                                      status: waitStatus, command: "[\(status.name)]", ageMilliseconds: age))
                var ignored: Int32 = 0
                waitpid(child, &ignored, WNOHANG)
            } else {
                live += 1
                worker.send(.leftover(kind: .orphan, pid: Int64(child), parent: Int64(commandPid ?? me), status: -1,
                                      command: ProcessTable.commandLine(of: child), ageMilliseconds: age))
            }
        }
    }

    /// Rebuilds a `wait(2)` status word from `waitid`'s siginfo.
    private static func waitStatus(from info: siginfo_t) -> Int32 {
        let code = info.si_code
        let value = info._sifields._sigchld.si_status
        return code == CLD_EXITED ? (value & 0xFF) << 8 : value & 0x7F
    }
}

/// Calls `body` with a NULL-terminated C array of the strings (for execve).
func withCStrings<Result>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result) -> Result {
    let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers)
}
