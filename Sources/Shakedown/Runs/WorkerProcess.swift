#if canImport(Glibc)
import Glibc
#endif
import CShakedown

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

    package func main() -> Never {
        // Die with the leader, and be the subreaper of everything the body starts, so at exit the worker can
        // name each process it leaves behind.
        setpgid(0, 0)
        shakedown_set_parent_death_signal(SIGKILL)
        if getppid() != leaderPid { shakedown_exit_now(70) }
        shakedown_set_child_subreaper(1)
        var mask = originalSignalMask
        shakedown_set_signal_mask(&mask)

        plumbing.keepWorkerEnds(index)
        let output = plumbing.outputs[index].writeEnd
        let channel = plumbing.results[index].writeEnd
        if plumbing.nullInput >= 0 { dup2(plumbing.nullInput, STDIN_FILENO) }
        dup2(output, STDOUT_FILENO)
        dup2(output, STDERR_FILENO)
        closeQuietly(output)
        closeQuietly(plumbing.nullInput)
        // Line-buffer stdout so what the worker printed before a crash is not lost in a buffer.
        shakedown_line_buffer_stdout()

        let worker = Worker(index: index, control: control, plan: plan, channel: channel, observed: observed)
        switch launch {
        case let .closure(body):
            Jitter.current = worker.jitter
            _ = worker.runRounds(body)
            Jitter.current = nil
            reportLeftovers(worker, commandPid: nil)
        case let .command(commandLine):
            shepherd(commandLine, worker: worker, channel: channel)
        }
        fflush(nil)
        shakedown_exit_now(0)
    }

    /// Runs the command as a child, waits for it, and reports what it left behind. The shepherd blocks SIGTERM
    /// and friends so that a teardown signal sent to the group ends the command, not the one reporting on it.
    private func shepherd(_ commandLine: WorkerLaunch.CommandLine, worker: Worker, channel: CInt) {
        shakedown_block_termination_signals()
        if case .broken = control.startGate.arriveAndWait() { return }
        // Descriptors without close-on-exec for the command (dup clears the flag).
        let controlCopy = dup(control.region.descriptor)
        let channelCopy = dup(channel)
        var environment: [String] = []
        var entry = environ
        while let pointer = entry.pointee {
            let variable = String(cString: pointer)
            if !variable.hasPrefix("SHAKEDOWN_RUN_FD=") && !variable.hasPrefix("SHAKEDOWN_RESULT_FD=")
                && !variable.hasPrefix("SHAKEDOWN_WORKER=") && !variable.hasPrefix("SHAKEDOWN_SEED=")
                && !variable.hasPrefix("SHAKEDOWN_JITTER=") {
                environment.append(variable)
            }
            entry += 1
        }
        environment += [
            "\(WorkerEnvironment.controlDescriptor)=\(controlCopy)",
            "\(WorkerEnvironment.resultDescriptor)=\(channelCopy)",
            "\(WorkerEnvironment.workerIndex)=\(index)",
            "\(Seed.environmentVariable)=\(control.seed.value)",
            "\(WorkerEnvironment.jitterPlan)=\(plan.encoded)",
        ]
        let pid = withCStrings(commandLine.arguments) { argv in
            withCStrings(environment) { envp in
                shakedown_spawn(commandLine.executable, argv, envp)
            }
        }
        closeQuietly(controlCopy)
        closeQuietly(channelCopy)
        guard pid > 0 else {
            worker.send(.threw(message: "could not start \(commandLine.executable): errno \(errno)", round: 0))
            control.roundBarrier.break(by: index)
            return
        }
        control.slot(index).pointee.command_pid = pid
        worker.send(.commandStarted(pid: Int64(pid)))
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        worker.send(.commandExited(pid: Int64(pid), status: Int64(status)))
        if control.slot(index).pointee.rounds_completed <= UInt64(control.rounds) {
            control.roundBarrier.break(by: index)
        }
        reportLeftovers(worker, commandPid: pid)
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
