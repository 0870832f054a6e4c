#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// `Shard`: the split of repetitions and rounds, and what a library run does under `SHAKEDOWN_SHARD`.
final class ShardTests: XCTestCase {
    func testBlocksAreDisjointCoverEverythingAndDifferByAtMostOne() throws {
        for total in [0, 1, 2, 3, 7, 10, 11, 100, 1_001] {
            for count in 1...7 {
                let blocks = try (1...count).map { try Shard(index: $0, count: count).range(of: total) }
                XCTAssertEqual(blocks.flatMap { Array($0) }, Array(0..<total), "\(total) in \(count)")
                let sizes = blocks.map(\.count)
                XCTAssertLessThanOrEqual((sizes.max() ?? 0) - (sizes.min() ?? 0), 1, "\(total) in \(count): \(sizes)")
                XCTAssertEqual(sizes, sizes.sorted(by: >), "larger blocks first")
            }
        }
        XCTAssertEqual(try Shard(index: 2, count: 3).range(of: 3_000), 1_000..<2_000)
        // No overflow at the extremes.
        XCTAssertEqual(try Shard(index: 1_000_000, count: 1_000_000).range(of: Int.max).upperBound, Int.max)
    }

    func testBadShardsAreTypedErrorsNamingTheRange() {
        for text in ["0/3", "4/3", "1/0", "-1/3", "3", "a/b", "", "1/2/3", "1/99999999999999999999", "1/1000001"] {
            XCTAssertThrowsError(try Shard(parsing: text, name: "SHAKEDOWN_SHARD"), text) { error in
                guard let error = error as? ShakedownError, error.code == .invalidArgument,
                      let name = error.argumentName, let reason = error.reason else {
                    return XCTFail("\(text): \(error)")
                }
                XCTAssertEqual(name, "SHAKEDOWN_SHARD")
                XCTAssertTrue(reason.contains("1 ≤ i ≤ n") || reason.contains("1...1000000"), reason)
            }
        }
        XCTAssertEqual(try Shard(parsing: " 2/3 "), try Shard(index: 2, count: 3))
    }

    /// Worker jitter digests and rounds of a closure run.
    private func run(rounds: Int, seed: Seed?) throws -> RunReport {
        let counter = try SharedCounter()
        return try Shake.fork(processes: 2, rounds: rounds, jitter: .default, seed: seed, observing: [counter]) { _ in
            counter.racyIncrement()
        }
    }

    func testALibraryRunUnderShakedownShardRunsItsBlockOfRoundsWithItsShardSeed() throws {
        let restore = replaceEnvironment(Shard.environmentVariable, with: "2/3")
        let sharded: RunReport
        do {
            defer { restore() }
            sharded = try run(rounds: 10, seed: Seed(42))
        }
        // 10 rounds in 3 shards: 4, 3, 3. Shard 2 runs 3, with the seed of repetition 1 of 42.
        XCTAssertEqual(sharded.configuration.rounds, 3)
        XCTAssertEqual(sharded.observations.first?.rounds, 3)
        XCTAssertEqual(sharded.observations.first.map { $0.histogram.reduce(0) { $0 + $1.rounds } }, 3)
        XCTAssertEqual(sharded.seed, Seed(42).repetition(1))
        XCTAssertTrue(sharded.isClean, sharded.summary)
        let note = try XCTUnwrap(sharded.notes.first { $0.hasPrefix("shard 2/3") }, "\(sharded.notes)")
        XCTAssertTrue(note.contains("rounds 4..<7 of 10") && note.contains("SHAKEDOWN_SHARD=2/3 SHAKEDOWN_SEED=42"), note)
        // Exactly the run that seed gives without sharding: the same jitter decisions in every worker.
        let plain = try run(rounds: 3, seed: Seed(42).repetition(1))
        XCTAssertEqual(sharded.workers.map(\.jitterDigest), plain.workers.map(\.jitterDigest))
        XCTAssertNotNil(sharded.workers.first?.jitterDigest)
    }

    func testShardOneKeepsTheSeedAndASmallRunIsNotCut() throws {
        var restore = replaceEnvironment(Shard.environmentVariable, with: "1/3")
        let first: RunReport
        do {
            defer { restore() }
            first = try run(rounds: 10, seed: Seed(42))
        }
        XCTAssertEqual(first.seed, Seed(42))
        XCTAssertEqual(first.configuration.rounds, 4)
        restore = replaceEnvironment(Shard.environmentVariable, with: "3/3")
        let small: RunReport
        do {
            defer { restore() }
            small = try run(rounds: 2, seed: Seed(42))
        }
        XCTAssertEqual(small.configuration.rounds, 2, "fewer rounds than shards: every shard runs them all")
        XCTAssertEqual(small.seed, Seed(42).repetition(2))
        XCTAssertTrue(small.notes.contains { $0.contains("not cut") }, "\(small.notes)")
    }

    func testInvalidShakedownShardIsATypedErrorBeforeAnythingIsForked() throws {
        for value in ["0/2", "3/2", "half", "1/"] {
            let restore = replaceEnvironment(Shard.environmentVariable, with: value)
            defer { restore() }
            XCTAssertThrowsError(try Shake.fork(processes: 1) { _ in }, value) { error in
                guard let error = error as? ShakedownError, error.code == .invalidArgument, let name = error.argumentName else {
                    return XCTFail("\(value): \(error)")
                }
                XCTAssertEqual(name, "SHAKEDOWN_SHARD")
            }
        }
        // Unset or empty: an ordinary run.
        let restore = replaceEnvironment(Shard.environmentVariable, with: "")
        defer { restore() }
        let report = try run(rounds: 5, seed: Seed(1))
        XCTAssertEqual(report.configuration.rounds, 5)
        XCTAssertEqual(report.seed, Seed(1))
    }
}
