#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 12, piece 1: the semaphore records the most holders at once, across processes.
final class ProcessSemaphoreHighWaterTests: XCTestCase {
    /// Six processes share a semaphore of 3; each holds a permit for 2 ms at a time.
    private func holdPermits(_ semaphore: ProcessSemaphore, processes: Int) throws -> RunReport {
        try Shake.fork(processes: processes, rounds: 10, timeout: .seconds(30), jitter: .none) { worker in
            let held = try semaphore.withPermit(timeout: .seconds(10)) { usleep(2_000) }
            worker.check(held != nil, "no permit within 10 s")
        }
    }

    func testNeverMoreThanThreeAtOnce() throws {
        let semaphore = try ProcessSemaphore(value: 3)
        let report = try assertLeavesNothingBehind { try holdPermits(semaphore, processes: 6) }
        XCTAssertTrue(report.isClean, report.summary)
        XCTAssertLessThanOrEqual(semaphore.highWaterMark, 3)
        // 6 processes each wanting a permit for 2 ms: the limit is reached, so the mark is not trivially low.
        XCTAssertEqual(semaphore.highWaterMark, 3)
        XCTAssertEqual(semaphore.holders, 0)
        XCTAssertEqual(semaphore.value, 3)
    }

    func testAWiderSemaphoreShowsMoreHolders() throws {
        // The control: the same load through a semaphore of 6 goes above 3, so the assertion above can fail.
        let semaphore = try ProcessSemaphore(value: 6)
        let report = try holdPermits(semaphore, processes: 6)
        XCTAssertTrue(report.isClean, report.summary)
        XCTAssertGreaterThan(semaphore.highWaterMark, 3)
    }

    func testResetStartsANewMeasurement() throws {
        let semaphore = try ProcessSemaphore(value: 2)
        XCTAssertTrue(try semaphore.wait(timeout: .zero))
        XCTAssertTrue(try semaphore.wait(timeout: .zero))
        XCTAssertFalse(try semaphore.wait(timeout: .zero), "a zero timeout looks once")
        try semaphore.signal()
        XCTAssertEqual(semaphore.highWaterMark, 2)
        semaphore.resetHighWaterMark()
        XCTAssertEqual(semaphore.highWaterMark, 1)
        try semaphore.signal()
        XCTAssertEqual(semaphore.holders, 0)
    }
}
