import Foundation
import Inventory
import Shakedown
import ShakedownXCTest
import XCTest

/// Four processes restock the same item once per round; after every round a judge reads the row. A round whose
/// count did not rise by exactly 4 lost an update: a forbidden outcome. No jitter point is added to the library.
final class InventoryRaceTests: XCTestCase {
    private var path = ""

    override func setUp() {
        path = NSTemporaryDirectory() + "inventory-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).sqlite"
    }

    override func tearDown() {
        for suffix in ["", "-journal", "-wal", "-shm"] { unlink(path + suffix) }
    }

    /// Runs 4 workers × `rounds`, each opening its own connection after the fork (WorkerLifecycle.setUp).
    private func restockRun(rounds: Int, restock: @escaping (Inventory) throws -> Void) throws -> RunReport {
        let path = self.path
        _ = try Inventory(path: path)  // creates the table once, before the workers race to do it
        nonisolated(unsafe) var connection: Inventory?
        let judge = RoundJudge<Int>(
            reset: { _ in try Inventory(path: path).setCount(of: "widget", to: 0) },
            outcome: { _ in try Inventory(path: path).count(of: "widget") },
            grades: [4: .acceptable],
            stopsAtFirstForbidden: false)
        return try Shake.fork(
            RunConfiguration(processes: 4, rounds: rounds, timeout: .seconds(120), jitter: .none),
            lifecycle: WorkerLifecycle(setUp: { _ in connection = try Inventory(path: path) }),
            judge: judge
        ) { worker in
            guard let connection else { return worker.fail("no connection") }
            try restock(connection)
        }
    }

    func testReadThenWriteLosesUpdates() throws {
        let run = try restockRun(rounds: 400) { try $0.restockReadThenWrite("widget", by: 1) }
        XCTAssertOutcomeSeen(.forbidden, in: run)
        XCTAssertTrue(run.workers.allSatisfy { $0.outcome == .completed }, run.summary)
    }

    func testOneTransactionNeverDoes() throws {
        let run = try restockRun(rounds: 400) { try $0.restock("widget", by: 1) }
        XCTAssertNoForbiddenOutcomes(run)
        XCTAssertClean(run)
        XCTAssertEqual(run.outcomes.map(\.outcome), ["4"])
    }
}
