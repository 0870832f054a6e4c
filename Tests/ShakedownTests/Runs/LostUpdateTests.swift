import XCTest
@testable import Shakedown

/// The core promise: an unlocked counter visibly loses updates under jitter; a locked or atomic one never does.
final class LostUpdateTests: XCTestCase {
    private let processes = 4
    private let rounds = 300

    func testUnlockedCounterLosesUpdatesUnderJitter() throws {
        let counter = try SharedCounter("unlocked")
        // With sleeps between read and write, each round loses an update unless all four increments happen to
        // serialize; measured: 994 of 1,000 rounds lose. The chance that all 300 rounds keep every update is
        // below 10^-600.
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: processes, rounds: rounds, timeout: .seconds(120), jitter: .sleepy,
                               observing: [counter]) { _ in counter.racyIncrement() }
        }
        XCTAssertTrue(run.isClean, run.summary)
        let verdict = run.verdict(for: counter, expected: Int64(processes * rounds))
        XCTAssertGreaterThan(verdict.lost, 0, verdict.description)
        XCTAssertGreaterThan(verdict.lostPercentage, 0)
        let observation = try XCTUnwrap(run.observation(of: counter))
        XCTAssertEqual(observation.rounds, rounds, "one outcome per round")
        XCTAssertEqual(observation.histogram.reduce(0) { $0 + Int64($1.rounds) * $1.increment }, verdict.observed,
                       "the per-round increments add up to the final value")
        XCTAssertTrue(observation.histogram.contains { $0.increment < Int64(processes) }, observation.histogramLines.joined())
        XCTAssertTrue(verdict.description.contains("lost"), verdict.description)
        XCTAssertTrue(verdict.description.contains(run.seed.replayHint), verdict.description)
    }

    func testLockedCounterNeverLosesUpdates() throws {
        let counter = try SharedCounter("locked")
        let lock = try ProcessMutex(name: "counter lock")
        let run = try assertLeavesNothingBehind {
            try Shake.fork(processes: processes, rounds: rounds, timeout: .seconds(120), jitter: .sleepy,
                               observing: [counter]) { _ in
                try lock.withLock { counter.racyIncrement() }
            }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(run.verdict(for: counter, expected: Int64(processes * rounds)).lost, 0)
        XCTAssertEqual(run.observation(of: counter)?.histogram, [.init(increment: Int64(processes), rounds: rounds)])
        XCTAssertEqual(lock.ownerDeaths, 0)
    }

    func testAtomicCounterNeverLosesUpdates() throws {
        let counter = try SharedCounter("atomic")
        let run = try Shake.fork(processes: processes, rounds: 500, timeout: .seconds(120), jitter: .yieldOnly,
                                     observing: [counter]) { _ in
            counter.increment()
            Jitter.point()
            counter.increment()
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(counter.value, Int64(processes * 500 * 2))
    }

    func testCountersCanBeObservedTogether() throws {
        let racy = try SharedCounter("racy")
        let atomic = try SharedCounter("atomic")
        let run = try Shake.fork(processes: 2, rounds: 100, jitter: .sleepy, observing: [racy, atomic]) { _ in
            racy.racyIncrement()
            atomic.increment()
        }
        XCTAssertEqual(run.observations.map(\.name), ["racy", "atomic"])
        XCTAssertEqual(run.observation(of: atomic)?.histogram, [.init(increment: 2, rounds: 100)])
    }
}
