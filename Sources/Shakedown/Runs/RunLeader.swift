#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import SystemPackage

/// The process between the test and its workers: it forks the workers, is the child subreaper for everything
/// they start, reaps every process of the run, and tears down what is left.
///
/// Why a separate process rather than making the test process the subreaper: the test process then reaps only
/// this one child it forked itself, never a status that belongs to the user's own `Foundation.Process` or
/// swift-subprocess children, and keeps no process-wide state. Orphans of the run (including `setsid` daemons)
/// are re-parented here, so nothing escapes to init. Where the test process made a cgroup for the run, the
/// leader moves itself into it first, so the kernel holds every process of the run too. When the test process
/// dies (even by SIGKILL), its pidfd becomes readable (without a pidfd, the lifeline pipe reaches end of file) and
/// the leader kills and reaps the whole run before exiting. Its exit status (``Exit``) tells the test process
/// whether anything the leader relies on failed.
package struct RunLeader {
    package let configuration: RunConfiguration
    package let launch: WorkerLaunch
    package let control: RunControl
    package let plumbing: RunPlumbing
    package let observed: [SharedCounter]
    /// The test process: the leader's parent, watched through a pidfd.
    package let supervisor: pid_t
    package let supervisorGroup: pid_t
    /// The run's cgroup, when the test process could make one.
    package let controlGroup: ControlGroup?
    /// `cgroup.procs` of ``controlGroup``, open for writing; -1 without a group. The leader closes it.
    package let cgroupProcesses: CInt
    /// After a run that left nothing behind, wait for the next one (``LeaderSession``) instead of exiting.
    package var staysForNextRun = false

    private final class State {
        var workers: [pid_t] = []
        var workerIndex: [pid_t: Int] = [:]
        var exited: Set<Int> = []
        var adopted: [pid_t: Adopted] = [:]
        var lastExitedWorker: Int?
        var tearingDown = false
        /// Processes known to descend from a worker (adopted ones and what they had started when adopted): a
        /// process arriving later whose group or session one of them leads came from the same worker.
        var lineage: [pid_t: Int] = [:]
        let faults: FaultInjector
        /// Something the leader relies on failed: it exits with ``Exit/degraded``.
        var degraded = false
        var notedChildrenScan = false

        /// Sized for `processes` workers up front: growing the tables while forking would allocate and rehash
        /// between forks, and every page the leader writes after a fork is copied (the child shares it).
        init(processes: Int, faults: FaultInjector) {
            self.faults = faults
            workers.reserveCapacity(processes)
            workerIndex.reserveCapacity(processes)
            exited.reserveCapacity(processes)
        }
    }

    /// Instantiates, in the test process, the generic types the leader uses (see ``ForkWarmUp``), so no
    /// leader builds their runtime metadata in its own copy of the process.
    static func warmUpTypes() {
        let state = State(processes: 2, faults: FaultInjector(FaultPlan()))
        state.workerIndex[1] = 0
        state.lineage[1] = 0
        state.exited.insert(0)
        state.adopted[1] = Adopted(worker: 0, command: "", ageMilliseconds: 0)
    }

    private struct Adopted {
        var worker: Int
        var command: String
        var ageMilliseconds: Int64
        var adoptedAt = monotonicNanoseconds()
        /// 0 alive; 1 exited on its own; 2 stopped by a teardown signal; 3 exited during teardown.
        var cleanup: Int64 = 0
        var status: Int64 = -1
    }

    package func main() -> Never {
        var state = State(processes: configuration.processes, faults: FaultInjector(configuration.faults))
        // A leader wedged at its very start (a tested fault): the test process must still get out.
        if configuration.faults.stallsLeaderAtStart { kill(getpid(), SIGSTOP) }
        joinControlGroup(state)
        plumbing.keepLeaderEnds()
        takeCharge(state)
        var originalMask = sigset_t()
        let signals = watchChildren(state, originalMask: &originalMask)
        // Died already, before this first look (nothing was started yet): then the pid may name another process.
        if getppid() != supervisor { shakedown_exit_now(Exit.testProcessGone) }
        let testProcess = watchTestProcess(state)
        while true {
            runWorkers(state, signals: signals, testProcess: testProcess, originalMask: originalMask)
            guard staysForNextRun, canStay(state) else { finish(state) }
            send(.leaderIdle)
            awaitNextRun(signals: signals, testProcess: testProcess, state)
            state = State(processes: configuration.processes, faults: state.faults)
        }
    }

    /// One run: forks the workers, supervises them to their exits, tears down what they left.
    private func runWorkers(_ state: State, signals: CInt, testProcess: CInt, originalMask: sigset_t) {
        // The fork loop does as little as it can between forks: after each fork every page the leader writes
        // (stack, heap, malloc state) is copied, because the new worker shares it. So the loop writes pids only to
        // the workers' slots (shared memory, never copied) and the bookkeeping waits until all workers exist.
        // Their exits wait in the signalfd meanwhile. The supervisor learns the pids from one write.
        var forkErrors: [Int: Int32] = [:]
        // Empty unless a setpgid fails: nothing is allocated (or copied into the next worker) in the common case.
        var groupFailures: [(index: Int, errno: Int32)] = []
        let startGate = commandStartGate()
        let (syscallRun, syscallNote) = SyscallRunControl.leaderPrepare(configuration, control: control)  // syscalls/pct
        if let syscallNote { send(.leaderNote(syscallNote)) }
        let spawnPlans = commandSpawnPlans(startGate)
        for index in 0..<configuration.processes {
            let pid = state.faults.call(.fork) { fork() }
            if pid == 0 {
                closeQuietly(signals)
                closeQuietly(testProcess)
                WorkerProcess(index: index, launch: launch, control: control, plumbing: plumbing,
                              plan: jitter, observed: observed, leaderPid: getppid(),
                              originalSignalMask: originalMask, startGate: startGate,
                              spawnPlan: spawnPlans.isEmpty ? nil : spawnPlans[index]).main()
            }
            if pid > 0 {
                if setpgid(pid, pid) != 0 { groupFailures.append((index, errno)) }
                control.slot(index).pointee.pid = pid
            } else {
                forkErrors[index] = errno
                // Workers already forked stop at the broken barriers; those after this one run as usual.
                control.roundBarrier.break(by: index)
                control.startGate.break(by: index)
            }
        }
        var started: [UInt8] = []
        for index in 0..<configuration.processes {
            // A fresh control block is zeroed: a slot without a pid is a worker that could not be forked.
            let pid = control.slot(index).pointee.pid
            state.workers.append(pid > 0 ? pid : -1)
            if pid > 0 {
                state.workerIndex[pid] = index
                started += ChannelMessage.workerStarted(index: Int64(index), pid: Int64(pid)).encoded()
            } else {
                state.exited.insert(index)
                let reason = forkErrors[index].map { "\(ShakedownError.systemCall("fork", errno: Errno(rawValue: $0)))" }
                    ?? "fork failed"
                started += ChannelMessage.workerNotStarted(index: Int64(index), reason: reason).encoded()
            }
        }
        writeAll(plumbing.events.writeEnd, started)
        syscallRun?.start()  // syscalls/pct: the scheduler thread

        checkGroups(state, groupFailures)
        superviseWorkers(state, signals: signals, testProcess: testProcess)
        tearDownLeftovers(state, signals: signals)
        for note in syscallRun?.finish() ?? [] { send(.leaderNote(note)) }  // syscalls/pct: summary, trace
    }

    /// Whether the run left the leader exactly as it found it: nothing adopted, nothing torn down, no child
    /// left, nothing failed. Only then may it serve another run; otherwise it reports and exits as usual.
    private func canStay(_ state: State) -> Bool {
        !state.degraded && state.adopted.isEmpty && !state.tearingDown && hasNoChildren()
    }

    /// Idle between runs of a ``LeaderSession``: `G` on the command pipe starts the next run (the test process has
    /// reset the control block); `Q`, any other byte or end of file ends the leader; the test process's death
    /// kills everything as during a run.
    private func awaitNextRun(signals: CInt, testProcess: CInt, _ state: State) {
        while true {
            var fds = [
                pollfd(fd: plumbing.lifeline.readEnd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: plumbing.commands.readEnd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: testProcess, events: Int16(POLLIN), revents: 0),  // fd -1 is ignored by poll
            ]
            if poll(&fds, 3, -1) < 0 {
                if errno == EINTR { continue }
                shakedown_exit_now(Exit.ok)  // Nothing of a run is alive: leaving loses nothing.
            }
            if fds[0].revents != 0 || fds[2].revents != 0 { killEverything(state, signals: signals) }
            if fds[1].revents != 0 {
                var byte: UInt8 = 0
                let got = read(plumbing.commands.readEnd, &byte, 1)
                if got < 0 && errno == EINTR { continue }
                if got == 1 && byte == Self.nextRun { return }
                shakedown_exit_now(Exit.ok)
            }
        }
    }

    /// The command byte that starts the next run of a kept leader.
    package static let nextRun = UInt8(ascii: "G")
    /// The command byte that ends a kept leader between runs.
    package static let quit = UInt8(ascii: "Q")

    /// Exit statuses of the leader, read by the test process.
    package enum Exit {
        /// Everything went as it should.
        package static let ok: Int32 = 0
        /// It could not watch its children (signalfd): no worker was started.
        package static let cannotSupervise: Int32 = 71
        /// The test process was gone before the leader started anything.
        package static let testProcessGone: Int32 = 72
        /// It ran, but something it relies on failed (its notes say what): the report may be incomplete.
        package static let degraded: Int32 = 75

        /// What a leader's wait status means, or `nil` when it is a clean exit.
        package static func problem(_ status: Int32) -> String? {
            switch ProcessExit(waitStatus: status) {
            case .exited(code: ok): return nil
            case .exited(code: cannotSupervise): return "the run leader could not watch its children and started no worker"
            case .exited(code: testProcessGone): return "the run leader found the test process gone and started nothing"
            case .exited(code: degraded): return "the run leader's own system calls failed (see the notes); the report may be incomplete"
            case let exit: return "the run leader ended unexpectedly (\(exit))"
            }
        }
    }

    /// Moves the leader into the run's cgroup before it forks anything, so every process of the run is born in it.
    private func joinControlGroup(_ state: State) {
        guard cgroupProcesses >= 0 else { return }
        let written = state.faults.call(.cgroupJoin) { write(cgroupProcesses, "0", 1) }
        if written != 1 {
            send(.leaderNote("could not join the run's cgroup (\(errnoText())); contained by process groups and the subreaper"))
        }
        closeQuietly(cgroupProcesses)
    }

    /// Its own process group (the teardown signals groups, never the test's) and the subreaper of the run.
    private func takeCharge(_ state: State) {
        if setpgid(0, 0) != 0 {
            degrade(state, "setpgid(0, 0) in the run leader failed (\(errnoText()))")
        }
        // A test process that ignores SIGCHLD would have its children reaped by the kernel, invisibly to us.
        signal(SIGCHLD, SIG_DFL)
        if state.faults.call(.prctl, { shakedown_set_child_subreaper(1) }) != 0 {
            degrade(state, "prctl(PR_SET_CHILD_SUBREAPER) in the run leader failed (\(errnoText())): orphans of workers "
                + "bypass the leader" + (cgroupProcesses >= 0 ? " (the run's cgroup still holds them)" : ""))
        }
    }

    /// Blocks SIGCHLD and returns a signalfd for it; without one the leader cannot supervise and leaves.
    private func watchChildren(_ state: State, originalMask: inout sigset_t) -> CInt {
        let signals = state.faults.call(.signalfd) { shakedown_sigchld_descriptor(&originalMask) }
        if signals < 0 {
            send(.leaderNote("sigprocmask/signalfd for SIGCHLD failed (\(errnoText())); cannot supervise the run"))
            send(.leaderDone)
            shakedown_exit_now(Exit.cannotSupervise)
        }
        return signals
    }

    /// The test process's own pidfd is readable once it has exited. Unlike the lifeline pipe, no other process
    /// can hold it open: a concurrent run's leader, forked while this run's pipes existed, inherits their write
    /// ends, and would keep this leader from seeing end of file. Without a pidfd the lifeline is all there is.
    private func watchTestProcess(_ state: State) -> CInt {
        let handle = ProcessHandle(pid: supervisor, faults: state.faults)
        if handle.descriptor < 0 {
            send(.leaderNote("pidfd_open of the test process failed (errno \(handle.openError)); watching it through the lifeline pipe"))
        }
        return handle.descriptor
    }

    /// A failed `setpgid(worker, worker)` is harmless when the worker's own `setpgid(0, 0)` won the race; otherwise
    /// the teardown cannot reach the worker's processes by group.
    private func checkGroups(_ state: State, _ failures: [(index: Int, errno: Int32)]) {
        for failure in failures {
            let pid = state.workers[failure.index]
            guard pid > 0, ProcessTable.status(of: pid)?.processGroup != pid else { continue }
            degrade(state, "setpgid of worker \(failure.index) failed (\(Errno(rawValue: failure.errno)), errno \(failure.errno)): "
                + "it has no process group of its own")
        }
    }

    /// Waits for every worker to exit, reaping as they go; tears down on command, and kills everything when the
    /// test process is gone.
    private func superviseWorkers(_ state: State, signals: CInt, testProcess: CInt) {
        while state.exited.count < configuration.processes {
            var fds = [
                pollfd(fd: plumbing.lifeline.readEnd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: plumbing.commands.readEnd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                pollfd(fd: testProcess, events: Int16(POLLIN), revents: 0),  // fd -1 is ignored by poll
            ]
            if poll(&fds, 4, -1) < 0 {
                if errno == EINTR { continue }
                degrade(state, "poll in the run leader failed (\(errnoText())); tore the run down")
                tearDown(state, signals: signals, targets: { liveWorkers(state) }, groups: liveWorkers(state))
                return
            }
            if fds[2].revents != 0 {
                shakedown_drain_signal_descriptor(signals)
                reap(state)
            }
            if fds[0].revents != 0 || fds[3].revents != 0 {
                killEverything(state, signals: signals)
            }
            if fds[1].revents != 0 {
                var byte: UInt8 = 0
                if read(plumbing.commands.readEnd, &byte, 1) == 1 {
                    tearDown(state, signals: signals, targets: { liveWorkers(state) }, groups: liveWorkers(state))
                } else {
                    // The supervisor closed its end: it is gone or gave up.
                    killEverything(state, signals: signals)
                }
            }
        }
    }

    /// Everything still here was orphaned by a worker: tear it down, again and again while killing a process
    /// re-parents its own children to us.
    private func tearDownLeftovers(_ state: State, signals: CInt) {
        var passes = 0
        while passes < 20 && !hasNoChildren() {
            reap(state)
            let live = ownChildren(state)
            if live.isEmpty { break }
            noteAdopted(state)
            passes += 1
            tearDown(state, signals: signals, targets: { ownChildren(state) }, groups: live)
        }
    }

    /// Reports every adopted process and anything that survived, then leaves with the status the test reads.
    private func finish(_ state: State) -> Never {
        // Sorting even an empty dictionary instantiates the metadata of its element array in this process (≈ 1 %
        // of a run's CPU in profiles); the common run adopts nothing.
        for (pid, adopted) in state.adopted.isEmpty ? [] : state.adopted.sorted(by: { $0.key < $1.key }) {
            send(.orphan(pid: Int64(pid), worker: Int64(adopted.worker), command: adopted.command,
                         ageMilliseconds: adopted.ageMilliseconds, cleanup: adopted.cleanup, status: adopted.status))
        }
        let survivors = hasNoChildren() ? [] : ownChildren(state)
        if !survivors.isEmpty {
            degrade(state, "processes survived SIGKILL (uninterruptible sleep?): \(survivors)")
        }
        send(.leaderDone)
        shakedown_exit_now(state.degraded ? Exit.degraded : Exit.ok)
    }

    /// A note, and the leader's exit status will tell the test process the run cannot be called clean.
    private func degrade(_ state: State, _ note: String) {
        state.degraded = true
        send(.leaderNote(note))
    }

    /// The leader's children: from `/proc/PID/task/*/children`, or, where that cannot be read, a scan of /proc.
    private func ownChildren(_ state: State) -> [pid_t] {
        let me = getpid()
        if let listed = ProcessTable.childrenListing(of: me, faults: state.faults) { return listed }
        if !state.notedChildrenScan {
            state.notedChildrenScan = true
            send(.leaderNote("/proc/\(me)/task/*/children could not be read; found the leader's children by scanning /proc"))
        }
        return ProcessTable.scanForChildren(of: me)
    }

    private func liveWorkers(_ state: State) -> [pid_t] {
        state.workers.enumerated().compactMap { index, pid in
            pid > 0 && !state.exited.contains(index) ? pid : nil
        }
    }

    /// Reaps every child that has exited and notes newly adopted orphans.
    private func reap(_ state: State) {
        // Orphans reach this subreaper only when a worker that left children exits (or during teardown).
        var mayHaveAdopted = state.tearingDown
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { break }
            if let index = state.workerIndex[pid] {
                state.exited.insert(index)
                state.lastExitedWorker = index
                // A worker that leaves before passing the last barrier would leave the others waiting forever.
                if control.slot(index).pointee.rounds_completed <= UInt64(configuration.rounds) {
                    control.roundBarrier.break(by: index)
                    control.startGate.break(by: index)
                }
                send(.workerExited(index: Int64(index), pid: Int64(pid), status: Int64(status)))
                if control.slot(index).pointee.children_left != 1 {
                    mayHaveAdopted = true
                    noteAdopted(state)
                }
            } else if isCommand(pid) {
                // A command whose shepherd was killed with it (a hung copy): reported as the worker, not a leak.
                state.adopted[pid] = nil
            } else {
                mayHaveAdopted = true
                // Reaped before it was noted: its /proc entry is gone, only its lineage can name its worker.
                var adopted = state.adopted[pid]
                    ?? Adopted(worker: state.lineage[pid] ?? state.lastExitedWorker ?? -1, command: "?", ageMilliseconds: -1)
                if adopted.ageMilliseconds >= 0 {
                    adopted.ageMilliseconds += (monotonicNanoseconds() - adopted.adoptedAt) / 1_000_000
                }
                let exit = ProcessExit(waitStatus: status)
                if state.tearingDown {
                    if case let .signaled(signal, _) = exit {
                        adopted.cleanup = 2
                        adopted.status = Int64(signal.rawValue)
                    } else {
                        adopted.cleanup = 3
                        adopted.status = Int64(status)
                    }
                } else {
                    adopted.cleanup = 1
                    adopted.status = Int64(status)
                }
                state.adopted[pid] = adopted
            }
        }
        if mayHaveAdopted { noteAdopted(state) }
    }

    /// Whether this process has no children at all, live or exited: one `waitid` instead of a /proc listing.
    private func hasNoChildren() -> Bool {
        var probe = siginfo_t()
        return waitid(P_ALL, 0, &probe, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD
    }

    /// Records children that are not workers: orphans re-parented to this subreaper. What each has started so far
    /// joins its lineage, so that those processes, re-parented here later, are credited to the same worker.
    private func noteAdopted(_ state: State) {
        for child in ownChildren(state)
        where state.workerIndex[child] == nil && state.adopted[child] == nil && !isCommand(child) {
            // One read of its stat serves both the attribution and the age.
            let status = ProcessTable.status(of: child)
            let worker = attribute(status, state)
            state.adopted[child] = Adopted(worker: worker, command: ProcessTable.commandLine(of: child),
                                           ageMilliseconds: status?.ageMilliseconds ?? -1)
            guard worker >= 0 else { continue }
            state.lineage[child] = worker
            for descendant in ProcessTable.descendants(of: child) where state.lineage[descendant] == nil {
                state.lineage[descendant] = worker
            }
        }
    }

    /// Whether `pid` is the command a shepherd started.
    private func isCommand(_ pid: pid_t) -> Bool {
        (0..<configuration.processes).contains { control.slot($0).pointee.command_pid == pid }
    }

    /// The worker an orphan came from: the one whose process group it is in; else the one whose adopted process
    /// started it or leads its group or session (a `setsid` child's child, re-parented here when its own parent
    /// exited, perhaps long after its worker); else the one that exited last (orphans are re-parented here exactly
    /// when their worker, a subreaper itself, exits).
    private func attribute(_ status: ProcessStatus?, _ state: State) -> Int {
        if let status {
            if let index = state.workerIndex[status.processGroup] { return index }
            for relative in [status.pid, status.processGroup, status.session] {
                if let index = state.lineage[relative] { return index }
            }
        }
        return state.lastExitedWorker ?? -1
    }

    /// Whether `pid` is a child of this process not yet reaped: then its pid (and the group it leads) cannot have
    /// been reused, and signalling it cannot reach a stranger.
    private func isUnreapedChild(_ pid: pid_t) -> Bool {
        var probe = siginfo_t()
        return waitid(P_PID, id_t(pid), &probe, WEXITED | WNOHANG | WNOWAIT) == 0
    }

    /// Runs the teardown steps against `targets` (re-read before each step) and the process groups in `groups`.
    private func tearDown(_ state: State, signals: CInt, targets: () -> [pid_t], groups: [pid_t]) {
        state.tearingDown = true
        // A forked child may have exec'd since it was adopted: name it by what it runs now.
        for pid in targets() where state.adopted[pid] != nil {
            state.adopted[pid]?.command = ProcessTable.commandLine(of: pid)
        }
        let protectedGroups: Set<pid_t> = [supervisorGroup, getpgrp(), 0, 1]
        let ownGroups = Set(groups).filter { group in
            !protectedGroups.contains(group) && ProcessTable.status(of: group)?.processGroup == group
        }
        for step in configuration.teardown.steps {
            switch step {
            case let .signal(signal):
                // A group whose leader was reaped by an earlier step may be a stranger's by now.
                for group in ownGroups where isUnreapedChild(group) { kill(-group, signal.rawValue) }
                for pid in targets() { kill(pid, signal.rawValue) }
            case let .wait(duration):
                // A stopped process (a hung worker frozen at the deadline) cannot act on SIGTERM: waiting for it
                // would only add the grace to every hung run.
                waitForExit(state, signals: signals, within: duration, targets: targets, stoppedCountAsGone: true)
            }
        }
        // SIGKILL was sent last; give the kernel a moment to finish the kills before reaping.
        waitForExit(state, signals: signals, within: .seconds(2), targets: targets)
    }

    private func waitForExit(_ state: State, signals: CInt, within duration: Duration, targets: () -> [pid_t],
                             stoppedCountAsGone: Bool = false) {
        let deadline = monotonicNanoseconds() + duration.nanoseconds
        while true {
            reap(state)
            let remaining = targets().filter { pid in
                guard let status = ProcessTable.status(of: pid), !status.isZombie else { return false }
                return !(stoppedCountAsGone && (status.state == "T" || status.state == "t"))
            }
            if remaining.isEmpty { return }
            let left = deadline - monotonicNanoseconds()
            if left <= 0 { return }
            var fd = pollfd(fd: signals, events: Int16(POLLIN), revents: 0)
            if poll(&fd, 1, Int32(min(left / 1_000_000 + 1, 50))) < 0 && errno != EINTR {
                degrade(state, "poll in the run leader's teardown failed (\(errnoText())); stopped waiting")
                return
            }
            shakedown_drain_signal_descriptor(signals)
        }
    }

    /// The test process is gone: SIGKILL the whole run at once, reap it, remove its cgroup, and leave.
    private func killEverything(_ state: State, signals: CInt) -> Never {
        if let controlGroup {
            // Step out of the group first, so its kill spares the leader, which must still reap and remove it.
            let parent = open(controlGroup.parentPath + "/cgroup.procs", O_WRONLY | O_CLOEXEC)
            if parent >= 0, write(parent, "0", 1) == 1 { _ = controlGroup.killAndWait(within: .seconds(2)) }
            closeQuietly(parent)
        }
        for pid in liveWorkers(state) { kill(-pid, SIGKILL) }
        for _ in 0..<50 {
            let children = ownChildren(state)
            if children.isEmpty { break }
            for child in children {
                if let group = ProcessTable.status(of: child)?.processGroup, group == child, group != supervisorGroup {
                    kill(-group, SIGKILL)
                }
                kill(child, SIGKILL)
            }
            var fd = pollfd(fd: signals, events: Int16(POLLIN), revents: 0)
            _ = poll(&fd, 1, 20)
            shakedown_drain_signal_descriptor(signals)
            var status: Int32 = 0
            while waitpid(-1, &status, WNOHANG) > 0 {}
        }
        _ = controlGroup?.remove()
        shakedown_exit_now(Exit.ok)
    }

    /// This run's plan: for commands `mix` is drawn from the run's seed (``JitterPlan/forCommandRun(seed:)``),
    /// as the supervisor draws it for the report; a kept leader draws it again for each run.
    private var jitter: JitterPlan {
        guard case .command = launch else { return configuration.jitter }
        return configuration.jitter.forCommandRun(seed: control.seed)
    }

    /// For commands: each copy's argv and environment, built here once per run rather than in every shepherd.
    private func commandSpawnPlans(_ startGate: CommandStartGate?) -> [CommandSpawnPlan] {
        guard case let .command(commandLine) = launch else { return [] }
        let inherited = WorkerProcess.inheritedEnvironment()
        return (0..<configuration.processes).map { index in
            CommandSpawnPlan(arguments: commandLine.arguments, environment: WorkerProcess.commandEnvironment(
                inherited: inherited, index: index, control: control, channel: plumbing.results[index].writeEnd,
                plan: jitter, gate: startGate))
        }
    }

    /// For commands under a preempting plan: the gate the preload library holds every copy at until all have
    /// loaded, so copies of a short program overlap (exec and loading take longer than many racy loops).
    private func commandStartGate() -> CommandStartGate? {
        guard case .command = launch, jitter.holdsAtStartGate else { return nil }
        do throws(ShakedownError) {
            return try CommandStartGate(parties: configuration.processes)
        } catch {
            send(.leaderNote("no start gate for the copies (\(error)): they start as they are scheduled"))
            return nil
        }
    }

    private func send(_ message: ChannelMessage) {
        writeAll(plumbing.events.writeEnd, message.encoded())
    }

    /// `EPERM (errno 1)`, for notes.
    private func errnoText() -> String {
        let error = errno
        return "\(Errno(rawValue: error)) (errno \(error))"
    }
}
