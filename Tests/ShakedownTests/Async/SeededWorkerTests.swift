import XCTest
@testable import Shakedown

private struct OrderSeen: Error, CustomStringConvertible {
    let order: [String]
    var description: String { "order \(order.joined(separator: ","))" }
}

/// Seeded scheduling inside forked workers: each worker's order comes from its derived seed, replays, and a
/// body's error names the seed and the decisions.
final class SeededWorkerTests: XCTestCase {
    private func messages(_ scheduling: SchedulingPolicy) throws -> [String] {
        let run = try Shake.fork(processes: 2, timeout: .seconds(30), seed: Seed(5), scheduling: scheduling) { _ in
            let log = OrderLog()
            await interleavedSteps(log)
            throw OrderSeen(order: log.order)
        }
        return try run.workers.map { worker in
            guard case let .threw(message) = worker.outcome else { throw OrderSeen(order: ["\(worker.outcome)"]) }
            return message
        }
    }

    func testSeededWorkersReplayTheirOrderAndNameTheirSeed() throws {
        let first = try messages(.seeded(Seed(9)))
        let again = try messages(.seeded(Seed(9)))
        let other = try messages(.seeded(Seed(10)))
        XCTAssertEqual(first, again)
        XCTAssertNotEqual(first, other)
        for (index, message) in first.enumerated() {
            XCTAssertTrue(message.contains("scheduling seed \(Seed(9).derived(for: index).value)"), message)
            XCTAssertTrue(message.contains("scheduling decisions"), message)
        }
        // The two workers drew from different seeds.
        XCTAssertNotEqual(first[0].prefix(while: { $0 != "(" }), first[1].prefix(while: { $0 != "(" }))
    }
}
