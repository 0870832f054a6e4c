#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Shakedown
import XCTest

/// Deadlocks named over locks that are not Shakedown's: real fixtures, real ptrace, real /proc.
final class LockGraphTests: XCTestCase {
    private var shakedown: String { Fixtures.path("shakedown") }

    /// Captures `pids` together until a deadlock shows (the fixtures reach it within milliseconds; the bound is
    /// for a loaded machine).
    private func deadlock(_ pids: [Int32]) throws -> ([ProcessSnapshot], DeadlockAnalysis) {
        let inspector = HangInspector()
        return try eventually("the deadlock forms") { () -> ([ProcessSnapshot], DeadlockAnalysis)? in
            let snapshots = try inspector.captureAll(pids: pids).map { try $0.result.get() }
            let analysis = DeadlockAnalysis(snapshots: snapshots)
            return analysis.deadlocks.isEmpty ? nil : (snapshots, analysis)
        }
    }

    func testPthreadABBAInOneProcessIsNamedWithItsGlobals() throws {
        let fixture = try startFixture("pthread-abba")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let (_, analysis) = try deadlock([pid])
        XCTAssertEqual(analysis.deadlocks.count, 1, analysis.explanation)
        let cycle = try XCTUnwrap(analysis.deadlocks.first)
        XCTAssertEqual(cycle.waits.count, 2)
        XCTAssertEqual(Set(cycle.waits.map(\.lockKind)), [.pthreadMutex])
        XCTAssertEqual(Set(cycle.waits.map(\.mutex)), ["pthread mutex `pthread_abba.ledger`", "pthread mutex `pthread_abba.accounts`"])
        XCTAssertTrue(cycle.waits.allSatisfy { $0.waiter.pid == pid && $0.owner.pid == pid })
        XCTAssertEqual(Set(cycle.waits.map(\.waiter)), Set(cycle.waits.map(\.owner)), "each waiter holds what the other wants")
        let text = analysis.explanation
        XCTAssertTrue(text.hasPrefix("Found one deadlock (2 threads):"), text)
        XCTAssertTrue(text.contains("(pthread_abba.moveLedgerToAccounts at main.swift:"), text)
        XCTAssertTrue(text.contains("(pthread_abba.moveAccountsToLedger at main.swift:"), text)
        XCTAssertEqual(kill(pid, 0), 0, "the process keeps running")
    }

    func testNSLockABBAIsACycle() throws {
        let fixture = try startFixture("nslock-abba")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let (_, analysis) = try deadlock([pid])
        let cycle = try XCTUnwrap(analysis.deadlocks.first)
        XCTAssertEqual(analysis.deadlocks.count, 1, analysis.explanation)
        XCTAssertEqual(Set(cycle.waits.map(\.lockKind)), [.pthreadMutex], "NSLock is a pthread mutex")
        let text = analysis.explanation
        XCTAssertTrue(text.contains("reserveInventoryThenOrder at main.swift:"), text)
        XCTAssertTrue(text.contains("placeOrderThenReserve at main.swift:"), text)
    }

    func testProcessSharedMutexABBABetweenTwoProcesses() throws {
        let fixture = try startFixture("pshared-abba")
        let pids = try fixture.readPIDs()
        addTeardownBlock { for pid in pids { kill(pid, SIGKILL) } }
        XCTAssertEqual(pids.count, 2)
        let (snapshots, analysis) = try deadlock(pids)
        let cycle = try XCTUnwrap(analysis.deadlocks.first)
        XCTAssertEqual(Set(cycle.waits.map(\.waiter.pid)), Set(pids), analysis.explanation)
        XCTAssertEqual(Set(cycle.waits.map(\.owner.pid)), Set(pids))
        // The mutexes live in memory both processes map: each process names them by the same identity.
        let identities = snapshots.flatMap { $0.threads.compactMap(\.waitsFor?.identity) }
        XCTAssertTrue(identities.allSatisfy { $0.hasPrefix("dev ") }, "\(identities)")
        XCTAssertEqual(Set(analysis.graph.edges.map(\.lockIdentity)).count, 2)
    }

    func testFlockABBABetweenParentAndChildIsFoundThroughTheParent() throws {
        let fixture = try startFixture("flock-abba")
        let pids = try fixture.readPIDs()
        addTeardownBlock { for pid in pids { kill(pid, SIGKILL) } }
        let parent = try XCTUnwrap(pids.first)
        struct Output: Decodable {
            var processes: [ProcessSnapshot]
            var deadlock: DeadlockAnalysis
        }
        let (decoded, exitCode) = try eventually("diagnose sees the flock cycle") { () -> (Output, CInt)? in
            let (output, exitCode) = try run(shakedown, ["diagnose", "--json", "\(parent)"])
            let decoded = try JSONDecoder().decode(Output.self, from: Data(output.utf8))
            return decoded.deadlock.deadlocks.isEmpty ? nil : (decoded, exitCode)
        }
        XCTAssertEqual(exitCode, 1)
        XCTAssertEqual(decoded.processes.map(\.pid), pids, "the child was taken in as a descendant")
        let cycle = try XCTUnwrap(decoded.deadlock.deadlocks.first)
        XCTAssertEqual(Set(cycle.waits.map(\.lockKind)), [.fileLock])
        XCTAssertEqual(Set(cycle.waits.map(\.waiter.pid)), Set(pids))
        XCTAssertTrue(cycle.waits.allSatisfy { $0.mutex.contains("flock /tmp/shakedown-flock-abba-") }, cycle.explanation)
        XCTAssertTrue(decoded.processes.allSatisfy { $0.threads.first?.systemCall?.name == "flock" })

        let alone = try run(shakedown, ["diagnose", "--no-children", "\(parent)"])
        XCTAssertEqual(alone.exitCode, 0, "without the child there is no cycle to see: \(alone.output)")
    }

