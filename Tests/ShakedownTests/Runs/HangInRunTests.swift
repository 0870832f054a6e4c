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

    /// The peers of a hung worker are stopped at the deadline, before any is killed: killing worker 0 makes its
    /// robust mutex owner-dead, and before the freeze worker 1 then took it and ran on after the deadline. The
    /// SIGTERM of a graceful teardown stays pending on a stopped process, so the wait before SIGKILL is skipped.
    func testHungWorkersRunNoCodeAfterTheDeadline() throws {
        let afterDeadline = try SharedCounter()
        let teardown = try Teardown([.signal(.terminate), .wait(.seconds(20))])
        for attempt in 0..<8 {
            let accounts = try ProcessMutex(name: "accounts")
            let ledger = try ProcessMutex(name: "ledger")
            let both = try ProcessBarrier(parties: 2)
            var configuration = RunConfiguration(processes: 2, timeout: .milliseconds(300), jitter: .none, teardown: teardown)
            // Without a capture nothing else holds the workers between the deadline and the kill.
            configuration.diagnosesHangs = attempt.isMultiple(of: 2)
            let run = try assertLeavesNothingBehind {
                try Shake.fork(configuration) { worker in
                    if worker.index == 0 {
                        try moveFromAccountsToLedger(accounts, ledger, both)
                    } else {
                        // Code with its own SIGTERM handling outlives the first teardown signal.
                        signal(SIGTERM, SIG_IGN)
                        try moveFromLedgerToAccounts(accounts, ledger, both)
                    }
                    _ = afterDeadline.increment()
                }
            }
            XCTAssertEqual(run.hungWorkers.count, 2, run.summary)
            XCTAssertEqual(afterDeadline.value, 0, "attempt \(attempt): a hung worker ran on after the deadline\n\(run.summary)")
            XCTAssertLessThan(run.duration, .seconds(12), "the teardown waited for SIGTERM on stopped processes")
        }
    }

    func testNoDiagnosisWhenDisabled() throws {
        var configuration = RunConfiguration(processes: 1, timeout: .milliseconds(300), jitter: .none)
        configuration.diagnosesHangs = false
        let run = try Shake.fork(configuration) { _ in while true { pause() } }
        XCTAssertEqual(run.hungWorkers.count, 1)
        XCTAssertNil(run.hang)
    }
}
