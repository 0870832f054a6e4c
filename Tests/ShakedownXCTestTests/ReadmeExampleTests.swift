import Shakedown
import ShakedownXCTest
import XCTest

/// The README's example, verbatim: if it stops compiling or passing, the README is wrong.
final class CacheTests: XCTestCase {
    func testHitCounterUnderContention() throws {
        let hits = try SharedCounter("hits")         // MAP_SHARED memory: survives fork
        let lock = try ProcessMutex(name: "cache")    // robust, process-shared, records its owner
        let run = try shakedown(processes: 8, rounds: 1_000, observing: [hits]) { worker in
            try lock.withLock { hits.racyIncrement() } // read, jitter point, write
            worker.check(hits.value > 0, "counter went missing")   // comes back at this file:line
        }
        XCTAssertNoLostUpdates(hits, expected: 8 * 1_000, in: run)  // fails here, prints the seed and histogram
        XCTAssertClean(run)                            // no crash, hang, failure, zombie or orphan
    }
}
