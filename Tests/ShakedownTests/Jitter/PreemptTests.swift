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

    private func measure(_ bug: Bug, trials: Int = 30) throws -> (preempt: Int, none: Int) {
        let preempt = try RaceCatalogue.detections(bug, plan: .preempt, trials: trials)
        let none = try RaceCatalogue.detections(bug, plan: .none, trials: trials)
        print("\(bug.fixture) × \(bug.iterations): preempt found it in \(preempt) of \(trials) trials, none in \(none)")
        return (preempt, none)
    }

    // Measured before choosing the counts (2 cores, others building): preempt finds both in 29-30 of 30 trials, none in
    // 0-1 of 30. A false failure needs preempt to miss 11 of 30, or none to find it within 10 trials of preempt.
    func testPreemptFindsTheSharedMemoryRaceFarMoreOftenThanNone() throws {
        let (preempt, none) = try measure(.sharedMemory)
        XCTAssertGreaterThanOrEqual(preempt, 20)
        XCTAssertLessThanOrEqual(none, preempt - 10)
    }

    func testPreemptFindsTheFileRaceFarMoreOftenThanNone() throws {
        let (preempt, none) = try measure(.fileCounter)
        XCTAssertGreaterThanOrEqual(preempt, 20)
        XCTAssertLessThanOrEqual(none, preempt - 10)
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
