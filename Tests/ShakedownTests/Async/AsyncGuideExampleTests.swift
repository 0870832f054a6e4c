import Shakedown
import XCTest

// docs/guide.md, "Async code", and the DocC article "AsyncCode": the examples as XCTest async tests. If one stops
// compiling or passing, the docs are wrong.

/// Reads the balance before an `await` and writes it after: two withdrawals can both pass the check.
actor OverdrawingAccount {
    private(set) var balance = 100
    func withdraw(_ amount: Int) async -> Bool {
        guard balance >= amount else { return false }
        await Task.yield()  // a fraud check on another service
        balance -= amount
        return true
    }
}

/// The fix: reserve the money before suspending.
actor ReservingAccount {
    private(set) var balance = 100
    func withdraw(_ amount: Int) async -> Bool {
        guard balance >= amount else { return false }
        balance -= amount
        await Task.yield()
        return true
    }
}

final class AsyncGuideExampleTests: XCTestCase {
    /// In-process, no fork: each seed draws one interleaving of the two withdrawals and replays it.
    func testSeededExecutorFindsTheOverdraftAndReplaysIt() async throws {
        var overdrawn: Seed?
        for seed in 1...100 as ClosedRange<UInt64> {
            let run = try SeededExecutor.run(.seeded(Seed(seed))) { () async -> Int in
                let account = OverdrawingAccount()
                async let first = account.withdraw(60)
                async let second = account.withdraw(60)
                _ = await (first, second)
                return await account.balance
            }
            if run.value < 0 {
                overdrawn = run.seed
                break
            }
        }
        let seed = try XCTUnwrap(overdrawn, "no seed of 100 overdrew the account")
        // The same seed, the same order: the failure replays.
        let replay = try SeededExecutor.run(.seeded(seed)) { () async -> Int in
            let account = OverdrawingAccount()
            async let first = account.withdraw(60)
            async let second = account.withdraw(60)
            _ = await (first, second)
            return await account.balance
        }
        XCTAssertEqual(replay.value, -20, "seed \(replay.seed), \(replay.decisions) decisions")
    }

    /// The fixed account under random choice and PCT: never overdrawn.
    func testReservingAccountHoldsUnderRandomAndPCT() async throws {
        for seed in 1...50 as ClosedRange<UInt64> {
            for policy in [SchedulingPolicy.seeded(Seed(seed)), .pct(Seed(seed), depth: 3, decisions: 16)] {
                let run = try SeededExecutor.run(policy) { () async -> Int in
                    let account = ReservingAccount()
                    async let first = account.withdraw(60)
                    async let second = account.withdraw(60)
                    _ = await (first, second)
                    return await account.balance
                }
                XCTAssertEqual(run.value, 40, "\(run.policy): \(run.decisions) decisions")
            }
        }
    }

    /// In forked workers: the async body runs on each worker's seeded executor (worker `i` draws from
    /// `Seed(11).derived(for: i)`, so the failing worker's index and round replay it).
    func testWorkersFindTheOverdraftWithSeededScheduling() async throws {
        let run = try Shake.fork(processes: 4, rounds: 10, timeout: .seconds(60), seed: Seed(11),
                                 scheduling: .seeded(Seed(11))) { worker in
            let account = OverdrawingAccount()
            async let first = account.withdraw(60)
            async let second = account.withdraw(60)
            _ = await (first, second)
            let balance = await account.balance
            worker.check(balance >= 0, "overdrawn: \(balance)")
        }
        XCTAssertFalse(run.isClean, run.summary)
        XCTAssertTrue(run.summary.contains("overdrawn: -20"), run.summary)
    }
}
