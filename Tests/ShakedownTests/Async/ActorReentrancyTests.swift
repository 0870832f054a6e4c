import XCTest
@testable import Shakedown

/// The seeded executor finds the actor-reentrancy bug in far more runs than the runtime's own executor, and
/// never in its fixed twin.
final class ActorReentrancyTests: XCTestCase {
    private let runs = 200

    func testSeededExecutorFindsReentrancyFarMoreOftenThanDefaultExecutor() async throws {
        var defaultFinds = 0
        for _ in 0..<runs where await twoWithdrawals(reentrant: true) < 0 { defaultFinds += 1 }
        var seededFinds = 0
        var firstFinding: Seed?
        for index in 0..<runs {
            let seed = Seed(UInt64(index) &+ 1)
            let run = try SeededExecutor.run(.seeded(seed)) { await twoWithdrawals(reentrant: true) }
            if run.value < 0 {
                seededFinds += 1
                firstFinding = firstFinding ?? seed
            }
        }
        print("actor reentrancy: seeded executor found it in \(seededFinds)/\(runs) runs, default executor in "
              + "\(defaultFinds)/\(runs)")
        XCTAssertGreaterThanOrEqual(seededFinds, runs / 4)
        XCTAssertLessThan(defaultFinds * 3, seededFinds)
        // The finding replays from its seed.
        let seed = try XCTUnwrap(firstFinding)
        XCTAssertLessThan(try SeededExecutor.run(.seeded(seed)) { await twoWithdrawals(reentrant: true) }.value, 0)
    }

    func testFixedTwinIsNeverFound() throws {
        for index in 0..<runs {
            let run = try SeededExecutor.run(.seeded(Seed(UInt64(index) &+ 1))) { await twoWithdrawals(reentrant: false) }
            XCTAssertGreaterThanOrEqual(run.value, 0, "seed \(index + 1)")
        }
    }
}
