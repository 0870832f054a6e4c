#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown

/// The barrier's promises under the interleavings that used to break them.
final class BarrierTests: XCTestCase {
    /// A party that timed out used to stay counted, so the next generation released one arrival early.
    func testTimedOutArrivalIsWithdrawn() throws {
        let barrier = try ProcessBarrier(parties: 2, spinLimit: 0)
        XCTAssertEqual(barrier.arriveAndWait(timeout: .milliseconds(5)), .timedOut)
        XCTAssertEqual(barrier.arriveAndWait(timeout: .milliseconds(5)), .timedOut,
                       "a lone arrival after a timeout must not be taken as the second party")
        // Both parties now arrive for real: the generation is released for both.
        let run = try Shake.fork(processes: 2, jitter: .none) { worker in
            worker.check(barrier.arriveAndWait(timeout: .seconds(10)) == .released, "released together")
        }
        XCTAssertTrue(run.isClean, run.summary)
    }

    /// A party that leaves for good right after a normal release must not turn that release into "broken" for
    /// a waiter that had not yet looked (the start gate of `shakedown run` lost copies this way).
    func testBreakAfterReleaseDoesNotUndoTheRelease() throws {
        for _ in 0..<20 {
            let barrier = try ProcessBarrier(parties: 2, spinLimit: 0)
            let outcome = try SharedValue<Int64>(-1)
            let run = try Shake.fork(processes: 2, jitter: .none) { worker in
                if worker.index == 0 {
                    let result = barrier.arriveAndWait(timeout: .seconds(10))
                    outcome.value = result == .released ? 1 : result == .timedOut ? 3 : 2
                } else {
                    // Let worker 0 fall asleep in the futex, then release and break before it wakes.
                    usleep(20_000)
                    worker.check(barrier.arrive(timeout: .seconds(10)) {} == .released, "last arrival releases")
                    barrier.break(by: 1)
                }
            }
            XCTAssertTrue(run.isClean, run.summary)
            XCTAssertEqual(outcome.value, 1, "the waiter was released before the barrier broke")
            XCTAssertEqual(barrier.arriveAndWait(), .broken(by: 1), "later arrivals see the break")
        }
    }
}

final class SemaphoreTimeoutTests: XCTestCase {
    /// `wait(timeout:)` added the timeout to the clock's nanoseconds unchecked and trapped on a huge one.
    func testHugeTimeoutSaturatesInsteadOfTrapping() throws {
        let semaphore = try ProcessSemaphore(value: 1)
        XCTAssertTrue(try semaphore.wait(timeout: .seconds(Int64.max / 2)))
        try semaphore.signal()
        XCTAssertTrue(try semaphore.wait(timeout: .seconds(Int64.max)))
    }
}
