#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// The test-process side of a run: forks the run leader, collects every worker's results and output while the
/// run goes on, enforces the deadline, and assembles the ``RunReport``.
///
/// It blocks the calling thread for the run's duration. It reaps only the leader, the one child it forked.
package struct Supervisor {
    package let configuration: RunConfiguration
    package let launch: WorkerLaunch
    package let observed: [SharedCounter]
    /// Counters created in the run's own control block (what cooperative commands increment).
    package let runOwnedCounters: Int
    package let command: [String]?
    /// Captures the stuck processes at the deadline, before teardown.
    package let diagnoseHang: ([HangTarget]) -> HangDiagnosis?
    /// Told how the run is going about twice a second (on the calling thread), for a progress line.
    package var progress: ((RunProgress) -> Void)? = nil

    private struct WorkerState {
        var pid: Int32 = 0
        var commandPid: Int32?
        var status: Int32?
        var decoder = ChannelDecoder()
        var output: OutputCapture
        var resultOpen = true
        var outputOpen = true
        /// Set when the leader could not fork this worker.
        var notStarted: String?
    }

    /// Where a run leader kept across runs waits (``PreparedCommandRun``); nil: a leader per run.
    package var sessions: LeaderSessions? = nil

    /// The run leader as the test process holds it.
    struct Leader {
        let pid: pid_t
        /// Its pidfd (when the kernel gives one): polled to notice its death, used to kill it without a pid race.
        let handle: ProcessHandle
    }

    /// Everything the collection loop learns while the run goes on.
    private struct Progress {
        var workers: [WorkerState]
        var events = ChannelDecoder()
        var handledEvents = 0
        var notes: [String] = []
        var timedOut = false
        var hungIndices: Set<Int> = []
        /// Each hung worker's rounds completed when the deadline passed.
        var roundsAtDeadline: [Int: Int] = [:]
        /// The hung copies' processes as the deadline found them: teardown kills them as part of the hang, and
        /// their being re-parented meanwhile does not make them leaked orphans.
        var hangMembers: Set<Int32> = []
        var hang: HangDiagnosis?
        var leaderDone = false
        /// The leader is done and stays for the next run (``ChannelMessage/leaderIdle``).
        var leaderIdle = false
        var eventsOpen = true
        /// The leader exited (its pidfd turned readable) without saying it was done.
        var leaderGone = false
        /// Why the run leader cannot be trusted for this run; the first reason found.
        var leaderProblem: String?
        var buffer = [UInt8](repeating: 0, count: 65536)
        let started: Int64
        var deadline: Int64
        /// Set once the deadline was postponed for a worker that was printing its crash report.
        var crashGrace = false
        var hardDeadline = Int64.max
        var nextProgress: Int64

        mutating func problem(_ text: String) {
            if leaderProblem == nil { leaderProblem = text }
        }
    }

    package func run() throws(ShakedownError) -> RunReport {
        try configuration.validate()
        guard observed.count + runOwnedCounters <= Int(SHAKEDOWN_MAX_OBSERVED) else {
            throw .invalidArgument("observing", "at most \(SHAKEDOWN_MAX_OBSERVED) counters, got \(observed.count)")
        }
        let seed = try Seed.resolve(configuration.seed)
        var resolved = configuration
        resolved.seed = seed
        // SHAKEDOWN_JITTER overrides every run's plan, so a CI job can switch a whole suite.
        resolved.jitter = try JitterPlan.resolve(configuration.jitter)
        let scheduleNote = try SyscallRunControl.prepare(&resolved)  // syscalls/pct: fallback, replay file
        let (session, started) = try startLeader(resolved, seed: seed)
        let control = session.control, plumbing = session.plumbing, group = session.group, leader = session.leader

        var progress = Progress(
            workers: (0..<configuration.processes).map { _ in
                WorkerState(output: OutputCapture(tailLimit: configuration.outputTailBytes))
            },
            started: started, deadline: started + configuration.timeout.nanoseconds,
            nextProgress: started + Self.progressInterval)
        if let scheduleNote { progress.notes.append(scheduleNote) }
        if leader.handle.descriptor < 0 {
            progress.notes.append("pidfd_open of the run leader failed (errno \(leader.handle.openError)); watching it through its event pipe")
        }
        collect(&progress, leader: leader, plumbing: plumbing, group: group, control: control)
        let containment = containment(of: leader, in: group)
        if let sessions, mayKeep(progress, leader: leader, group: group, containment: containment) {
            let finished = monotonicNanoseconds()
            drainWorkers(&progress, plumbing: plumbing)
            if progress.leaderProblem == nil { sessions.keep(session) } else { session.close() }
            return assembleReport(progress, seed: seed, resolved: reported(resolved, seed: seed), control: control, observed: session.observed,
                                  containment: containment, duration: .nanoseconds(finished - started))
        }
        // An idle leader that is not kept leaves on this byte; then it is reaped and judged like any other.
        if progress.leaderIdle { _ = writeAllWithoutSIGPIPE(plumbing.commands.writeEnd, [RunLeader.quit]) }
        session.ended()
        defer { plumbing.closeSupervisorEnds() }
        defer { leader.handle.close() }
        finishLeader(&progress, leader)
        cleanUp(&progress, containment: containment, group: try? group.get())
        let finished = monotonicNanoseconds()
        drainWorkers(&progress, plumbing: plumbing)
        return assembleReport(progress, seed: seed, resolved: reported(resolved, seed: seed), control: control, observed: session.observed,
                              containment: containment, duration: .nanoseconds(finished - started))
    }

    /// The configuration the report names: for commands under `mix`, the mode this run's seed drew (preempt or
    /// gate). The leader gets the undrawn plan and draws for each run itself, since a kept leader serves several.
    private func reported(_ resolved: RunConfiguration, seed: Seed) -> RunConfiguration {
        guard case .command = launch else { return resolved }
        var drawn = resolved
        drawn.jitter = resolved.jitter.forCommandRun(seed: seed)
        return drawn
    }

    /// The kept leader of the previous run, told to start the next one; else a new control block, pipes, cgroup
    /// and leader. Returns it with the moment the run started.
    private func startLeader(_ resolved: RunConfiguration, seed: Seed) throws(ShakedownError) -> (LeaderSession, Int64) {
        if let kept = sessions?.take() {
            // Nothing of the previous run is alive (the leader said so, the cgroup showed it alone). One that died
            // while idle (its pidfd is readable; its pipe refuses the byte) is replaced: no run was going on.
            if !kept.leader.handle.waitForExit(within: .zero) {
                try kept.control.reset(seed: seed)
                let started = monotonicNanoseconds()
                if writeAllWithoutSIGPIPE(kept.plumbing.commands.writeEnd, [RunLeader.nextRun]) { return (kept, started) }
            }
            kept.close()
        }
        let faults = FaultInjector(configuration.faults)
        let control = try RunControl(processes: configuration.processes, rounds: configuration.rounds, seed: seed,
                                     observedCount: observed.count + runOwnedCounters)
        let observed = self.observed + (0..<runOwnedCounters).map { control.counter($0, name: "counter \($0)") }
        let plumbing = try RunPlumbing(processes: configuration.processes, faults: faults)

        // Do once here what every worker would otherwise do first in its own copy: initialize the runtime
        // metadata and caches of the types a worker uses. In the children those pages are then shared
        // copy-on-write instead of written (and copied) by each worker.
        withExtendedLifetime(Worker(index: 0, control: control, plan: resolved.jitter, channel: -1, observed: observed)) {
            _ = ChannelMessage.finished(rounds: 0, jitterPoints: 0, jitterActions: 0, jitterDigest: 0).encoded()
        }
        ForkWarmUp.ensure()
        let group = ControlGroup.create(name: "shakedown-\(getpid())-\(monotonicNanoseconds())")
        let started = monotonicNanoseconds()
        let leader = try launchLeader(resolved, control: control, plumbing: plumbing, observed: observed,
                                      group: group, faults: faults)
        plumbing.keepSupervisorEnds()
        let session = LeaderSession(control: control, plumbing: plumbing, group: group, leader: leader, observed: observed)
        return (session, started)
    }

    /// Whether the leader may serve the next run (``LeaderSession``): it said it is idle, the run did not time
    /// out, nothing was noted, the leader is in the run's cgroup and nothing else is.
    private func mayKeep(_ run: Progress, leader: Leader, group: Result<ControlGroup, ContainmentUnavailable>,
                         containment: RunContainment) -> Bool {
        guard run.leaderIdle, !run.timedOut, run.notes.isEmpty, run.leaderProblem == nil, run.events.problem == nil,
              !run.events.messages.contains(where: { if case .leaderNote = $0 { true } else { false } })
        else { return false }
        switch containment {
        case .controlGroup:
            guard let controlGroup = try? group.get() else { return false }
            return controlGroup.members() == [leader.pid]
        case .processGroups:
            // The leader, the subreaper of the run, said it has no child left: nothing of the run is alive.
            return true
        }
    }

    /// Forks the run leader (which moves itself into `group` first, when there is one).
    private func launchLeader(_ resolved: RunConfiguration, control: RunControl, plumbing: RunPlumbing,
                              observed: [SharedCounter], group: Result<ControlGroup, ContainmentUnavailable>,
                              faults: FaultInjector) throws(ShakedownError) -> Leader {
        let controlGroup = try? group.get()
        let cgroupProcesses = controlGroup?.openProcesses() ?? -1
        let staysForNextRun = sessions != nil
        // Buffered output would be written twice: once by us, once by each child at its exit.
        fflush(nil)
        let supervisorPid = getpid()
        let leaderPid = fork()
        if leaderPid == 0 {
            RunLeader(configuration: resolved, launch: launch, control: control, plumbing: plumbing,
                      observed: observed, supervisor: supervisorPid, supervisorGroup: getpgid(supervisorPid),
                      controlGroup: controlGroup, cgroupProcesses: cgroupProcesses,
                      staysForNextRun: staysForNextRun).main()
        }
        let forkError = ShakedownError.systemCall("fork")
        closeQuietly(cgroupProcesses)
        if leaderPid < 0 {
            plumbing.closeEverything()
            _ = controlGroup?.remove()
            throw forkError
        }
        // The leader is an unreaped child of this process: its pid cannot name another process before we reap it.
        return Leader(pid: leaderPid, handle: ProcessHandle(pid: leaderPid, faults: faults))
    }

    /// Reads every worker's results and output and the leader's events until the leader is done or gone;
    /// enforces the deadline (hang capture, then teardown by the leader) and the hard deadline after it.
    private func collect(_ run: inout Progress, leader: Leader, plumbing: RunPlumbing,
                         group: Result<ControlGroup, ContainmentUnavailable>, control: RunControl) {
        while !run.leaderDone && run.eventsOpen && !run.leaderGone {
            let now = monotonicNanoseconds()
            if now >= run.hardDeadline {
                stopWedgedLeader(&run, leader)
                break
            }
            if now >= run.deadline && !run.timedOut {
                // On a loaded machine this thread may wake well after the deadline: what arrived meanwhile (a
                // worker's exit, the first line of its crash report) is read before anyone is called hung.
                catchUp(&run, leader: leader, plumbing: plumbing)
                if run.leaderDone || run.leaderGone { break }
                if postponeForCrashReport(&run, now: now) { continue }
                reachDeadline(&run, plumbing: plumbing, leader: leader, group: group, control: control)
                continue
            }
            var wait = (run.timedOut ? run.hardDeadline : run.deadline) - now
            if let progress {
                if now >= run.nextProgress {
                    progress(RunProgress(elapsed: .nanoseconds(now - run.started), timeout: configuration.timeout,
                                         finished: run.workers.count(where: { $0.status != nil }), total: run.workers.count))
                    run.nextProgress = now + Self.progressInterval
                }
                wait = min(wait, run.nextProgress - now)
            }
            var (fds, owners) = pollSet(run, plumbing: plumbing, leader: leader)
            let ready = poll(&fds, nfds_t(fds.count), Int32(clamping: wait / 1_000_000 + 1))
            if ready < 0 {
                if errno == EINTR { continue }
                let error = errno
                run.notes.append("poll in the test process failed (errno \(error)); stopped the run")
                run.problem("the test process could not watch the run (poll failed, errno \(error))")
                leader.handle.signal(SIGKILL)
                break
            }
            if ready == 0 { continue }
            readReady(&run, fds: fds, owners: owners, plumbing: plumbing)
            applyEvents(&run)
            if let last = fds.last, last.fd == leader.handle.descriptor, last.revents != 0, !run.leaderDone {
                // The leader exited. Whatever it wrote before that is still in the pipe: read it without waiting
                // for end of file, which a concurrent run's leader holding the write end would delay.
                drain(plumbing.events.readEnd, &run.buffer) { run.events.append($0) }
                applyEvents(&run)
                run.leaderGone = !run.leaderDone
            }
        }
        if !run.eventsOpen && !run.leaderDone { run.leaderGone = true }
    }

    /// Reads whatever is ready now, without waiting.
    private func catchUp(_ run: inout Progress, leader: Leader, plumbing: RunPlumbing) {
        var (fds, owners) = pollSet(run, plumbing: plumbing, leader: leader)
        guard poll(&fds, nfds_t(fds.count), 0) > 0 else { return }
        readReady(&run, fds: fds, owners: owners, plumbing: plumbing)
        applyEvents(&run)
    }

    /// The descriptors to poll: the event channel, each open result and output pipe, and the leader's pidfd last.
    private func pollSet(_ run: Progress, plumbing: RunPlumbing, leader: Leader)
        -> ([pollfd], [(worker: Int, isResult: Bool)]) {
        var fds: [pollfd] = [pollfd(fd: plumbing.events.readEnd, events: Int16(POLLIN), revents: 0)]
        var owners: [(worker: Int, isResult: Bool)] = [(-1, false)]
        for (index, state) in run.workers.enumerated() {
            if state.resultOpen {
                fds.append(pollfd(fd: plumbing.results[index].readEnd, events: Int16(POLLIN), revents: 0))
                owners.append((index, true))
            }
            if state.outputOpen {
                fds.append(pollfd(fd: plumbing.outputs[index].readEnd, events: Int16(POLLIN), revents: 0))
                owners.append((index, false))
            }
        }
        if leader.handle.descriptor >= 0 {
            fds.append(pollfd(fd: leader.handle.descriptor, events: Int16(POLLIN), revents: 0))
        }
        return (fds, owners)
    }

    /// Reads what the ready descriptors hold into the event decoder, the workers' decoders and output captures.
    private func readReady(_ run: inout Progress, fds: [pollfd], owners: [(worker: Int, isResult: Bool)],
                           plumbing: RunPlumbing) {
        for (slot, fd) in fds.enumerated() where fd.revents != 0 && slot < owners.count {
            let owner = owners[slot]
            guard let bytes = readAvailable(fd.fd, into: &run.buffer) else {
                if owner.worker < 0 { run.eventsOpen = false }
                else if owner.isResult { run.workers[owner.worker].resultOpen = false }
                else { run.workers[owner.worker].outputOpen = false }
                continue
            }
            if owner.worker < 0 {
                run.events.append(bytes)
            } else if owner.isResult {
                run.workers[owner.worker].decoder.append(bytes)
            } else {
                run.workers[owner.worker].output.append(bytes)
            }
        }
    }

    private func applyEvents(_ run: inout Progress) {
        guard run.events.messages.count > run.handledEvents else { return }
        for message in run.events.messages[run.handledEvents...] {
            apply(message, to: &run.workers)
            if message == .leaderDone { run.leaderDone = true }
            if message == .leaderIdle {
                run.leaderDone = true
                run.leaderIdle = true
            }
        }
        run.handledEvents = run.events.messages.count
    }

    /// The deadline passed: capture the stuck processes, note which belong to the hang, ask the leader to tear
    /// the hung workers down, and give it until the hard deadline.
    private func reachDeadline(_ run: inout Progress, plumbing: RunPlumbing, leader: Leader,
                               group: Result<ControlGroup, ContainmentUnavailable>, control: RunControl) {
        run.timedOut = true
        var targets = hangTargets(run.workers)
        // A command's shepherd too is stopped (it is not a capture target): a teardown waiting for it would
        // otherwise spend its whole grace, and the orphans it adopted from the command are its descendants.
        var shepherds = run.workers.indices.filter { run.workers[$0].status == nil && run.workers[$0].pid > 0 }
            .map { HangTarget(worker: $0, pid: run.workers[$0].pid, label: "worker \($0)") }
        // The listing is already stale: a process in it may have exited and its pid been reused. Inside a cgroup
        // the run's processes can be told from strangers; tracing a stranger would be worse than missing one.
        if case let .controlGroup(path) = containment(of: leader, in: group), let controlGroup = try? group.get(),
           controlGroup.path == path {
            targets = targets.filter { controlGroup.contains($0.pid) }
            shepherds = shepherds.filter { controlGroup.contains($0.pid) }
        }
        // Stopped before the rounds are read and before any is captured or killed: no user code runs after this.
        if configuration.freezesHungWorkers {
            HungProcessFreeze.freeze(targets + shepherds, descendants: ProcessTable.descendants(of:))
        }
        run.hungIndices = Set(run.workers.indices.filter { run.workers[$0].status == nil && run.workers[$0].notStarted == nil })
        // Rounds as of the deadline: teardown can release a lock a hung worker waits for (a killed peer's robust
        // mutex), and a round it then finishes must not make it look less stuck than it was.
        for index in run.hungIndices {
            run.roundsAtDeadline[index] = Int(min(control.slot(index).pointee.rounds_completed, UInt64(configuration.rounds)))
        }
        if configuration.diagnosesHangs && !targets.isEmpty { run.hang = diagnoseHang(targets) }
        // Looked at again after the capture, right before the teardown: what the copies started meanwhile counts too.
        run.hangMembers = Set(hangTargets(run.workers).map(\.pid))
        writeAllWithoutSIGPIPE(plumbing.commands.writeEnd, [UInt8(ascii: "T")])
        run.hardDeadline = monotonicNanoseconds() + configuration.teardown.longestDuration.nanoseconds
            + Duration.seconds(10).nanoseconds
    }

    /// A worker still running at the deadline that has begun printing the Swift runtime's crash report is
    /// crashing, not hung: the backtracer takes a fraction of a second on an idle machine and several on a loaded
    /// one. The deadline moves once, by ``crashReportGrace``, so the crash is reported as a crash.
    private func postponeForCrashReport(_ run: inout Progress, now: Int64) -> Bool {
        guard !run.crashGrace,
              run.workers.contains(where: { $0.status == nil && Self.isCrashing($0) }) else { return false }
        run.crashGrace = true
        run.deadline = now + Self.crashReportGrace.nanoseconds
        return true
    }

    private static let crashReportGrace = Duration.seconds(10)

    /// It printed the start of a crash report, or the runtime's backtracer (`swift-backtrace`, started as a child
    /// of the crashing process) is running: on a loaded machine the first line can come seconds after the crash.
    private static func isCrashing(_ worker: WorkerState) -> Bool {
        if worker.output.isPrintingCrashReport { return true }
        guard worker.pid > 0 else { return false }
        return ProcessTable.descendants(of: worker.pid).contains { pid in
            ProcessTable.status(of: pid)?.name.hasPrefix("swift-backtrac") ?? false
        }
    }

    /// The leader did not finish its teardown in time (wedged, stopped, or stuck before it set anything up):
    /// SIGKILL it through its pidfd; its workers die with it (PR_SET_PDEATHSIG), the containment cleanup after the
    /// loop stops the rest.
    private func stopWedgedLeader(_ run: inout Progress, _ leader: Leader) {
        let grace = (configuration.teardown.longestDuration + .seconds(10)).shortDescription
        run.notes.append("the run leader did not finish tearing down within \(grace) of the deadline; killed it")
        run.problem("the run leader wedged and was killed; the report may be incomplete")
        leader.handle.signal(SIGKILL)
    }

    /// Which containment held the run: the cgroup, if the kernel says the leader got into it (it joins before it
    /// forks anything). Asked before the leader is reaped: a zombie still shows its cgroup.
    private func containment(of leader: Leader, in group: Result<ControlGroup, ContainmentUnavailable>) -> RunContainment {
        switch group {
        case let .success(controlGroup):
            if controlGroup.contains(leader.pid) { return .controlGroup(path: controlGroup.path) }
            return .processGroups(reason: "the run leader did not get into \(controlGroup.path)")
        case let .failure(unavailable):
            return .processGroups(reason: unavailable.reason)
        }
    }

    /// Reaps the leader within bounds (killing it if it does not exit) and reads how it ended.
    private func finishLeader(_ run: inout Progress, _ leader: Leader) {
        // A leader that said it is done exits right away; one that did not gets a moment, then SIGKILL.
        var status = reapChild(leader.pid, handle: leader.handle, within: run.leaderDone ? .seconds(10) : .seconds(1))
        if status == nil {
            if run.leaderDone || !run.leaderGone {
                run.notes.append("the run leader did not exit; killed it")
                run.problem("the run leader did not exit and was killed")
            }
            leader.handle.signal(SIGKILL)
            status = reapChild(leader.pid, handle: leader.handle, within: .seconds(5))
        }
        guard let status else {
            run.notes.append("the run leader (pid \(leader.pid)) could not be reaped within 5 s of SIGKILL")
            run.problem("the run leader could not be stopped")
            return
        }
        if let problem = run.events.problem { run.notes.append("leader event channel: \(problem)") }
        for message in run.events.messages { if case let .leaderNote(text) = message { run.notes.append(text) } }
        if !run.leaderDone {
            let exit = ProcessExit(waitStatus: status)
            run.notes.append("the run leader died (\(exit)) before it finished; its report is incomplete")
            run.problem("the run leader died (\(exit)) before it finished")
        } else if let problem = RunLeader.Exit.problem(status) {
            run.problem(problem)
        }
    }

    /// Makes sure nothing of the run survives it. With a cgroup: kill whatever is still in it (normally nothing:
    /// the leader reaped all; after the leader's death, everything its workers started), wait until it is empty,
    /// remove it. Without: when the leader died early, kill what is left in the workers' process groups.
    private func cleanUp(_ run: inout Progress, containment: RunContainment, group: ControlGroup?) {
        if case .controlGroup = containment, let group {
            // The common case, an empty group, costs one read of `cgroup.events`.
            if group.isPopulated == false {
                if !run.leaderDone { run.notes.append("the leader was gone; nothing was left in the run's cgroup") }
                return removeGroup(&run, group)
            }
            let names = group.members().map { "\($0) `\(ProcessTable.commandLine(of: $0))`" }
            let emptied = group.killAndWait(within: .seconds(5)).emptied
            if !names.isEmpty {
                let what = "\(names.count) process\(names.count == 1 ? "" : "es") left in the run's cgroup: "
                    + names.prefix(20).joined(separator: ", ")
                run.notes.append((run.leaderDone ? "killed " : "the leader was gone; killed ") + what)
                if run.leaderDone { run.problem("processes escaped the run leader (killed through the cgroup)") }
            }
            if !emptied {
                run.notes.append("the run's cgroup \(group.path) still had processes 5 s after cgroup.kill (uninterruptible sleep?)")
                run.problem("processes of the run could not be stopped")
            }
        } else if !run.leaderDone {
            let killed = killWorkerGroups(run.workers)
            run.notes.append(killed.isEmpty
                ? "the leader was gone; nothing was left in the workers' process groups"
                : "the leader was gone; killed \(killed.count) process\(killed.count == 1 ? "" : "es") left in the workers' process groups: "
                    + killed.prefix(20).joined(separator: ", "))
            run.notes.append("without a cgroup, processes that left their worker's process group (setsid) cannot be found")
        }
        if let group { removeGroup(&run, group) }
    }

    private func removeGroup(_ run: inout Progress, _ group: ControlGroup) {
        let error = group.remove()
        if error != 0 { run.notes.append("could not remove the run's cgroup \(group.path) (errno \(error))") }
    }

    /// Without a cgroup, after the leader's death: SIGKILLs every process in a worker's process group. Each is
    /// opened as a pidfd and its group checked again after the open, so a pid reused meanwhile is never signalled.
    /// Returns `pid `command`` of each process killed.
    private func killWorkerGroups(_ workers: [WorkerState]) -> [String] {
        let groups = Set(workers.map(\.pid).filter { $0 > 0 })
        let protected: Set<Int32> = [getpid(), getpgrp()]
        var killed: [String] = []
        var seen: Set<Int32> = []
        for _ in 0..<10 {
            var found = false
            for pid in ProcessTable.allProcesses() where !protected.contains(pid) {
                guard let status = ProcessTable.status(of: pid), groups.contains(status.processGroup),
                      !status.isZombie else { continue }
                let handle = ProcessHandle(pid: pid)
                defer { handle.close() }
                let command = ProcessTable.commandLine(of: pid)
                guard ProcessTable.status(of: pid)?.processGroup == status.processGroup,
                      handle.descriptor >= 0 || kill(pid, 0) == 0 else { continue }
                if handle.signal(SIGKILL) {
                    found = true
                    if seen.insert(pid).inserted { killed.append("\(pid) `\(command)`") }
                }
            }
            if !found { break }
            usleep(20_000)
        }
        return killed
    }

    /// Whatever the workers wrote before they exited is still in the pipes (except those already read to end of
    /// file: nothing follows it, so they cost no more system calls).
    private func drainWorkers(_ run: inout Progress, plumbing: RunPlumbing) {
        let deadline = monotonicNanoseconds() + Duration.seconds(5).nanoseconds
        var complete = true
        for index in run.workers.indices {
            if run.workers[index].resultOpen {
                complete = drain(plumbing.results[index].readEnd, &run.buffer, until: deadline) {
                    run.workers[index].decoder.append($0)
                } && complete
            }
            if run.workers[index].outputOpen {
                complete = drain(plumbing.outputs[index].readEnd, &run.buffer, until: deadline) {
                    run.workers[index].output.append($0)
                } && complete
            }
            run.workers[index].decoder.finish()
            run.workers[index].output.finish()
        }
        if !complete {
            run.notes.append("workers' pipes were still being written 5 s after the run ended (by an escaped process?); stopped reading")
            run.problem("a process outside the run kept writing to its pipes")
        }
    }

    private func assembleReport(_ run: Progress, seed: Seed, resolved: RunConfiguration, control: RunControl,
                                observed: [SharedCounter], containment: RunContainment, duration: Duration) -> RunReport {
        let teardownSignals: Set<Signal?> = Set(configuration.teardown.steps.compactMap { step in
            if case let .signal(signal) = step { return signal } else { return nil }
        })
        var reports: [WorkerReport] = []
        var leaks: [LeakedProcess] = []
        for (index, state) in run.workers.enumerated() {
            reports.append(report(index, state, hung: run.hungIndices.contains(index), control: control,
                                  roundsAtDeadline: run.roundsAtDeadline[index]))
            leaks += leftovers(index, state).filter { leak in
                // A hung worker's children that our own teardown killed were part of the hang, not leaks.
                !(run.hungIndices.contains(index) && leak.kind == .zombie && teardownSignals.contains(leak.exit?.signal))
            }
        }
        leaks = merge(leaks, orphans: run.events.messages)
        // A hung copy's processes, re-parented only because teardown killed their parent, are the hang itself.
        leaks.removeAll { $0.kind == .orphan && run.hangMembers.contains($0.pid) }
        let observations = observed.enumerated().map { index, counter in
            let histogram = control.histogram(index)
            var observation = CounterObservation(
                name: counter.name, finalValue: counter.value,
                histogram: histogram.buckets.map { .init(increment: $0.increment, rounds: $0.rounds) },
                decreasingRounds: histogram.belowZero, oversizedRounds: histogram.overflow)
            observation.storage = UInt(bitPattern: counter.storage)
            return observation
        }
        var notes = run.notes
        if let note = resolved.jitter.fallbackNote { notes.append(note) }
        var workerNotes: [String] = []
        for state in run.workers {
            for message in state.decoder.messages {
                if case let .workerNote(text) = message, !workerNotes.contains(text) { workerNotes.append(text) }
            }
        }
        notes += workerNotes
        let judged = judgedRounds(run.workers, control: control, notes: &notes)
        return RunReport(seed: seed, configuration: resolved, command: command, workers: reports,
                         observations: observations, leaks: leaks, hang: run.hang,
                         duration: duration, timedOut: run.timedOut && !run.hungIndices.isEmpty,
                         notes: notes, outcomes: OutcomeCount.histogram(judged), containment: containment,
                         leaderProblem: run.leaderProblem)
    }

    private static let progressInterval: Int64 = 500_000_000

    /// Every round outcome the judge sent (from whichever worker arrived last), and notes on how judging ended.
    private func judgedRounds(_ workers: [WorkerState], control: RunControl,
                              notes: inout [String]) -> [(round: Int, grade: OutcomeGrade, text: String)] {
        var judged: [(round: Int, grade: OutcomeGrade, text: String)] = []
        // Commands have no judge, and they share the control block: what its judge fields hold is theirs, not news.
        if case .command = launch { return judged }
        for (index, state) in workers.enumerated() {
            for message in state.decoder.messages {
                guard case let .roundOutcome(round, wire, text) = message else { continue }
                judged.append((Int(round), OutcomeGrade(wireValue: wire) ?? .forbidden, text))
            }
            // A worker that died as the barrier's last arrival, inside the judge's closures.
            let judging = control.slot(index).pointee.judging_round
            if judging > 0, state.status.map({ ProcessExit(waitStatus: $0).signal != nil }) == true {
                notes.append("worker \(index) crashed inside the judge's closures around round \(judging - 1)")
            }
        }
        if let stop = control.stopAfterRound {
            notes.append("the judge stopped the run after round \(stop)")
        }
        return judged
    }

    private func apply(_ message: ChannelMessage, to workers: inout [WorkerState]) {
        switch message {
        case let .workerStarted(index, pid) where workers.indices.contains(Int(index)):
            workers[Int(index)].pid = Int32(truncatingIfNeeded: pid)
        case let .workerExited(index, _, status) where workers.indices.contains(Int(index)):
            workers[Int(index)].status = Int32(truncatingIfNeeded: status)
        case let .workerNotStarted(index, reason) where workers.indices.contains(Int(index)):
            workers[Int(index)].notStarted = reason
        default:
            break
        }
    }

    /// The processes to capture: each worker still running (for commands, the command) and its descendants.
    private func hangTargets(_ workers: [WorkerState]) -> [HangTarget] {
        var targets: [HangTarget] = []
        for (index, state) in workers.enumerated() where state.status == nil && state.pid > 0 {
            let commandPid = state.decoder.messages.lazy.compactMap { message -> Int32? in
                if case let .commandStarted(pid) = message { return Int32(truncatingIfNeeded: pid) } else { return nil }
            }.first
            let root = commandPid ?? state.pid
            targets.append(HangTarget(worker: index, pid: root, label: "worker \(index)"))
            for descendant in ProcessTable.descendants(of: root) {
                targets.append(HangTarget(worker: index, pid: descendant, label: "worker \(index) / child \(descendant)"))
            }
        }
        return targets
    }

    /// Reads what `fd` holds now, without waiting; stops at `deadline` even if a writer that escaped the run
    /// keeps writing. Returns false when it stopped at the deadline.
    @discardableResult
    private func drain(_ fd: CInt, _ buffer: inout [UInt8], until deadline: Int64 = .max,
                       _ sink: (ArraySlice<UInt8>) -> Void) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        while let bytes = readAvailable(fd, into: &buffer), !bytes.isEmpty {
            sink(bytes)
            if monotonicNanoseconds() >= deadline { return false }
        }
        return true
    }

    /// What the worker's result channel said about it.
    private struct WorkerMessages {
        var failures: [RecordedFailure] = []
        var threw: String?
        var notStarted: String?
        var finished: (rounds: Int64, points: Int64, actions: Int64, digest: UInt64)?
        var stoppedBy: Int?
        var commandPid: Int32?
        var commandStatus: Int32?

        init(_ messages: [ChannelMessage]) {
            for message in messages {
                switch message {
                case let .failure(text, file, line, round):
                    failures.append(RecordedFailure(message: text, file: file, line: Int(line), round: Int(round),
                                                    origin: .resultChannel))
                case let .threw(text, _): threw = text
                case let .notStarted(reason): notStarted = notStarted ?? reason
                case let .finished(rounds, points, actions, digest): finished = (rounds, points, actions, digest)
                case let .stoppedAtBrokenBarrier(by, _): stoppedBy = Int(by)
                case let .commandStarted(pid): commandPid = Int32(truncatingIfNeeded: pid)
                // The command's exit comes from the shepherd's record in shared memory, never from this channel:
                // the command writes to it too, and could claim any exit.
                case .commandExited: break
                default: break
                }
            }
        }
    }

    private func report(_ index: Int, _ state: WorkerState, hung: Bool, control: RunControl,
                        roundsAtDeadline: Int?) -> WorkerReport {
        var said = WorkerMessages(state.decoder.messages)
        // The shepherd's record in shared memory wins over the channel: the command writes to the channel too,
        // and garbage from it hides every message after it.
        let slot = control.slot(index)
        if withUnsafeMutablePointer(to: &slot.pointee.command_exited, { shakedown_atomic_load_u32($0) }) == 1 {
            said.commandStatus = slot.pointee.command_status
            if said.commandPid == nil, slot.pointee.command_pid > 0 { said.commandPid = slot.pointee.command_pid }
        }
        let crash = state.output.crash
        let workerExit = state.status.map(ProcessExit.init(waitStatus:))
        let exit = said.commandStatus.map(ProcessExit.init(waitStatus:)) ?? workerExit
        let rounds = roundsAtDeadline ?? said.finished.map { Int($0.rounds) }
            ?? Int(min(slot.pointee.rounds_completed, UInt64(configuration.rounds)))
        return WorkerReport(
            index: index, pid: state.pid, commandPid: said.commandPid,
            outcome: outcome(hung: hung, notStarted: state.notStarted ?? said.notStarted, said: said, exit: exit,
                             workerExit: workerExit, index: index, crash: crash),
            exit: exit, roundsCompleted: rounds, failures: said.failures + state.output.failures,
            outputTail: state.output.tailText,
            crashMessage: crash?.fatalError ?? state.output.crashMessage,
            outputBytes: state.output.totalBytes, jitterPoints: Int(said.finished?.points ?? 0),
            jitterActions: Int(said.finished?.actions ?? 0), jitterDigest: said.finished?.digest,
            channelProblem: state.decoder.problem, crashFrames: crash.map { $0.summary() })
    }

    /// Success needs positive evidence: a closure worker's "finished" message and exit 0, or a command that was
    /// started and exited 0. Anything else (no message, an early `exit(0)`, a copy that never ran) is not success.
    private func outcome(hung: Bool, notStarted: String?, said: WorkerMessages, exit: ProcessExit?,
                         workerExit: ProcessExit?, index: Int, crash: CrashBacktrace?) -> WorkerOutcome {
        if hung { return .hung }
        if let notStarted { return .notStarted(notStarted) }
        if let signal = exit?.signal { return .crashed(signal) }
        if let threw = said.threw { return .threw(threw) }
        if let stoppedBy = said.stoppedBy, stoppedBy != index { return .stoppedByOtherWorker(stoppedBy) }
        // The Swift runtime's crash handler returns for a signal sent with raise/kill, and the process goes on.
        if let crash { return .unknown("the Swift runtime reported a crash (\(crash.reason)) but the process went on") }
        if command != nil { return commandOutcome(said: said, exit: exit, shepherdExit: workerExit) }
        if case let .exited(code)? = workerExit {
            return said.finished != nil && code == 0 ? .completed : .exited(code: code)
        }
        return .unknown("no exit status was read")
    }

    /// A command's outcome needs its shepherd's word twice: the status it recorded in shared memory, and the same
    /// status encoded in its own exit code (``WorkerProcess/exitCode(forCommandStatus:)``), which only the kernel
    /// reports. A command can write to both the result channel and the control block, never to its shepherd's
    /// wait status.
    private func commandOutcome(said: WorkerMessages, exit: ProcessExit?, shepherdExit: ProcessExit?) -> WorkerOutcome {
        guard case let .exited(shepherdCode)? = shepherdExit else {
            return .unknown("the shepherd ended (\(shepherdExit.map { "\($0)" } ?? "no status")) before it saw the command exit")
        }
        guard let status = said.commandStatus, case let .exited(code)? = exit else {
            return .unknown("the command's exit was not recorded (shepherd exit \(shepherdCode))")
        }
        guard shepherdCode == WorkerProcess.exitCode(forCommandStatus: status) else {
            return .unknown("the command's recorded exit (\(ProcessExit(waitStatus: status))) does not match its shepherd's "
                            + "exit code \(shepherdCode): the run's control block was overwritten")
        }
        return code == 0 ? .completed : .exited(code: code)
    }

    /// The leftovers a worker named at its exit: zombies it reaped, and live children it left for the leader.
    private func leftovers(_ index: Int, _ state: WorkerState) -> [LeakedProcess] {
        state.decoder.messages.compactMap { message in
            guard case let .leftover(kind, pid, parent, status, command, age) = message else { return nil }
            return LeakedProcess(
                kind: kind, pid: Int32(truncatingIfNeeded: pid), parent: Int32(truncatingIfNeeded: parent), command: command, worker: index,
                exit: status >= 0 ? ProcessExit(waitStatus: Int32(truncatingIfNeeded: status)) : nil,
                lifetime: age >= 0 ? .milliseconds(age) : nil,
                cleanup: .reaped)
        }
    }

    /// Joins what workers named at exit with what the leader adopted and tore down.
    private func merge(_ named: [LeakedProcess], orphans messages: [ChannelMessage]) -> [LeakedProcess] {
        var result = named.filter { $0.kind == .zombie }
        let namedOrphans = Dictionary(named.filter { $0.kind == .orphan }.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        var seen: Set<Int32> = []
        for message in messages {
            guard case let .orphan(pid, worker, command, age, cleanupCode, status) = message else { continue }
            let cleanup: LeakedProcess.Cleanup
            switch cleanupCode {
            case 1: cleanup = .exitedOnItsOwn(ProcessExit(waitStatus: Int32(truncatingIfNeeded: status)))
            case 2: cleanup = .stopped(by: Signal(Int32(truncatingIfNeeded: status)))
            case 3: cleanup = .exitedDuringTeardown(ProcessExit(waitStatus: Int32(truncatingIfNeeded: status)))
            default: cleanup = .reaped
            }
            // The leader names it last, at teardown: by then a freshly forked child has usually exec'd.
            let known = namedOrphans[Int32(truncatingIfNeeded: pid)]
            seen.insert(Int32(truncatingIfNeeded: pid))
            result.append(LeakedProcess(
                kind: .orphan, pid: Int32(truncatingIfNeeded: pid), parent: known?.parent,
                command: command != "?" ? command : known?.command ?? command, worker: known?.worker ?? (worker >= 0 ? Int(worker) : nil),
                exit: nil, lifetime: known?.lifetime ?? (age >= 0 ? .milliseconds(age) : nil), cleanup: cleanup))
        }
        // Named at exit but never adopted: it exited before its worker did, and the worker's exit reaped it.
        for (pid, orphan) in namedOrphans where !seen.contains(pid) { result.append(orphan) }
        return result
    }
}
