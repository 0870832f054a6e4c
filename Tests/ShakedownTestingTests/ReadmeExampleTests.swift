import Shakedown
import ShakedownTesting
import Testing

/// The README's Swift Testing example, verbatim: if it stops compiling or passing, the README is wrong.
@Suite struct CacheTests {
    @Test func hitCounterUnderContention() async throws {
        let hits = try SharedCounter("hits")         // MAP_SHARED memory: survives fork
        let lock = try ProcessMutex(name: "cache")    // robust, process-shared, records its owner
        let run = try await shakedown(processes: 8, rounds: 1_000, observing: [hits]) { worker in
            try lock.withLock { hits.racyIncrement() } // read, jitter point, write
            #expect(hits.value > 0)                    // comes back at this file:line
        }
        expectNoLostUpdates(hits, expected: 8 * 1_000, in: run)  // fails here, prints the seed and histogram
        expectClean(run)                               // no crash, hang, failure, zombie or orphan
    }
}
