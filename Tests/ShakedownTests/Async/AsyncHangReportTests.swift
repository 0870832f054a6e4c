#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Hang reports of async workers: the jobs waiting in Shakedown's executor and the threads in the runtime.
final class AsyncHangReportTests: XCTestCase {
    /// A job that blocks the executor's only thread forever, with sleeping and ready tasks queued behind it: the
    /// deadline ends the run, and the report names the queued jobs, the running job and where its thread sits.
    func testHangReportListsWaitingJobsAndTheBlockedExecutorThread() throws {
        let run = try Shake.fork(processes: 1, timeout: .seconds(2), scheduling: .pct(Seed(4))) { _ in
            let sleepers = (0..<3).map { _ in Task { try await Task.sleep(for: .seconds(3600)) } }
            await Task.yield()
            let ready = (0..<2).map { _ in Task { await Task.yield() } }
            while true { sleep(1000) }  // never returns: the other tasks cannot run
            _ = (sleepers, ready)
        }
        XCTAssertTrue(run.timedOut, run.summary)
        let notes = try XCTUnwrap(run.hang?.asyncNotes, run.summary)
        XCTAssertEqual(notes.count, 1, "\(notes)")
        let note = try XCTUnwrap(notes.first)
        XCTAssertTrue(note.contains("worker 0"), note)
        XCTAssertTrue(note.contains("Shakedown's executor (PCT, seed \(Seed(4).derived(for: 0).value), 1 thread)"), note)
        // Five tasks queued behind the blocker; how many reached their sleep depends on the drawn order.
        XCTAssertTrue(note.contains(" sleeping, 1 running"), note)
        XCTAssertTrue(note.contains("waiting: task "), note)
        XCTAssertTrue(note.contains("sleeping, due in"), note)
        XCTAssertTrue(note.contains("PCT priority"), note)
        XCTAssertTrue(note.contains("on the executor's thread"), note)
        XCTAssertTrue(note.contains("blocked in"), note)
        XCTAssertTrue(note.contains("stops every other job"), note)
        XCTAssertTrue(note.contains("waits for the round's task"), note)
        XCTAssertTrue(run.hang?.compactText.contains(note) ?? false)
    }

    /// A continuation never resumed: nothing ready, nothing running — the report says what that means.
    func testNeverResumedContinuationIsReportedAsNothingReady() throws {
        let run = try Shake.fork(processes: 1, timeout: .seconds(2)) { _ in
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
        }
        XCTAssertTrue(run.timedOut, run.summary)
        let note = try XCTUnwrap(run.hang?.asyncNotes.first, run.summary)
        XCTAssertTrue(note.contains("0 jobs ready, 0 sleeping, 0 running"), note)
        XCTAssertTrue(note.contains("a continuation never resumed"), note)
    }

    /// Code in the body installs its own global hook: the round fails naming it (not a silent wrong order), and
    /// when the body hangs because of it, the hang report says the hook was replaced.
    func testHookReplacedByTheBodyIsNamed() throws {
        let finished = try Shake.fork(processes: 1, timeout: .seconds(20)) { _ in
            await Task.yield()
            let hooks = try RuntimeHooks.locate()
            hooks.enqueueGlobal.pointee = { job, original in original(job) }
        }
        let message = "\(finished.workers.first?.outcome as Any)"
        XCTAssertTrue(message.contains("replaced swift_task_enqueueGlobal_hook"), message)
        // A hook that keeps jobs for a queue of its own that nobody drains (as a serial test executor might).
        let hung = try Shake.fork(processes: 1, timeout: .seconds(2)) { _ in
            let hooks = try RuntimeHooks.locate()
            hooks.enqueueGlobal.pointee = { _, _ in }
            await Task.detached { await Task.yield() }.value
        }
        XCTAssertTrue(hung.timedOut, hung.summary)
        let note = try XCTUnwrap(hung.hang?.asyncNotes.first, hung.summary)
        XCTAssertTrue(note.contains("swift_task_enqueueGlobal_hook was replaced"), note)
    }

    /// In-process: a body that replaces the hook makes the run throw, and the hooks are free afterwards.
    func testInProcessRunRefusesABodyThatReplacedTheHook() throws {
        XCTAssertThrowsError(try SeededExecutor.run(.seeded(Seed(2))) {
            let hooks = try RuntimeHooks.locate()
            hooks.enqueueGlobal.pointee = { job, original in original(job) }
        }) { error in
            XCTAssertEqual(error as? AsyncExecutorError, .hookReplaced("swift_task_enqueueGlobal_hook"))
        }
        XCTAssertEqual(try SeededExecutor.run(.fifo) { 9 }.value, 9)
    }
}
