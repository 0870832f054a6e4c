#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// A run that freezes is captured at its deadline — every thread, demangled, with the deadlock in words — then
/// torn down.
final class HangInRunTests: XCTestCase {
    @inline(never)
    func moveFromAccountsToLedger(_ accounts: ProcessMutex, _ ledger: ProcessMutex, _ both: ProcessBarrier) throws {
        try accounts.lock()
        both.arriveAndWait()
        try ledger.lock()
    }

    @inline(never)
    func moveFromLedgerToAccounts(_ accounts: ProcessMutex, _ ledger: ProcessMutex, _ both: ProcessBarrier) throws {
        try ledger.lock()
        both.arriveAndWait()
        try accounts.lock()
    }

    func testDeadlockedWorkersAreDiagnosedThenKilled() throws {
        try ProcessChecks.warmUpHangCapture()
        let accounts = try ProcessMutex(name: "accounts")
        let ledger = try ProcessMutex(name: "ledger")
        let both = try ProcessBarrier(parties: 2)
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: 2, timeout: .seconds(2), jitter: .none) { worker in
                if worker.index == 0 {
                    try moveFromAccountsToLedger(accounts, ledger, both)
                } else {
                    try moveFromLedgerToAccounts(accounts, ledger, both)
                }
            }
        }
        XCTAssertEqual(run.hungWorkers.count, 2, run.summary)
        let hang = try XCTUnwrap(run.hang, run.summary)
        XCTAssertEqual(hang.snapshots.count, 2, hang.fullText)
        XCTAssertEqual(hang.analysis.deadlocks.count, 1, hang.fullText)
        let explanation = hang.analysis.explanation
        for expected in ["`accounts`", "`ledger`", "worker 0", "worker 1"] {
            XCTAssertTrue(explanation.contains(expected), "missing \(expected) in:\n\(explanation)")
        }
        XCTAssertTrue(hang.fullText.contains("moveFromAccountsToLedger"), hang.fullText)
        XCTAssertTrue(hang.fullText.contains("moveFromLedgerToAccounts"), hang.fullText)
        XCTAssertTrue(run.summary.contains("waits for"), run.summary)
        for worker in run.workers { XCTAssertFalse(ProcessChecks.exists(worker.pid)) }
        let path = try run.writeFullReport()
        defer { unlink(path) }
        XCTAssertTrue(ProcessTable.readSmallFile(path)?.contains("moveFromAccountsToLedger") ?? false)
    }

    func testNoDiagnosisWhenDisabled() throws {
        var configuration = RunConfiguration(processes: 1, timeout: .milliseconds(300), jitter: .none)
        configuration.diagnosesHangs = false
        let run = try Shake.fork(configuration) { _ in while true { pause() } }
        XCTAssertEqual(run.hungWorkers.count, 1)
        XCTAssertNil(run.hang)
    }
}
