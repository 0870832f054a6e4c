#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Synchronization

/// The `syscalls` and `pct` modes inside a run: each copy starts under a seccomp filter whose listener goes to the
/// run leader, and a scheduler thread in the leader decides which copy's controlled call goes on next.
///
/// Where the filter goes in: a closure worker installs it right after fork (``enterClosureWorker()``); a command's
/// shepherd installs it in the spawned child right before execve (the hook in `shakedown_spawn`). Either sends its
/// listener with its pid over a unix datagram socket the leader made before forking. The leader's scheduler waits
/// until every started worker has registered (or is gone), then schedules them in worker order with a
/// ``SyscallScheduler``: `syscalls` picks uniformly among the parked copies, `pct` by PCT priorities.
///
/// Cost: one notification round trip through the leader per controlled call, about 5 µs on a 2-core VM, idle or loaded
/// (docs/benchmarks.md, "Controlled system calls"), and the copies run one at a time between controlled calls.
///
/// `@unchecked Sendable`: the leader's thread touches `notes` and `thread` only before `pthread_create` and after
/// `pthread_join`, which order every access of the scheduler thread; the stop flag is an atomic.
package final class SyscallRunControl: @unchecked Sendable {
    /// Whether `mode` schedules system calls.
    package static func controls(_ mode: JitterMode) -> Bool { mode == .syscalls || mode == .pct }

    // MARK: test process

    /// Before a run, in the test process: falls back when this kernel or sandbox has no seccomp user notification
    /// (the plan becomes `preempt`), and reads the replay file. Returns a note for the report when it fell back.
    /// - Throws: the replay file's errors; `.invalidArgument("replay")` when it does not fit the run.
    package static func prepare(_ configuration: inout RunConfiguration) throws(ShakedownError) -> String? {
        let mode = configuration.jitter.mode
        if let path = configuration.schedule.replayFile {
            let schedule = try SyscallSchedule.load(from: path)
            guard schedule.processes == configuration.processes, controls(mode) else {
                throw .invalidArgument("replay", "\(path) is a \(schedule.mode) schedule of \(schedule.processes) processes; "
                    + "the run is \(mode) with \(configuration.processes): replay it with --jitter \(schedule.mode) -n \(schedule.processes)")
            }
            configuration.schedule.replay = schedule
        }
        guard controls(mode) else { return nil }
        try validate(configuration.schedule)
        if let reason = unavailableReason() {
            configuration.jitter.mode = .preempt
            return "jitter mode \(mode) fell back to preempt: \(reason)"
        }
        // Points only yield: a yield is a controlled call, so each acting point is a decision of the scheduler; a
        // sleep or a spin would only add time, never change the order.
        if configuration.jitter.yieldWeight + configuration.jitter.sleepWeight + configuration.jitter.spinWeight > 0 {
            configuration.jitter.yieldWeight = 1
            configuration.jitter.sleepWeight = 0
            configuration.jitter.spinWeight = 0
        }
        return nil
    }

    private static func validate(_ options: ScheduleOptions) throws(ShakedownError) {
        guard options.pctDepth >= 1, options.pctDepth <= 100 else {
            throw .invalidArgument("pctDepth", "must be within 1...100, got \(options.pctDepth)")
        }
        if let steps = options.pctSteps, steps < 1 || steps > 100_000_000 {
            throw .invalidArgument("pctSteps", "must be within 1...100000000, got \(steps)")
        }
        guard options.boundedWait >= .microseconds(100), options.boundedWait <= .seconds(10) else {
            throw .invalidArgument("boundedWait", "must be within 100 µs...10 s, got \(options.boundedWait)")
        }
    }

    /// The environment variable that makes runs behave as on a kernel without seccomp user notification
    /// (`SHAKEDOWN_SECCOMP=off`): for testing the fallback, and an escape hatch on a kernel where it misbehaves.
    package static let disableVariable = "SHAKEDOWN_SECCOMP"

    /// Why seccomp user notification cannot be used here, or `nil` when it can. Probes by installing a listener in
    /// a short-lived child (a sandbox may list the action yet refuse the filter).
    package static func unavailableReason() -> String? {
        if let raw = getenv(disableVariable), String(cString: raw) == "off" {
            return "seccomp user notification is turned off (\(disableVariable)=off)"
        }
        if shakedown_seccomp_user_notif_available() == 0 {
            return "this kernel offers no seccomp user notification (/proc/sys/kernel/seccomp/actions_avail lacks user_notif)"
        }
        let error = shakedown_seccomp_listener_probe()
        if error != 0 {
            return "installing a seccomp listener failed (\(ShakedownError.systemCall("seccomp", errno: .init(rawValue: error)))): a sandbox forbids it"
        }
        return nil
    }

    // MARK: workers

    /// In a closure worker right after fork: the filter and the listener's handover, when the run controls
    /// system calls. Returns why the worker must not run, or `nil`.
    package static func enterClosureWorker() -> String? {
        let error = shakedown_syscall_control_enter(0)
        guard error != 0 else { return nil }
        return "the seccomp listener could not be handed to the run leader (\(ShakedownError.systemCall("sendmsg", errno: .init(rawValue: error))))"
    }

    // MARK: run leader

    private let configuration: RunConfiguration
    private let control: RunControl
    private let receiver: CInt
    private let sender: CInt
    private var thread: pthread_t?
    private let stopping = Atomic<Bool>(false)
    private var notes: [String] = []

    /// In the run leader before it forks the workers: the registration socket and the filter's configuration,
    /// inherited by every worker. `nil` when the run does not control system calls, or with a note when the socket
    /// could not be made (the copies then run uncontrolled).
    package static func leaderPrepare(_ configuration: RunConfiguration, control: RunControl) -> (SyscallRunControl?, String?) {
        guard controls(configuration.jitter.mode) else { return (nil, nil) }
        var pair: [CInt] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return (nil, "\(configuration.jitter.mode) could not start (\(ShakedownError.systemCall("socketpair"))): copies ran uncontrolled")
        }
        let numbers = SyscallControl.numbers(SyscallControl.defaultSyscalls)
        let status = numbers.withUnsafeBufferPointer { shakedown_syscall_control_configure(pair[1], $0.baseAddress, CInt($0.count)) }
        guard status == 0 else {
            close(pair[0])
            close(pair[1])
            return (nil, "\(configuration.jitter.mode) could not start (configuring the filter failed): copies ran uncontrolled")
        }
        return (SyscallRunControl(configuration: configuration, control: control, receiver: pair[0], sender: pair[1]), nil)
    }

    private init(configuration: RunConfiguration, control: RunControl, receiver: CInt, sender: CInt) {
        self.configuration = configuration
        self.control = control
        self.receiver = receiver
        self.sender = sender
    }

    /// In the run leader after it forked every worker: starts the scheduler thread.
    package func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        let error = pthread_create(&created, nil, { context in
            guard let context else { return nil }
            Unmanaged<SyscallRunControl>.fromOpaque(context).takeRetainedValue().schedule()
            return nil
        }, context)
        if error != 0 {
            Unmanaged<SyscallRunControl>.fromOpaque(context).release()
            notes.append("\(configuration.jitter.mode): the scheduler thread could not start "
                + "(\(ShakedownError.systemCall("pthread_create", errno: .init(rawValue: error)))); the copies were killed")
            // Copies parked with nobody to release them would hang the run; they are this run's own workers.
            for index in 0..<configuration.processes where control.slot(index).pointee.pid > 0 {
                kill(-control.slot(index).pointee.pid, SIGKILL)
            }
            return
        }
        thread = created
    }

    /// In the run leader once every worker is gone: stops and joins the scheduler, writes the trace, and returns
    /// the notes for the report.
    package func finish() -> [String] {
        stopping.store(true, ordering: .releasing)
        if let thread { pthread_join(thread, nil) }
        thread = nil
        close(receiver)
        close(sender)
        return notes
    }

    // MARK: scheduler thread

    private struct Registered {
        var pid: pid_t
        var listener: CInt
        /// A closure worker (it registered its own pid), not a command about to exec.
        var isWorker: Bool
    }

    private func schedule() {
        let registered = collectRegistrations()
        guard !registered.isEmpty else { return }
        let options = configuration.schedule
        let mode = configuration.jitter.mode
        let seed = control.seed
        let steps = options.steps(processes: configuration.processes, rounds: configuration.rounds)
        let strategy: SyscallScheduler.Strategy = mode == .pct ? .pct(depth: options.pctDepth, expectedSteps: steps) : .random
        // Copies in worker order, so the copy numbers and PCT priorities do not depend on who registered first.
        let workers = registered.keys.sorted()
        let copyOf = Dictionary(uniqueKeysWithValues: workers.enumerated().map { ($1, $0) })
        let replay = options.replay.map { schedule in
            schedule.events.map { SyscallScheduler.Event(copy: copyOf[$0.worker] ?? -1, syscall: $0.syscall) }
        }
        let scheduler: SyscallScheduler
        do throws(ShakedownError) {
            scheduler = try SyscallScheduler(seed: seed, strategy: strategy, boundedWait: options.boundedWait, replay: replay)
        } catch {
            notes.append("\(mode): \(error): the copies were killed")
            for worker in workers { if let copy = registered[worker] { kill(copy.pid, SIGKILL); close(copy.listener) } }
            return
        }
        for worker in workers { if let copy = registered[worker] { scheduler.add(pid: copy.pid, listener: copy.listener, started: copy.isWorker) } }
        let finished = scheduler.run(until: .max) { stopping.load(ordering: .acquiring) }
        report(scheduler, workers: workers, steps: steps, finished: finished)
    }

    /// Receives every started worker's registration; stops waiting for a worker once its process is gone, and for
    /// all at ``finish()``. A copy whose filter failed runs uncontrolled and is named in a note.
    private func collectRegistrations() -> [Int: Registered] {
        var expected: [pid_t: Int] = [:]
        for index in 0..<configuration.processes {
            let pid = control.slot(index).pointee.pid
            if pid > 0 { expected[pid] = index }
        }
        var registered: [Int: Registered] = [:]
        var settled: Set<Int> = []
        var uncontrolled: [String] = []
        while settled.count < expected.count && !stopping.load(ordering: .acquiring) {
            var workerPid: CInt = 0, pid: CInt = 0, listener: CInt = -1, error: CInt = 0
            let got = shakedown_syscall_control_receive(receiver, 10, &workerPid, &pid, &listener, &error)
            if got == 1, let index = expected[workerPid], !settled.contains(index) {
                settled.insert(index)
                if listener >= 0 {
                    registered[index] = Registered(pid: pid, listener: listener, isWorker: pid == workerPid)
                } else {
                    uncontrolled.append("worker \(index) (\(ShakedownError.systemCall("seccomp", errno: .init(rawValue: error))))")
                }
            } else if got == 1 {
                if listener >= 0 { close(listener) }
            } else if got < 0 && errno != EINTR {
                notes.append("\(configuration.jitter.mode): reading registrations failed (\(ShakedownError.systemCall("recvmsg")))")
                break
            } else {
                // A worker that exited (or never got as far as its filter) will not register.
                for (pid, index) in expected where !settled.contains(index) {
                    let state = ProcessTable.status(of: pid)?.state
                    if state == nil || state == "Z" { settled.insert(index) }
                }
            }
        }
        if !uncontrolled.isEmpty {
            notes.append("\(configuration.jitter.mode): ran uncontrolled: " + uncontrolled.joined(separator: ", "))
        }
        return registered
    }

    /// The summary note, and the trace file.
    private func report(_ scheduler: SyscallScheduler, workers: [Int], steps: Int, finished: Bool) {
        let mode = configuration.jitter.mode
        let events = scheduler.events.map { SyscallSchedule.Event(worker: workers[$0.copy], syscall: $0.syscall) }
        let pct = mode == .pct ? (configuration.schedule.pctDepth, steps) : nil
        let schedule = SyscallSchedule(mode: mode, seed: control.seed, processes: configuration.processes, pct: pct,
                                       events: events, timeoutReleases: scheduler.timeoutReleases,
                                       blockedReleases: scheduler.blockedReleases)
        var text = "\(mode): \(events.count) controlled calls of \(workers.count) cop\(workers.count == 1 ? "y" : "ies") released one at a time"
        if let pct { text += " (PCT depth \(pct.0), \(pct.1) steps estimated)" }
        text += ", order digest \(String(schedule.digest, radix: 16))"
        if scheduler.blockedReleases > 0 {
            text += "; \(scheduler.blockedReleases) released while the other copies slept outside a controlled call (a lock, a barrier, a pipe)"
        }
        if scheduler.timeoutReleases > 0 {
            text += "; \(scheduler.timeoutReleases) released after a copy used the \(configuration.schedule.boundedWait.shortDescription) bounded wait outside controlled calls: this order need not repeat with the seed"
        }
        if !finished { text += "; stopped with copies still running (deadline or teardown)" }
        notes.append(text)
        if let replay = configuration.schedule.replay {
            if let step = scheduler.divergedAt {
                notes.append("\(mode): the replay was followed for \(step) of \(replay.events.count) calls; then the run did something else and the seed chose")
            } else if events.count != replay.events.count {
                notes.append("\(mode): the replay was followed for all \(min(events.count, replay.events.count)) of its calls; the run made \(events.count)")
            } else {
                notes.append("\(mode): the replay was followed for all \(events.count) calls")
            }
        }
        if let path = configuration.schedule.traceFile {
            do throws(ShakedownError) { try schedule.write(to: path) } catch {
                notes.append("\(mode): the trace \(path) could not be written (\(error))")
            }
        }
    }
}
