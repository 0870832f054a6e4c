#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// `preempt` on plain programs nobody instrumented: the preload library's timers against no jitter at all.
final class PreemptTests: XCTestCase {
    private typealias Bug = RaceCatalogue.Bug

    override func setUpWithError() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
    }

    /// What the two sides saw: how many trials found the bug, and the updates lost over all trials.
    private struct Comparison {
        var preempt = 0, none = 0
        var preemptLost: Int64 = 0, noneLost: Int64 = 0

        /// Far more often (10 more finds of 40), or, where the host makes plain stress find it often too, far
        /// more severely (3 × the lost updates): both fail only if preempt is no stronger than plain stress.
        var preemptIsFarStronger: Bool { none <= preempt - 10 || preemptLost >= 3 * noneLost }
    }

    /// Trials of `bug` under preempt and under none, interleaved (one of each per seed), so that whatever else the host
    /// is doing weighs on both sides alike.
    private func measure(_ bug: Bug, trials: Int = 30) throws -> Comparison {
        var result = Comparison()
        var counted = false
        for trial in 0..<trials {
            let seed = Seed(1).derived(for: trial)
            let timed = try RaceCatalogue.trial(bug, fixed: false, plan: .preempt, seed: seed)
            let plain = try RaceCatalogue.trial(bug, fixed: false, plan: .none, seed: seed)
            XCTAssertEqual(timed.brokenCopies + plain.brokenCopies, [], "\(bug.fixture) copies failed")
            if timed.found { result.preempt += 1 }
            if plain.found { result.none += 1 }
            counted = counted || timed.lostUpdates != nil
            result.preemptLost += max(0, timed.lostUpdates ?? 0)
            result.noneLost += max(0, plain.lostUpdates ?? 0)
        }
        let counts = counted ? (" (\(result.preemptLost) updates lost)", " (\(result.noneLost) lost)") : ("", "")
        print("\(bug.fixture) × \(bug.iterations): preempt found it in \(result.preempt) of \(trials) trials\(counts.0), "
              + "none in \(result.none)\(counts.1)")
        return result
    }

    // How often plain stress finds these depends on the host: copies started back to back overlap only when one is
    // still running as the next starts. On a CI machine `none` found the file race × 50 in 24 of 30 trials (here 1-5 of
    // 30) and the counter × 10,000 in 9 of 30. With the standard 30 µs preemption interval (10 µs before; see
    // JitterPlan.standardPreemptInterval), 40 trials each, load 2.8-3.3: the file race × 25, preempt 32-38, none 0-1
    // (updates lost 942-1,232 against 0-50); at × 10 the loop is over before most timers fire (preempt 14-20), so the
    // test runs 25 iterations. The counter × 10,000: preempt 35-38, none 0-1. A false failure needs preempt under 24
    // finds of 40 on the file race (8 below its worst here: about 4 standard deviations) or under 25 on the counter
    // (10 below its worst: about 5), or plain stress within 10 finds of it and within 3 × of its lost updates at once.
    func testPreemptFindsTheSharedMemoryRaceFarMoreOftenThanNone() throws {
        let result = try measure(.sharedMemory, trials: 40)
        XCTAssertGreaterThanOrEqual(result.preempt, 25)
        XCTAssertTrue(result.preemptIsFarStronger, "\(result)")
    }

    func testPreemptFindsTheFileRaceFarMoreOftenThanNone() throws {
        let result = try measure(.fileCounter.with(iterations: 25), trials: 40)
        XCTAssertGreaterThanOrEqual(result.preempt, 24)
        XCTAssertTrue(result.preemptIsFarStronger, "\(result)")
    }

    func testOtherCatalogueBugsUnderPreempt() throws {
        for bug in [Bug.sharedMemorySwift, .append, .doubleInit, .threads] {
            _ = try measure(bug, trials: 10)
        }
    }

    /// Trials of `bug` under preempt until one finds it, at most `limit`; the number of the finding trial or nil.
    private func firstDetection(_ bug: Bug, limit: Int) throws -> Int? {
        for trial in 0..<limit {
            let outcome = try RaceCatalogue.trial(bug, fixed: false, plan: .preempt, seed: Seed(11).derived(for: trial))
            XCTAssertEqual(outcome.brokenCopies, [], "\(bug.fixture) copies failed")
            if outcome.found { return trial + 1 }
        }
        return nil
    }

    // Measured before choosing the limit (debug fixtures, 2 cores, others building): preempt found each in 10 of 10
    // trials; the ABA bug in release builds in 10 of 20, the tickets (release) in 29 of 30. Even at 1 in 2, missing 30 trials in a row has odds 10^-9.
    func testPreemptFindsTheLostWakeUpTheReorderingTheABAAndTheTickets() throws {
        for bug in [Bug.lostWakeup, .pipeOrder, .aba, .sharedMemoryTickets] {
            let found = try firstDetection(bug, limit: 30)
            print("\(bug.fixture) × \(bug.iterations): preempt found it in trial \(found.map(String.init) ?? "none") of at most 30")
            XCTAssertNotNil(found, "preempt never found \(bug.fixture) in 30 trials")
        }
    }

    // The fix of each cannot fail (the semaphore counts every post, one lock covers number and write, the tagged head
    // never matches a reused slot), so any flagged trial is a bug in the twin or the tool.
    func testTheNewTwinsNeverFailUnderPreempt() throws {
        for bug in [Bug.lostWakeup, .pipeOrder, .aba, .sharedMemoryTickets] {
            let found = try RaceCatalogue.detections(bug, fixed: true, plan: .preempt, trials: 5)
            XCTAssertEqual(found, 0, "the fixed twin of \(bug.fixture) failed under preempt")
        }
    }

    // The mutex twin of the threads bug is slow under preemption (a preempted holder makes the other thread sleep on
    // the futex: 200,000 iterations take ≈ 27 s), so twins run with 2,000; the benchmark runs 100 twin trials of each.
    func testFixedTwinsNeverFailUnderPreempt() throws {
        for bug in [Bug.sharedMemory, .sharedMemorySwift, .fileCounter, .append, .doubleInit, .threads.with(iterations: 2_000)] {
            let found = try RaceCatalogue.detections(bug, fixed: true, plan: .preempt, trials: 5)
            XCTAssertEqual(found, 0, "the fixed twin of \(bug.fixture) lost updates under preempt")
        }
    }
}
