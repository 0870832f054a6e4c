#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

private actor Tally {
    private(set) var total = 0
    func add(_ amount: Int) { total += amount }
}

private func square(_ value: Int) async -> Int {
    await Task.yield()
    return value * value
}

/// Async worker bodies (actors, `async let`, task groups, `Task.sleep`, `MainActor`) run on the worker's own executor, whatever the test process did before the fork.
final class AsyncWorkerTests: XCTestCase {
    /// The parent warms the runtime first (a task group on its global executor): without the worker's executor,
    /// the child's tasks would never run and every worker would hang.
    func testActorsAsyncLetAndTaskGroupCompleteInFourWorkersAfterParentRanAsyncWork() async throws {
        let warm = await withTaskGroup(of: Int.self) { group in
            for value in 1...8 { group.addTask { await square(value) } }
            return await group.reduce(0, +)
        }
        XCTAssertEqual(warm, 204)
        let run = try Shake.fork(processes: 4, rounds: 3, timeout: .seconds(30)) { worker in
            let tally = Tally()
            async let first = square(3)
            async let second = square(4)
            await withTaskGroup(of: Void.self) { group in
                for value in 1...10 { group.addTask { await tally.add(value) } }
            }
            let slept = executorClockNow()
            try await Task.sleep(for: .milliseconds(5))
            let sleptNanoseconds = executorClockNow() - slept
            let index = worker.index
            let mainValue = await MainActor.run { () -> Int in
                MainActor.assertIsolated()
                return index + 1
            }
            let sum = await first + second
            let total = await tally.total
            worker.check(sum == 25, "async let gave \(sum)")
            worker.check(total == 55, "task group gave \(total)")
            worker.check(mainValue == index + 1, "MainActor.run gave \(mainValue)")
            worker.check(sleptNanoseconds >= 5_000_000, "Task.sleep(5 ms) returned after \(sleptNanoseconds) ns")
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(run.workers.count, 4)
        XCTAssertEqual(run.workers.map(\.roundsCompleted), [3, 3, 3, 3], run.summary)
    }

    /// A job that never gives its thread back: the worker's main thread waits, the run's deadline reports it.
    func testJobBlockingItsThreadForeverIsReportedHung() throws {
        let started = executorClockNow()
        let run = try Shake.fork(processes: 2, timeout: .seconds(2)) { _ in
            await Task.yield()
            while true { sleep(1000) }
        }
        XCTAssertTrue(run.timedOut, run.summary)
        XCTAssertEqual(run.hungWorkers.count, 2, run.summary)
        XCTAssertFalse(run.isClean)
        XCTAssertLessThan(executorClockNow() - started, 30_000_000_000)
    }

    /// A hook set by other code before the fork is inherited by the worker: it is named, not chained to, and the
    /// async body does not run.
    func testForeignHookInheritedFromParentIsReportedNotChained() throws {
        let hooks = try RuntimeHooks.locate()
        hooks.enqueueGlobal.pointee = { job, original in original(job) }
        defer { hooks.enqueueGlobal.pointee = nil }
        let ran = try SharedCounter()
        let run = try Shake.fork(processes: 2, timeout: .seconds(20)) { _ in
            await Task.yield()
            _ = ran.increment()
        }
        XCTAssertFalse(run.isClean)
        XCTAssertEqual(ran.value, 0)
        for worker in run.workers {
            guard case let .threw(message) = worker.outcome else {
                return XCTFail("worker \(worker.index): \(worker.outcome)")
            }
            XCTAssertTrue(message.contains("swift_task_enqueueGlobal_hook is already set"), message)
        }
    }

    /// A runtime without one of the hooks: the error names the missing symbol.
    func testMissingRuntimeHookIsNamed() {
        var names = RuntimeHooks.Names()
        names.enqueueGlobalWithDeadline = "swift_task_enqueueGlobalWithDeadline_hook_not_in_this_runtime"
        XCTAssertThrowsError(try HookInstallation.install(JobExecutor(), main: false, names: names)) { error in
            XCTAssertEqual(error as? AsyncExecutorError,
                           .missingRuntimeSymbol("swift_task_enqueueGlobalWithDeadline_hook_not_in_this_runtime"))
            XCTAssertTrue("\(error)".contains("does not export swift_task_enqueueGlobalWithDeadline_hook_not_in"))
        }
    }
}
