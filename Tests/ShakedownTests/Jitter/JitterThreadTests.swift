#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Jitter points called from many threads of one worker: each thread draws from its own stream.
final class JitterThreadTests: XCTestCase {
    /// Starts `count` threads that each run `body`, and joins them.
    private func onThreads(_ count: Int, _ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        var threads: [pthread_t] = []
        for _ in 0..<count {
            var thread = pthread_t()
            let box = Unmanaged.passRetained(Box(body)).toOpaque()
            let created = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
            XCTAssertEqual(created, 0)
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// With one shared generator and plain counters (before), four threads lost counts and raced on the generator.
    func testPointsFromFourThreadsAreCountedExactlyWithAStreamEach() throws {
        let plan = try JitterPlan(probability: 1, yieldWeight: 0, sleepWeight: 0, spinWeight: 1, maximumSpin: 1)
        let source = JitterSource(plan: plan, seed: Seed(5))
        onThreads(4) { for _ in 0..<200_000 { source.point() } }
        XCTAssertEqual(source.points, 800_000)
        XCTAssertEqual(source.actions, 800_000)
        XCTAssertEqual(source.threads, 4)
    }

    func testOneThreadKeepsTheSeededStreamAndDigest() throws {
        let a = JitterSource(plan: .points, seed: Seed(11))
        onThreads(1) { for _ in 0..<200 { a.point() } }
        let b = JitterSource(plan: .points, seed: Seed(11))
        for _ in 0..<200 { b.point() }
        XCTAssertEqual(a.digest, b.digest, "the first thread draws from the seed itself, whichever thread it is")
        let c = JitterSource(plan: .points, seed: Seed(12))
        for _ in 0..<200 { c.point() }
        XCTAssertNotEqual(c.digest, b.digest)
    }

    func testAmbientPointsInAWorkersThreadsAllCount() throws {
        let run = try Shake.fork(processes: 2, jitter: .points) { _ in
            let threads = (0..<3).map { _ in
                var thread = pthread_t()
                pthread_create(&thread, nil, { _ in
                    for _ in 0..<1_000 { Jitter.point() }
                    return nil
                }, nil)
                return thread
            }
            for thread in threads { pthread_join(thread, nil) }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(run.workers.map(\.jitterPoints), [3_000, 3_000])
    }

    func testADisabledSourceIsNotArmedAsTheAmbientOne() throws {
        let source = JitterSource(plan: .none, seed: Seed(1))
        Jitter.current = source
        defer { Jitter.current = nil }
        XCTAssertFalse(Jitter.isArmed, "a disabled plan leaves the ambient point one branch")
        for _ in 0..<1_000 { Jitter.point() }
        XCTAssertEqual(source.points, 0)
        let active = JitterSource(plan: .yieldOnly, seed: Seed(1))
        Jitter.current = active
        XCTAssertTrue(Jitter.isArmed)
        for _ in 0..<10 { Jitter.point() }
        XCTAssertEqual(active.points, 10)
    }
}
