#if canImport(Glibc)
import Glibc
#endif
import CShakedown

/// What a worker body is handed: who it is, which round it is in, its seeded jitter, and a way to record
/// failures that reach the test process.
///
/// A worker is a process of its own (forked from the test, or an exec'd cooperative command), so anything
/// recorded here travels back through the worker's result channel and is reported at its file and line.
/// Prefer ``check(_:_:file:line:)`` and ``fail(_:file:line:)`` in bodies; an `XCTAssert…` inside a worker is
/// still caught (Shakedown reads XCTest's failure line from the worker's output) but has no round number.
public final class Worker {
    /// 0-based index among the run's processes.
    public let index: Int
    /// How many worker processes the run has.
    public let processes: Int
    /// How many rounds each worker runs.
    public let rounds: Int
    /// The current round, 0-based.
    public package(set) var round: Int = 0
    /// This worker's seed, derived from the run's seed and ``index``.
    public var seed: Seed { jitter.seed }
    /// This worker's jitter stream; `Jitter.point()` draws from it too.
    public let jitter: JitterSource

    /// The write end of this worker's result channel (tests use it to send garbage on purpose).
    package let channel: CInt
    package let control: RunControl
    private let observed: [SharedCounter]
    package private(set) var failureCount = 0

    package init(index: Int, control: RunControl, plan: JitterPlan, channel: CInt, observed: [SharedCounter]) {
        self.index = index
        self.processes = control.processes
        self.rounds = control.rounds
        self.control = control
        self.channel = channel
        self.observed = observed
        self.jitter = JitterSource(plan: plan, seed: control.seed.derived(for: index))
    }

    /// Records a failure at the caller's file and line; the worker goes on.
    public func fail(_ message: String, file: StaticString = #filePath, line: UInt = #line) {
        failureCount += 1
        send(.failure(message: message, file: "\(file)", line: Int64(line), round: Int64(round)))
    }

    /// Records a failure when `condition` is false.
    public func check(_ condition: Bool, _ message: @autoclosure () -> String = "check failed",
                      file: StaticString = #filePath, line: UInt = #line) {
        if !condition { fail(message(), file: file, line: line) }
    }

    /// How many counters this run observes: the `observing:` counters of a closure run, or the `counters:` of a
    /// command run.
    public var runCounterCount: Int { observed.count }

    /// Observed counter `index`: in a closure run the `observing:` counter at that position, in a command run the
    /// run-owned counter a cooperative command reports on. Traps when `index` is not below ``runCounterCount``
    /// (any other counter would not be observed, so its counts would be silently lost).
    public func counter(_ index: Int) -> SharedCounter {
        precondition(index >= 0 && index < observed.count,
                     "counter \(index) does not exist: the run observes \(observed.count) counter(s)")
        return observed[index]
    }

    /// The run-owned robust mutex, shared by every worker of the run (cooperative commands use it since they
    /// cannot reach a ``ProcessMutex`` the test created).
    public var runLock: ProcessMutex { control.mutex }

    package func send(_ message: ChannelMessage) {
        writeAll(channel, message.encoded())
    }

    /// Records a small result of this worker's part of the current round (as a jcstress actor does). The
    /// judge's closures read it in ``RoundContext/results`` after the round; the last value recorded in a round
    /// counts. One store to shared memory.
    public func record(_ value: Int64) {
        let slot = control.slot(index)
        slot.pointee.round_result = value
        withUnsafeMutablePointer(to: &slot.pointee.result_round) { shakedown_atomic_store_u64($0, UInt64(round + 1)) }
    }

    /// Rounds this worker completed, once its rounds ended normally.
    private var finishedRounds = 0

    /// Tells the test process this worker did all its work: its rounds and the steps after them.
    package func sendFinished() {
        send(.finished(rounds: Int64(finishedRounds), jitterPoints: Int64(jitter.points),
                       jitterActions: Int64(jitter.actions), jitterDigest: jitter.digest))
    }

    /// How a worker's rounds ended.
    package enum RoundsOutcome { case finished, threw, stoppedAtBrokenBarrier, stoppedByJudge }

