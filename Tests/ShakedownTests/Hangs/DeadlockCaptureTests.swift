#if canImport(Glibc)
import Glibc
#endif
import Shakedown
import XCTest

/// ABBA across two processes, and its fixed twin, captured for real.
final class DeadlockCaptureTests: XCTestCase {
    func testABBADeadlockIsFoundNamingBothMutexesAndBothFunctions() throws {
        let fixture = try startFixture("abba-deadlock")
        let pids = try fixture.readPIDs()
        XCTAssertEqual(pids.count, 2)
        addTeardownBlock { for pid in pids { kill(pid, SIGKILL) } }
        let labels = [pids[0]: "worker 1", pids[1]: "worker 2"]
        let inspector = HangInspector()

        // Each process blocks in its second lock moments after printing; capture until both are seen waiting
        // in their own snapshots too (the processes are captured one after the other, not at one instant).
        let (snapshots, analysis) = try eventually("both processes wait for each other") {
            () -> ([ProcessSnapshot], DeadlockAnalysis)? in
            let snapshots = try pids.map { try inspector.capture(pid: $0) }
            let analysis = DeadlockAnalysis(snapshots: snapshots, labels: labels)
            let settled = snapshots.allSatisfy { $0.threads.first?.frames.contains { $0.function == "shakedown_mutex_lock" } == true }
            return analysis.deadlocks.isEmpty || !settled ? nil : (snapshots, analysis)
        }

        XCTAssertEqual(analysis.deadlocks.count, 1)
        XCTAssertEqual(analysis.mutexes.count, 2, "one memfd mapped by two processes is one mutex")
        XCTAssertEqual(Set(analysis.mutexes.map(\.name)), ["accounts", "ledger"])
        let explanation = analysis.explanation
        for expected in ["`accounts`", "`ledger`", "transferFromAccountsToLedger", "transferFromLedgerToAccounts",
                         "worker 1 / thread \(pids[0])", "worker 2 / thread \(pids[1])"] {
            XCTAssertTrue(explanation.contains(expected), "missing \(expected) in:\n\(explanation)")
        }
        let deadlock = try XCTUnwrap(analysis.deadlocks.first)
        XCTAssertEqual(Set(deadlock.waits.map(\.waiter.pid)), Set(pids))
        XCTAssertEqual(Set(deadlock.waits.map(\.mutex)), ["accounts", "ledger"])
        XCTAssertTrue(analysis.abandonedMutexes.isEmpty)

        for snapshot in snapshots {
            let thread = try XCTUnwrap(snapshot.threads.first)
            XCTAssertEqual(thread.state, .sleeping, "a thread blocked on a mutex sleeps")
            XCTAssertEqual(thread.systemCall?.name, "futex")
            let functions = thread.frames.compactMap(\.function)
            XCTAssertTrue(functions.contains { $0.contains("pthread_mutex_lock") || $0.contains("__lll_lock_wait") || $0.contains("futex") },
                          "glibc frames should have their real names: \(functions)")
            XCTAssertTrue(functions.contains("shakedown_mutex_lock"), "\(functions)")
            let transfer = try XCTUnwrap(thread.frames.first { $0.function?.contains("transferFrom") == true })
            XCTAssertTrue(transfer.function?.hasPrefix("abba_deadlock.transferFrom") == true,
                          "Swift names are demangled: \(transfer.function ?? "nil")")
            #if DEBUG
            XCTAssertEqual(transfer.file.map { URL(fileURLWithPath: $0).lastPathComponent }, "main.swift")
            XCTAssertTrue(transfer.file?.contains("abba-deadlock") == true)
            XCTAssertNotNil(transfer.line)
            #endif
            XCTAssertEqual(thread.firstUserFrame?.function, transfer.function)
        }

        // Capture leaves them running (deadlocked, but not stopped by us).
        for pid in pids {
            XCTAssertEqual(kill(pid, 0), 0)
            let states = try eventually("pid \(pid) leaves its ptrace stop") { () -> [pid_t: String]? in
                let states = threadStates(pid)
                return states.values.allSatisfy { $0 == "S" } ? states : nil
            }
            XCTAssertFalse(states.isEmpty)
        }

        let text = SnapshotRenderer().render(snapshots, analysis: analysis, labels: labels)
        XCTAssertTrue(text.hasPrefix("Found one deadlock (2 threads):\n  worker"), text)
        XCTAssertTrue(text.contains("stuck in abba_deadlock.transferFrom"), text)
    }

    func testOrderedLocksTwinFinishes() throws {
        let fixture = try startFixture("ordered-locks")
        let pids = try fixture.readPIDs()
        XCTAssertEqual(pids.count, 2)
        XCTAssertEqual(try fixture.readLine(), "done")
        let status = try fixture.waitForExit()
        XCTAssertEqual(status, 0, "both processes completed all transfers")
    }

    func testOrderedLocksShowIdleMutexesAndNoDeadlock() throws {
        let fixture = try startFixture("ordered-locks", ["--wait"])
        let pids = try fixture.readPIDs()
        addTeardownBlock { for pid in pids { kill(pid, SIGKILL) } }
        XCTAssertEqual(try fixture.readLine(), "done")
        let inspector = HangInspector()
        let snapshots = try pids.map { try inspector.capture(pid: $0) }
        let analysis = DeadlockAnalysis(snapshots: snapshots)
        XCTAssertTrue(analysis.deadlocks.isEmpty, analysis.explanation)
        XCTAssertEqual(analysis.mutexes.count, 2)
        for mutex in analysis.mutexes {
            XCTAssertNil(mutex.owner, "\(mutex.name) is unlocked")
            XCTAssertTrue(mutex.waiters.isEmpty)
            XCTAssertEqual(mutex.acquisitions, 2_000)
        }
        XCTAssertTrue(analysis.explanation.hasPrefix("No deadlock among 2 Shakedown mutexes"), analysis.explanation)
    }
}
