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

    // The mutex twin of the threads bug is slow under preemption (a preempted holder makes the other thread sleep on
    // the futex: 200,000 iterations take ≈ 27 s), so twins run with 5,000.
    func testFixedTwinsNeverFailUnderPreempt() throws {
        for bug in [Bug.sharedMemory, .sharedMemorySwift, .fileCounter, .append, .doubleInit, .threads.with(iterations: 5_000)] {
            let found = try RaceCatalogue.detections(bug, fixed: true, plan: .preempt, trials: 10)
            XCTAssertEqual(found, 0, "the fixed twin of \(bug.fixture) lost updates under preempt")
        }
    }
}