    /// Runs `body` once per round, all workers starting each round together. The last to arrive at each barrier
    /// records the observed counters' increments and, with a judge, grades the round that just ended and resets
    /// for the next one, while every other worker waits. Ends early when the body throws, another worker left,
    /// or the judge stopped the run.
    ///
    /// With `reportsFinish: false` the caller sends the "finished" message itself (``sendFinished()``), after
    /// whatever must still run (a worker's tearDown): a worker that quits before that is not a success.
    package func runRounds(_ body: (Worker) throws -> Void, judge: ErasedJudge? = nil,
                           reportsFinish: Bool = true) -> RoundsOutcome {
        let barrier = control.roundBarrier
        let slot = control.slot(index)
        var judgeFailure: String?
        for current in 0...rounds {
            round = min(current, rounds - 1)
            let outcome = barrier.arrive {
                control.recordRound(observed, baseline: current == 0)
                if let judge { judgeFailure = judgeRound(before: current, judge) }
            }
            if case let .broken(by) = outcome {
                send(.stoppedAtBrokenBarrier(brokenBy: Int64(by), round: Int64(current)))
                return .stoppedAtBrokenBarrier
            }
            if let judgeFailure {
                send(.threw(message: judgeFailure, round: Int64(max(current - 1, 0))))
                slot.pointee.rounds_completed = UInt64(rounds + 1)
                return .threw
            }
            if current == rounds || control.stopAfterRound != nil { break }
            do {
                try body(self)
            } catch {
                send(.threw(message: String(describing: error), round: Int64(current)))
                barrier.break(by: index)
                return .threw
            }
            slot.pointee.rounds_completed = UInt64(current + 1)
        }
        let stoppedByJudge = control.stopAfterRound != nil
        // Past the last barrier (or stopped by the judge after one): the leader must not break it now.
        finishedRounds = Int(clamping: slot.pointee.rounds_completed)
        slot.pointee.rounds_completed = UInt64(rounds + 1)
        if reportsFinish { sendFinished() }
        return stoppedByJudge ? .stoppedByJudge : .finished
    }

    /// As the barrier's last arrival before round `next`: grades round `next - 1`, then resets for round `next`.
    /// Returns why the run must stop (a closure threw, an outcome too long to keep); a forbidden outcome of a
    /// judge that stops at the first one stops the run through the control block instead.
    private func judgeRound(before next: Int, _ judge: ErasedJudge) -> String? {
        let slot = control.slot(index)
        defer { slot.pointee.judging_round = 0 }
        if next > 0 {
            let round = next - 1
            slot.pointee.judging_round = UInt64(next)
            let verdict: (text: String, grade: OutcomeGrade)
            do {
                verdict = try judge.judge(context(of: round))
            } catch {
                control.stopAfterRound = round
                return "the judge's outcome closure threw after round \(round): \(error)"
            }
            guard verdict.text.utf8.count <= RoundJudge<Int>.maximumOutcomeText else {
                control.stopAfterRound = round
                return "the outcome of round \(round) is \(verdict.text.utf8.count) bytes of text, over the limit of "
                    + "\(RoundJudge<Int>.maximumOutcomeText) (RoundJudge.maximumOutcomeText)"
            }
            send(.roundOutcome(round: Int64(round), grade: Int64(verdict.grade.wireValue), text: verdict.text))
            if verdict.grade == .forbidden && judge.stopsAtFirstForbidden { control.stopAfterRound = round }
        }
        guard next < rounds, control.stopAfterRound == nil, let reset = judge.reset else { return nil }
        slot.pointee.judging_round = UInt64(next + 1)
        do {
            try reset(context(of: next))
        } catch {
            control.stopAfterRound = max(next - 1, 0)
            return "the judge's reset closure threw before round \(next): \(error)"
        }
        return nil
    }

    /// What every worker recorded in `round`.
    private func context(of round: Int) -> RoundContext {
        RoundContext(round: round, results: (0..<processes).map { worker in
            let slot = control.slot(worker)
            let recorded = withUnsafeMutablePointer(to: &slot.pointee.result_round) { shakedown_atomic_load_u64($0) }
            return recorded == UInt64(round + 1) ? slot.pointee.round_result : nil
        })
    }
}

extension Worker {
    /// Joins the run that started this process, for a command run by ``Shakedown/Shake/run(command:_:counters:progress:)``:
    /// gives the command its worker index, seeded jitter, the run's counters and round barrier.
    ///
    /// - Returns: `nil` when this process was not started by a Shakedown run.
    /// - Throws: `.malformedData` when the inherited descriptors are not a Shakedown run's.
    public static func attach() throws(ShakedownError) -> Worker? {
        guard let controlText = getenv(WorkerEnvironment.controlDescriptor),
              let channelText = getenv(WorkerEnvironment.resultDescriptor),
              let indexText = getenv(WorkerEnvironment.workerIndex)
        else { return nil }
        guard let controlFD = CInt(String(cString: controlText)), let channel = CInt(String(cString: channelText)),
              let index = Int(String(cString: indexText))
        else {
            throw ShakedownError(.malformedData(source: "environment", reason: "SHAKEDOWN_* variables are not numbers"))
        }
        let control = try RunControl(attaching: controlFD)
        guard index >= 0, index < control.processes else {
            throw ShakedownError(.malformedData(source: "environment", reason: "worker index \(index) out of range"))
        }
        let plan = getenv(WorkerEnvironment.jitterPlan).flatMap { JitterPlan(encoded: String(cString: $0)) } ?? .none
        let observed = (0..<control.observedCount).map { control.counter($0, name: "counter \($0)") }
        let worker = Worker(index: index, control: control, plan: plan, channel: channel, observed: observed)
        Jitter.current = worker.jitter
        return worker
    }

    /// Runs `body` for every round of the run, in step with the other copies (a cooperative command's main
    /// loop). Returns the exit code to leave with: 0 when every round ran, 1 otherwise.
    public func runAllRounds(_ body: (Worker) throws -> Void) -> Int32 {
        runRounds(body) == .finished ? 0 : 1
    }
}
