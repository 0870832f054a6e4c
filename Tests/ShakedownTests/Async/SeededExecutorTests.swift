import XCTest
@testable import Shakedown

/// Records labels in the order jobs ran them (the executor has one thread; the lock keeps it sound anyway).
final class OrderLog: @unchecked Sendable {
    private let lock = ConditionLock()
    private var labels: [String] = []
    func append(_ label: String) { lock.withLock { labels.append(label) } }
    var order: [String] { lock.withLock { labels } }
}

private actor Inbox {
    private var received: [String] = []
    func put(_ label: String) { received.append(label) }
}

/// Six tasks, each logging three steps separated by suspension points (a yield and an actor hop).
func interleavedSteps(_ log: OrderLog) async {
    let inbox = Inbox()
    await withTaskGroup(of: Void.self) { group in
        for task in 0..<6 {
            group.addTask {
                for step in 0..<3 {
                    log.append("t\(task).\(step)")
                    await Task.yield()
                    await inbox.put("t\(task)")
                }
            }
        }
    }
}

/// The seeded executor in-process, without fork: the seed fixes the job order, and replays it.
final class SeededExecutorTests: XCTestCase {
    private func order(_ policy: SchedulingPolicy) throws -> (order: [String], decisions: UInt64) {
        let log = OrderLog()
        let run = try SeededExecutor.run(policy, timeout: .seconds(20)) { await interleavedSteps(log) }
        return (log.order, run.decisions)
    }

    func testSameSeedReplaysTheJobOrderAndAnotherSeedChangesIt() throws {
        let first = try order(.seeded(Seed(42)))
        let again = try order(.seeded(Seed(42)))
        let other = try order(.seeded(Seed(7)))
        XCTAssertEqual(first.order.count, 18)
        XCTAssertEqual(first.order, again.order)
        XCTAssertEqual(first.decisions, again.decisions)
        XCTAssertGreaterThan(first.decisions, 0)
        XCTAssertNotEqual(first.order, other.order)
        XCTAssertEqual(Set(first.order), Set(other.order))
    }

    func testRunReportsSeedDecisionsAndValue() throws {
        let run = try SeededExecutor.run(.seeded(Seed(99))) {
            async let left = Task.yield()
            async let right = Task.yield()
            _ = await (left, right)
            return 41 + 1
        }
        XCTAssertEqual(run.value, 42)
        XCTAssertEqual(run.seed, Seed(99))
        XCTAssertGreaterThan(run.jobs, 0)
    }

    /// The hooks are process-global: a second run while one goes on is refused, and the first still finishes.
    func testSecondConcurrentRunIsRefused() throws {
        let run = try SeededExecutor.run(.seeded(Seed(1))) { () async -> AsyncExecutorError? in
            do {
                _ = try SeededExecutor.run(.fifo) { 0 }
                return nil
            } catch {
                return error as? AsyncExecutorError
            }
        }
        XCTAssertEqual(run.value, .inProcessRunActive)
        // The hooks were restored: the next run may install them again.
        XCTAssertEqual(try SeededExecutor.run(.fifo) { 5 }.value, 5)
    }

    /// A body that never finishes: the deadline ends the run with the seed, and the hooks are free again.
    func testTimedOutRunNamesSeedAndFreesHooks() throws {
        XCTAssertThrowsError(try SeededExecutor.run(.seeded(Seed(3)), timeout: .milliseconds(200)) {
            try await Task.sleep(for: .seconds(3600))
        }) { error in
            guard case let .timedOut(seed, _)? = error as? AsyncExecutorError else { return XCTFail("\(error)") }
            XCTAssertEqual(seed, 3)
        }
        XCTAssertEqual(try SeededExecutor.run(.fifo) { 6 }.value, 6)
    }
}

/// Bad input and faults of an in-process run.
final class SeededExecutorFaultTests: XCTestCase {
    /// A job that blocks the executor's thread forever: the deadline ends the run with the seed and the decisions
    /// so far, and the hooks are free for the next run (the blocked thread is abandoned; it sleeps on).
    func testJobBlockingTheThreadForeverEndsAtTheDeadline() throws {
        let started = executorClockNow()
        XCTAssertThrowsError(try SeededExecutor.run(.seeded(Seed(5)), timeout: .milliseconds(300)) { () async -> Void in
            await Task.yield()
            while true { sleep(1000) }
        }) { error in
            guard case let .timedOut(seed, _)? = error as? AsyncExecutorError else { return XCTFail("\(error)") }
            XCTAssertEqual(seed, 5)
        }
        XCTAssertLessThan(executorClockNow() - started, 10_000_000_000)
        XCTAssertEqual(try SeededExecutor.run(.fifo) { 6 }.value, 6)
    }
}

/// Delays in virtual time: sleeps end as soon as nothing else can run, in the order of their due times.
final class VirtualTimeTests: XCTestCase {
    func testVirtualTimeSkipsAnHourOfSleepAndKeepsTheSleepersOrder() throws {
        let started = executorClockNow()
        let log = OrderLog()
        let run = try SeededExecutor.run(.seeded(Seed(2)), time: .virtual, timeout: .seconds(20)) {
            await withTaskGroup(of: Void.self) { group in
                for (label, seconds) in [("late", 3_600), ("early", 60), ("middle", 600)] {
                    group.addTask {
                        try? await Task.sleep(for: .seconds(seconds))
                        log.append(label)
                    }
                }
            }
            return 7
        }
        XCTAssertEqual(run.value, 7)
        XCTAssertEqual(log.order, ["early", "middle", "late"])
        XCTAssertLessThan(executorClockNow() - started, 10_000_000_000)
    }

    /// Real time (the default) keeps a sleeper waiting: the deadline passes first.
    func testRealTimeHonoursTheSleep() {
        XCTAssertThrowsError(try SeededExecutor.run(.fifo, time: .real, timeout: .milliseconds(200)) {
            try await Task.sleep(for: .seconds(3_600))
        })
    }
}
