#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

final class SeedTests: XCTestCase {
    private func digests(seed: Seed) throws -> [UInt64?] {
        let counter = try SharedCounter()
        let run = try Shake.fork(processes: 3, rounds: 50, jitter: .default, seed: seed, observing: [counter]) { _ in
            counter.racyIncrement()
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(run.seed, seed)
        XCTAssertEqual(run.workers.map(\.jitterPoints), [50, 50, 50])
        return run.workers.map(\.jitterDigest)
    }

    func testTheSameSeedMakesTheSameJitterDecisions() throws {
        let first = try digests(seed: Seed(42))
        let second = try digests(seed: Seed(42))
        XCTAssertEqual(first, second)
        XCTAssertEqual(Set(first).count, 3, "each worker draws its own stream")
        XCTAssertNotEqual(try digests(seed: Seed(43)), first)
    }

    func testSeedEnvironmentVariableIsUsedWhenNoSeedIsGiven() throws {
        let restore = replaceEnvironment(Seed.environmentVariable, with: "0x2a")
        defer { restore() }
        let run = try Shake.fork(processes: 1, jitter: .none) { _ in }
        XCTAssertEqual(run.seed, Seed(42))
        XCTAssertTrue(run.summary.contains("SHAKEDOWN_SEED=42"), run.summary)
    }

    func testGarbageSeedEnvironmentVariableIsRejected() {
        let restore = replaceEnvironment(Seed.environmentVariable, with: "forty-two")
        defer { restore() }
        XCTAssertThrowsError(try Shake.fork(processes: 1) { _ in }) { error in
            XCTAssertEqual(error as? ShakedownError,
                           .invalidArgument("SHAKEDOWN_SEED", "not a decimal or 0x-hexadecimal number: \"forty-two\""))
        }
    }

    func testJitterSourceIsDeterministicAndDisabledPlanDoesNothing() throws {
        let a = JitterSource(plan: .yieldOnly, seed: Seed(7))
        let b = JitterSource(plan: .yieldOnly, seed: Seed(7))
        for _ in 0..<100 { a.point(); b.point() }
        XCTAssertEqual(a.digest, b.digest)
        XCTAssertEqual(a.actions, 100)
        let off = JitterSource(plan: .none, seed: Seed(7))
        for _ in 0..<100 { off.point() }
        XCTAssertEqual(off.points, 0)
        let half = JitterSource(plan: try JitterPlan(probability: 0.5), seed: Seed(9))
        for _ in 0..<1_000 { half.point() }
        XCTAssertEqual(half.points, 1_000)
        XCTAssertTrue((300...700).contains(half.actions), "\(half.actions) of 1,000 points acted at p = 0.5")
    }

    func testJitterPlanRejectsBadValues() {
        XCTAssertThrowsError(try JitterPlan(probability: 1.5))
        XCTAssertThrowsError(try JitterPlan(probability: -0.1))
        XCTAssertThrowsError(try JitterPlan(probability: 1, yieldWeight: 0, sleepWeight: 0, spinWeight: 0))
        XCTAssertThrowsError(try JitterPlan(probability: 1, maximumSleep: .zero))
        XCTAssertEqual(JitterPlan(encoded: JitterPlan.default.encoded), .default)
        XCTAssertNil(JitterPlan(encoded: "1,2,3"))
    }
}

/// Sets an environment variable and returns what puts back its previous value: a seed the user exported to
/// replay a run must survive these tests.
func replaceEnvironment(_ name: String, with value: String) -> () -> Void {
    let previous = getenv(name).map { String(cString: $0) }
    setenv(name, value, 1)
    return {
        if let previous { setenv(name, previous, 1) } else { unsetenv(name) }
    }
}
