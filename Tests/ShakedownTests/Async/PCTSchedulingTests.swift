import CShakedown
import XCTest
@testable import Shakedown

/// PCT over tasks: priorities per task drawn from the seed, change points among the decisions; replays with one
/// thread, and without change points runs each task until it waits.
final class PCTSchedulingTests: XCTestCase {
    private func order(_ policy: SchedulingPolicy) throws -> (order: [String], decisions: UInt64) {
        let log = OrderLog()
        let run = try SeededExecutor.run(policy, timeout: .seconds(20)) { await interleavedSteps(log) }
        XCTAssertEqual(run.policy, policy)
        return (log.order, run.decisions)
    }

    func testSameSeedReplaysThePCTOrderAndAnotherSeedChangesIt() throws {
        let first = try order(.pct(Seed(42)))
        let again = try order(.pct(Seed(42)))
        XCTAssertEqual(first.order.count, 18)
        XCTAssertEqual(first.order, again.order)
        XCTAssertEqual(first.decisions, again.decisions)
        XCTAssertGreaterThan(first.decisions, 0)
        let others = try (1...5).map { try order(.pct(Seed($0))).order }
        XCTAssertTrue(others.contains { $0 != first.order }, "five other seeds all gave seed 42's order")
    }

    /// Depth 1 (no change points): the highest-priority task runs every step before a lower one takes over, so
    /// each task's three steps are adjacent; random choice interleaves them.
    func testWithoutChangePointsEachTaskRunsItsStepsInOneStretch() throws {
        for seed in 1...5 as ClosedRange<UInt64> {
            let steps = try order(.pct(Seed(seed), depth: 1)).order
            XCTAssertEqual(steps.count, 18)
            for start in stride(from: 0, to: steps.count, by: 3) {
                let task = steps[start].prefix { $0 != "." }
                XCTAssertEqual(steps[start..<start + 3].map { String($0.prefix { $0 != "." }) },
                               Array(repeating: String(task), count: 3), "seed \(seed): \(steps)")
            }
        }
        let random = try order(.seeded(Seed(1))).order
        let stretches = stride(from: 0, to: random.count, by: 3).filter { start in
            Set(random[start..<start + 3].map { $0.prefix { $0 != "." } }).count == 1
        }
        XCTAssertLessThan(stretches.count, 6, "random choice ran every task in one stretch: \(random)")
    }

    /// A change point demotes the task about to run: with change points, some seed breaks a stretch.
    func testChangePointsInterruptAStretch() throws {
        let interrupted = try (1...10 as ClosedRange<UInt64>).contains { seed in
            let steps = try order(.pct(Seed(seed), depth: 4, decisions: 12)).order
            return stride(from: 0, to: steps.count, by: 3).contains { start in
                Set(steps[start..<start + 3].map { $0.prefix { $0 != "." } }).count > 1
            }
        }
        XCTAssertTrue(interrupted)
    }

    /// Zero, negative and huge thread counts and PCT parameters are refused with the parameter's name.
    func testOutOfRangeThreadsAndPCTParametersAreRefused() {
        func refusal(_ name: String, _ body: () throws -> Void) {
            XCTAssertThrowsError(try body()) { error in
                guard case let .invalidSchedulingArgument(refused, _, allowed)? = error as? AsyncExecutorError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(refused, name)
                XCTAssertTrue("\(error)".contains("\(name) must be within \(allowed.lowerBound)..."), "\(error)")
            }
        }
        for threads in [0, -1, SeededExecutor.maximumThreads + 1, Int.max] {
            refusal("threads") { _ = try SeededExecutor.run(.fifo, threads: threads) { 0 } }
        }
        for depth in [0, -3, PCTParameters.maximumDepth + 1, Int.max] {
            refusal("depth") { _ = try SeededExecutor.run(.pct(Seed(1), depth: depth)) { 0 } }
        }
        for decisions in [0, Int.min, PCTParameters.maximumDecisions + 1] {
            refusal("decisions") { _ = try SeededExecutor.run(.pct(Seed(1), decisions: decisions)) { 0 } }
        }
        // The largest allowed values work (change points drawn among ten million decisions).
        XCTAssertEqual(try SeededExecutor.run(.pct(Seed(1), depth: PCTParameters.maximumDepth,
                                                   decisions: PCTParameters.maximumDecisions)) { 3 }.value, 3)
    }

    func testForkRefusesOutOfRangePCTParameters() {
        XCTAssertThrowsError(try Shake.fork(processes: 1, scheduling: .pct(Seed(1), depth: 0)) { _ in }) { error in
            guard let error = error as? ShakedownError, error.code == .invalidArgument,
                  let name = error.argumentName, let reason = error.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(name, "scheduling")
            XCTAssertTrue(reason.contains("depth must be within 1...64, got 0"), reason)
        }
    }

    /// Several threads: a task group with actor work completes, jobs run in parallel threads of the executor.
    func testSeveralThreadsRunATaskGroupToCompletion() throws {
        let threads = ThreadSet()
        let run = try SeededExecutor.run(.seeded(Seed(8)), threads: 4, timeout: .seconds(20)) {
            await withTaskGroup(of: Int.self) { group in
                for value in 1...200 {
                    group.addTask {
                        threads.insert(shakedown_async_gettid())
                        await Task.yield()
                        return value
                    }
                }
                return await group.reduce(0, +)
            }
        }
        XCTAssertEqual(run.value, 20_100)
        XCTAssertGreaterThanOrEqual(threads.count, 1)
        XCTAssertLessThanOrEqual(threads.count, 4)
    }
}

/// Thread ids seen by jobs, from several executor threads.
final class ThreadSet: @unchecked Sendable {
    private let lock = ConditionLock()
    private var tids: Set<Int32> = []
    func insert(_ tid: Int32) { lock.withLock { _ = tids.insert(tid) } }
    var count: Int { lock.withLock { tids.count } }
}
