#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 12, piece 4: a Codable value shared by processes, updated atomically.
final class SharedObjectTests: XCTestCase {
    struct Inventory: Codable, Equatable {
        var counts: [String: Int] = [:]
        var log: [String] = []
    }

    func testConcurrentUpdatesFromManyProcessesAreNeverLost() throws {
        let shared = try SharedObject(Inventory())
        let report = try assertLeavesNothingBehind {
            try Shake.fork(processes: 4, rounds: 50, timeout: .seconds(60)) { worker in
                try shared.update { inventory in
                    inventory.counts["w\(worker.index)", default: 0] += 1
                    inventory.counts["total", default: 0] += 1
                    Jitter.point()  // widen the window: without the lock this loses updates
                    inventory.log.append("\(worker.index).\(worker.round)")
                }
            }
        }
        XCTAssertTrue(report.isClean, report.summary)
        let final = try shared.read()
        XCTAssertEqual(final.counts["total"], 200)
        XCTAssertEqual((0..<4).map { final.counts["w\($0)"] }, [50, 50, 50, 50])
        XCTAssertEqual(final.log.count, 200)
        XCTAssertEqual(Set(final.log).count, 200)
        XCTAssertEqual(shared.updates, 200)
    }

    func testAProcessKilledMidUpdateLeavesThePreviousValue() throws {
        let shared = try SharedObject([1, 2, 3])
        let child = try ForkedChild {
            try shared.update { list in
                list.append(4)
                Glibc.kill(getpid(), SIGKILL)  // dies holding the lock, before the commit
            }
        }
        XCTAssertEqual(try child.join(timeout: .seconds(10)), .signaled(.kill))
        XCTAssertEqual(try shared.read(), [1, 2, 3])
        XCTAssertEqual(shared.lockOwnerDeaths, 1)
        try shared.update { $0.append(5) }
        XCTAssertEqual(try shared.read(), [1, 2, 3, 5])
    }

    func testSizeLimitIsStatedAndEnforced() throws {
        let shared = try SharedObject([String](), maximumBytes: 100)
        try shared.update { $0.append("short") }
        XCTAssertThrowsError(try shared.update { $0.append(String(repeating: "x", count: 200)) }) { error in
            XCTAssertTrue("\(error)".contains("maximumBytes limit of 100 bytes"), "\(error)")
        }
        XCTAssertEqual(try shared.read(), ["short"], "a refused update changes nothing")
        XCTAssertThrowsError(try SharedObject(String(repeating: "y", count: 200), maximumBytes: 100))
        XCTAssertThrowsError(try SharedObject(0, maximumBytes: 0))
        XCTAssertEqual(shared.updates, 1)
    }
}