    func testARwlockWriterAndAMutexFormACycle() throws {
        let fixture = try startFixture("rwlock-cycle")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let (_, analysis) = try deadlock([pid])
        let cycle = try XCTUnwrap(analysis.deadlocks.first)
        XCTAssertEqual(analysis.deadlocks.count, 1, analysis.explanation)
        XCTAssertEqual(Set(cycle.waits.map(\.mutex)), ["pthread mutex `rwlock_cycle.audit`", "pthread rwlock `rwlock_cycle.catalog`"])
        XCTAssertEqual(Set(cycle.waits.map(\.lockKind)), [.pthreadMutex, .rwlock])
    }

    func testAPidGivenTwiceIsCapturedOnce() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let results = HangInspector().captureAll(pids: [pid, pid])
        XCTAssertEqual(results.map(\.pid), [pid])
        let (output, exitCode) = try run(shakedown, ["diagnose", "\(pid)", "\(pid)"])
        XCTAssertEqual(exitCode, 0, output)
        XCTAssertEqual(output.components(separatedBy: "Process \(pid):").count, 2, output)
    }

    func testShakedownMutexABBAIsOneCycleOnceThroughRecordsAndFutexWords() throws {
        let fixture = try startFixture("abba-deadlock")
        let pids = try fixture.readPIDs()
        addTeardownBlock { for pid in pids { kill(pid, SIGKILL) } }
        let (_, analysis) = try deadlock(pids)
        XCTAssertEqual(analysis.deadlocks.count, 1, analysis.explanation)
        let cycle = try XCTUnwrap(analysis.deadlocks.first)
        XCTAssertEqual(Set(cycle.waits.map(\.lockKind)), [.shakedownMutex])
        XCTAssertEqual(Set(cycle.waits.map(\.mutex)), ["accounts", "ledger"])
    }

    func testNoCycleOnALockWhoseOwnerIsRunning() throws {
        let fixture = try startFixture("lock-owner", ["running"])
        let ids = try fixture.readPIDs()
        let (pid, owner) = (ids[0], try XCTUnwrap(ids.dropFirst().first))
        let snapshot = try eventually("the waiter blocks on the mutex") { () -> ProcessSnapshot? in
            let snapshot = try HangInspector().capture(pid: pid)
            return snapshot.threads.contains { $0.waitsFor?.kind == .pthreadMutex } ? snapshot : nil
        }
        let wait = try XCTUnwrap(snapshot.threads.compactMap(\.waitsFor).first { $0.kind == .pthreadMutex })
        XCTAssertEqual(wait.owners, [.thread(id: ThreadID(pid: pid, tid: owner))])
        XCTAssertEqual(wait.symbol, "lock_owner.cache")
        let analysis = DeadlockAnalysis(snapshots: [snapshot])
        XCTAssertTrue(analysis.deadlocks.isEmpty, analysis.explanation)
        XCTAssertTrue(analysis.explanation.hasPrefix("No deadlock"), analysis.explanation)
        let (output, exitCode) = try run(shakedown, ["diagnose", "\(pid)"])
        XCTAssertEqual(exitCode, 0, output)
    }

    func testAnOwnerThatExitedIsOwnerGoneNotACycle() throws {
        let fixture = try startFixture("lock-owner", ["gone"])
        let ids = try fixture.readPIDs()
        let (pid, owner) = (ids[0], try XCTUnwrap(ids.dropFirst().first))
        let snapshot = try eventually("the main thread blocks on the abandoned mutex") { () -> ProcessSnapshot? in
            let snapshot = try HangInspector().capture(pid: pid)
            return snapshot.threads.first?.waitsFor?.owners.isEmpty == false ? snapshot : nil
        }
        XCTAssertEqual(snapshot.threads.first?.waitsFor?.owners, [.gone(tid: owner)])
        let analysis = DeadlockAnalysis(snapshots: [snapshot])
        XCTAssertTrue(analysis.deadlocks.isEmpty)
        XCTAssertEqual(analysis.ownerGone.count, 1)
        XCTAssertTrue(analysis.explanation.contains("thread \(owner), which no longer exists (owner gone)"), analysis.explanation)
    }
}
