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
    /// This worker's jitter stream; ``Jitter/point()`` draws from it too.
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

    /// How a worker's rounds ended.
    package enum RoundsOutcome { case finished, threw, stoppedAtBrokenBarrier }

    /// Runs `body` once per round, all workers starting each round together; the last to arrive at each barrier
    /// records the observed counters' increments. Ends early when the body throws or another worker left.
    package func runRounds(_ body: (Worker) throws -> Void) -> RoundsOutcome {
        let barrier = control.roundBarrier
        let slot = control.slot(index)
        for current in 0..<rounds {
            round = current
            let outcome = barrier.arrive { control.recordRound(observed, baseline: current == 0) }
            if case let .broken(by) = outcome {
                send(.stoppedAtBrokenBarrier(brokenBy: Int64(by), round: Int64(current)))
                return .stoppedAtBrokenBarrier
            }
            do {
                try body(self)
            } catch {
                send(.threw(message: String(describing: error), round: Int64(current)))
                barrier.break(by: index)
                return .threw
            }
            slot.pointee.rounds_completed = UInt64(current + 1)
        }
        if case let .broken(by) = barrier.arrive(action: { control.recordRound(observed, baseline: false) }) {
            send(.stoppedAtBrokenBarrier(brokenBy: Int64(by), round: Int64(rounds)))
            return .stoppedAtBrokenBarrier
        }
        // Past the last barrier: the leader must not break it when this worker exits now.
        slot.pointee.rounds_completed = UInt64(rounds + 1)
        send(.finished(rounds: Int64(rounds), jitterPoints: Int64(jitter.points), jitterActions: Int64(jitter.actions),
                       jitterDigest: jitter.digest))
        return .finished
    }
}

extension Worker {
    /// Joins the run that started this process, for a command run by ``Shakedown/run(command:_:counters:)``:
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
