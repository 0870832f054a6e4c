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

    package func run() throws(ShakedownError) -> RunReport {
        try configuration.validate()
        guard observed.count + runOwnedCounters <= Int(SHAKEDOWN_MAX_OBSERVED) else {
            throw .invalidArgument("observing", "at most \(SHAKEDOWN_MAX_OBSERVED) counters, got \(observed.count)")
        }
        let seed = try Seed.resolve(configuration.seed)
        var resolved = configuration
        resolved.seed = seed
        let control = try RunControl(processes: configuration.processes, rounds: configuration.rounds, seed: seed,
                                     observedCount: observed.count + runOwnedCounters)
        let observed = self.observed + (0..<runOwnedCounters).map { control.counter($0, name: "counter \($0)") }
        let plumbing = try RunPlumbing(processes: configuration.processes)

        // Do once here what every worker would otherwise do first in its own copy: initialize the runtime
        // metadata and caches of the types a worker uses. In the children those pages are then shared
        // copy-on-write instead of written (and copied) by each worker.
        withExtendedLifetime(Worker(index: 0, control: control, plan: configuration.jitter, channel: -1, observed: observed)) {
            _ = ChannelMessage.finished(rounds: 0, jitterPoints: 0, jitterActions: 0, jitterDigest: 0).encoded()
        }
        ForkWarmUp.ensure()
        // Buffered output would be written twice: once by us, once by each child at its exit.
        fflush(nil)
        let started = monotonicNanoseconds()
        let supervisorPid = getpid()
        let leaderPid = fork()
        if leaderPid == 0 {
            RunLeader(configuration: resolved, launch: launch, control: control, plumbing: plumbing,
                      observed: observed, supervisor: supervisorPid, supervisorGroup: getpgid(supervisorPid)).main()
        }
        if leaderPid < 0 {
            let error = ShakedownError.systemCall("fork")
            plumbing.closeEverything()
            throw error
        }
        plumbing.keepSupervisorEnds()
        defer { plumbing.closeSupervisorEnds() }

        var workers = (0..<configuration.processes).map { _ in
            WorkerState(output: OutputCapture(tailLimit: configuration.outputTailBytes))
        }
        var events = ChannelDecoder()
        var notes: [String] = []
        var timedOut = false
        var hungIndices: Set<Int> = []
        var hang: HangDiagnosis?
        var leaderDone = false
        var eventsOpen = true
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = started + configuration.timeout.nanoseconds
        var hardDeadline = Int64.max
        var nextProgress = started + Self.progressInterval

        var handledEvents = 0
        while !leaderDone && eventsOpen {
            var fds: [pollfd] = [pollfd(fd: plumbing.events.readEnd, events: Int16(POLLIN), revents: 0)]
            var owners: [(worker: Int, isResult: Bool)] = [(-1, false)]
            for (index, state) in workers.enumerated() {
                if state.resultOpen {
                    fds.append(pollfd(fd: plumbing.results[index].readEnd, events: Int16(POLLIN), revents: 0))
                    owners.append((index, true))
                }
                if state.outputOpen {
                    fds.append(pollfd(fd: plumbing.outputs[index].readEnd, events: Int16(POLLIN), revents: 0))
                    owners.append((index, false))
                }
            }
            let now = monotonicNanoseconds()
            if now >= hardDeadline {
                // The leader did not finish its teardown in time: stop it and everything it started.
                notes.append("the run leader did not finish tearing down; killed it and its workers")
                for state in workers where state.pid > 0 { kill(-state.pid, SIGKILL) }
                kill(-leaderPid, SIGKILL)
                break
            }
            if now >= deadline && !timedOut {
                timedOut = true
                let targets = hangTargets(workers)
                hungIndices = Set(workers.indices.filter { workers[$0].status == nil && workers[$0].notStarted == nil })
                if configuration.diagnosesHangs && !targets.isEmpty { hang = diagnoseHang(targets) }
                writeAllWithoutSIGPIPE(plumbing.commands.writeEnd, [UInt8(ascii: "T")])
                hardDeadline = monotonicNanoseconds() + configuration.teardown.longestDuration.nanoseconds
                    + Duration.seconds(10).nanoseconds
                continue
            }
            var wait = (timedOut ? hardDeadline : deadline) - now
            if let progress {
                if now >= nextProgress {
                    progress(RunProgress(elapsed: .nanoseconds(now - started), timeout: configuration.timeout,
                                         finished: workers.count(where: { $0.status != nil }), total: workers.count))
                    nextProgress = now + Self.progressInterval
                }
                wait = min(wait, nextProgress - now)
            }
            let ready = poll(&fds, nfds_t(fds.count), Int32(clamping: wait / 1_000_000 + 1))
            if ready <= 0 { continue }
            for (slot, fd) in fds.enumerated() where fd.revents != 0 {
                let owner = owners[slot]
                guard let bytes = readAvailable(fd.fd, into: &buffer) else {
                    if owner.worker < 0 { eventsOpen = false }
                    else if owner.isResult { workers[owner.worker].resultOpen = false }
                    else { workers[owner.worker].outputOpen = false }
                    continue
                }
                if owner.worker < 0 {
                    events.append(bytes)
                } else if owner.isResult {
                    workers[owner.worker].decoder.append(bytes)
                } else {
                    workers[owner.worker].output.append(bytes)
                }
            }
            if events.messages.count > handledEvents {
                for message in events.messages[handledEvents...] {
                    apply(message, to: &workers)
                    if message == .leaderDone { leaderDone = true }
                }
                handledEvents = events.messages.count
            }
        }
        if !eventsOpen && !leaderDone { notes.append("the run leader exited without finishing its report") }

        var leaderStatus: Int32 = 0
        while waitpid(leaderPid, &leaderStatus, 0) < 0 && errno == EINTR {}
        let finished = monotonicNanoseconds()
        // Whatever the workers wrote before they exited is still in the pipes (except those already read to
        // end of file: nothing follows it, so they cost no more system calls).
        for index in workers.indices {
            if workers[index].resultOpen {
                drain(plumbing.results[index].readEnd, &buffer) { workers[index].decoder.append($0) }
            }
            if workers[index].outputOpen {
                drain(plumbing.outputs[index].readEnd, &buffer) { workers[index].output.append($0) }
            }
            workers[index].decoder.finish()
            workers[index].output.finish()
        }
        if let problem = events.problem { notes.append("leader event channel: \(problem)") }
        for message in events.messages { if case let .leaderNote(text) = message { notes.append(text) } }

        let teardownSignals: Set<Signal?> = Set(configuration.teardown.steps.compactMap { step in
            if case let .signal(signal) = step { return signal } else { return nil }
        })
        var reports: [WorkerReport] = []
        var leaks: [LeakedProcess] = []
        for (index, state) in workers.enumerated() {
            reports.append(report(index, state, hung: hungIndices.contains(index), control: control))
            leaks += leftovers(index, state).filter { leak in
                // A hung worker's children that our own teardown killed were part of the hang, not leaks.
                !(hungIndices.contains(index) && leak.kind == .zombie && teardownSignals.contains(leak.exit?.signal))
            }
        }
        leaks = merge(leaks, orphans: events.messages)
        let observations = observed.enumerated().map { index, counter in
            let histogram = control.histogram(index)
            var observation = CounterObservation(
                name: counter.name, finalValue: counter.value,
                histogram: histogram.buckets.map { .init(increment: $0.increment, rounds: $0.rounds) },
                decreasingRounds: histogram.belowZero, oversizedRounds: histogram.overflow)
            observation.storage = UInt(bitPattern: counter.storage)
            return observation
        }
        let judged = judgedRounds(workers, control: control, notes: &notes)
        return RunReport(seed: seed, configuration: resolved, command: command, workers: reports,
                         observations: observations, leaks: leaks, hang: hang,
                         duration: .nanoseconds(finished - started), timedOut: timedOut && !hungIndices.isEmpty,
                         notes: notes, outcomes: OutcomeCount.histogram(judged))
    }

    private static let progressInterval: Int64 = 500_000_000

    /// Every round outcome the judge sent (from whichever worker arrived last), and notes on how judging ended.
    private func judgedRounds(_ workers: [WorkerState], control: RunControl,
                              notes: inout [String]) -> [(round: Int, grade: OutcomeGrade, text: String)] {
        var judged: [(round: Int, grade: OutcomeGrade, text: String)] = []
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
            workers[Int(index)].pid = Int32(pid)
        case let .workerExited(index, _, status) where workers.indices.contains(Int(index)):
            workers[Int(index)].status = Int32(status)
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
                if case let .commandStarted(pid) = message { return Int32(pid) } else { return nil }
            }.first
            let root = commandPid ?? state.pid
            targets.append(HangTarget(worker: index, pid: root, label: "worker \(index)"))
            for descendant in ProcessTable.descendants(of: root) {
                targets.append(HangTarget(worker: index, pid: descendant, label: "worker \(index) / child \(descendant)"))
            }
        }
        return targets
    }

    private func drain(_ fd: CInt, _ buffer: inout [UInt8], _ sink: (ArraySlice<UInt8>) -> Void) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        while let bytes = readAvailable(fd, into: &buffer), !bytes.isEmpty { sink(bytes) }
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
                case let .commandStarted(pid): commandPid = Int32(pid)
                case let .commandExited(_, status): commandStatus = Int32(status)
                default: break
                }
            }
        }
    }

    private func report(_ index: Int, _ state: WorkerState, hung: Bool, control: RunControl) -> WorkerReport {
        var said = WorkerMessages(state.decoder.messages)
        // The shepherd's record in shared memory wins over the channel: the command writes to the channel too,
        // and garbage from it hides every message after it.
        let slot = control.slot(index)
        if withUnsafeMutablePointer(to: &slot.pointee.command_exited, { shakedown_atomic_load_u32($0) }) == 1 {
            said.commandStatus = slot.pointee.command_status
            if said.commandPid == nil, slot.pointee.command_pid > 0 { said.commandPid = slot.pointee.command_pid }
        }
        let workerExit = state.status.map(ProcessExit.init(waitStatus:))
        let exit = said.commandStatus.map(ProcessExit.init(waitStatus:)) ?? workerExit
        let rounds = said.finished.map { Int($0.rounds) }
            ?? Int(min(slot.pointee.rounds_completed, UInt64(configuration.rounds)))
        return WorkerReport(
            index: index, pid: state.pid, commandPid: said.commandPid,
            outcome: outcome(hung: hung, notStarted: state.notStarted ?? said.notStarted, said: said, exit: exit,
                             workerExit: workerExit, index: index),
            exit: exit, roundsCompleted: rounds, failures: said.failures + state.output.failures,
            outputTail: state.output.tailText, crashMessage: state.output.crashMessage,
            outputBytes: state.output.totalBytes, jitterPoints: Int(said.finished?.points ?? 0),
            jitterActions: Int(said.finished?.actions ?? 0), jitterDigest: said.finished?.digest,
            channelProblem: state.decoder.problem)
    }

    /// Success needs positive evidence: a closure worker's "finished" message and exit 0, or a command that was
    /// started and exited 0. Anything else (no message, an early `exit(0)`, a copy that never ran) is not success.
    private func outcome(hung: Bool, notStarted: String?, said: WorkerMessages, exit: ProcessExit?,
                         workerExit: ProcessExit?, index: Int) -> WorkerOutcome {
        if hung { return .hung }
        if let notStarted { return .notStarted(notStarted) }
        if let signal = exit?.signal { return .crashed(signal) }
        if let threw = said.threw { return .threw(threw) }
        if let stoppedBy = said.stoppedBy, stoppedBy != index { return .stoppedByOtherWorker(stoppedBy) }
        if said.commandPid != nil {
            guard said.commandStatus != nil, case let .exited(code)? = exit else {
                return .unknown("the command was started but its exit was not seen")
            }
            return code == 0 ? .completed : .exited(code: code)
        }
        if case let .exited(code)? = workerExit {
            if command != nil { return .unknown("the shepherd exited (code \(code)) without starting the command") }
            return said.finished != nil && code == 0 ? .completed : .exited(code: code)
        }
        return .unknown("no exit status was read")
    }

    /// The leftovers a worker named at its exit: zombies it reaped, and live children it left for the leader.
    private func leftovers(_ index: Int, _ state: WorkerState) -> [LeakedProcess] {
        state.decoder.messages.compactMap { message in
            guard case let .leftover(kind, pid, parent, status, command, age) = message else { return nil }
            return LeakedProcess(
                kind: kind, pid: Int32(pid), parent: Int32(parent), command: command, worker: index,
                exit: status >= 0 ? ProcessExit(waitStatus: Int32(status)) : nil,
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
            case 1: cleanup = .exitedOnItsOwn(ProcessExit(waitStatus: Int32(status)))
            case 2: cleanup = .stopped(by: Signal(Int32(status)))
            case 3: cleanup = .exitedDuringTeardown(ProcessExit(waitStatus: Int32(status)))
            default: cleanup = .reaped
            }
            // The leader names it last, at teardown: by then a freshly forked child has usually exec'd.
            let known = namedOrphans[Int32(pid)]
            seen.insert(Int32(pid))
            result.append(LeakedProcess(
                kind: .orphan, pid: Int32(pid), parent: known?.parent,
                command: command != "?" ? command : known?.command ?? command, worker: known?.worker ?? (worker >= 0 ? Int(worker) : nil),
                exit: nil, lifetime: known?.lifetime ?? (age >= 0 ? .milliseconds(age) : nil), cleanup: cleanup))
        }
        // Named at exit but never adopted: it exited before its worker did, and the worker's exit reaped it.
        for (pid, orphan) in namedOrphans where !seen.contains(pid) { result.append(orphan) }
        return result
    }
}
