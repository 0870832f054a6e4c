#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// The shared-memory pieces under a hostile user: releases nobody took, sizes that overflow, garbage written
/// into shared memory by a worker. Each test is a way the library used to lie (a high-water mark below the true
/// number of holders) or trap on an argument.
final class HostileSharedMemoryTests: XCTestCase {
    /// The bug a "never more than 3 at once" test exists to catch: an error path that signals twice. Worker 0
    /// takes and releases a permit, then releases once more; afterwards all 4 workers hold a permit together
    /// (the barrier proves it). The holder count used to go to -1 first, so the mark said 3: a clean verdict on
    /// exactly the bug.
    func testDoubleReleaseCannotHideAFourthHolderFromTheHighWaterMark() throws {
        let semaphore = try ProcessSemaphore(value: 3)
        let released = try ProcessBarrier(parties: 4)
        let allInside = try ProcessBarrier(parties: 4)
        let run = try Shake.fork(processes: 4, timeout: .seconds(30), jitter: .none) { worker in
            if worker.index == 0 {
                worker.check(try semaphore.wait(timeout: .seconds(5)), "no first permit")
                try semaphore.signal()
                try semaphore.signal()  // the bug under test
            }
            worker.check(released.arriveAndWait(timeout: .seconds(10)) == .released, "start barrier")
            guard try semaphore.wait(timeout: .seconds(10)) else { return worker.fail("no permit within 10 s") }
            worker.check(allInside.arriveAndWait(timeout: .seconds(10)) == .released, "not all 4 inside at once")
            try semaphore.signal()
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(semaphore.highWaterMark, 4, "4 processes held a permit at once")
        XCTAssertEqual(semaphore.unmatchedSignals, 1)
        XCTAssertEqual(semaphore.holders, 0)
        XCTAssertEqual(semaphore.value, 4)
    }

    /// Permits handed out with signal after creating the semaphore empty: the holder count starts at zero, not
    /// at minus the permits, so the mark counts every holder.
    func testPermitsHandedOutBySignalAreCountedAsUnmatchedNotAsNegativeHolders() throws {
        let semaphore = try ProcessSemaphore(value: 0)
        for _ in 0..<2 { try semaphore.signal() }
        XCTAssertEqual(semaphore.unmatchedSignals, 2)
        XCTAssertEqual(semaphore.holders, 0)
        XCTAssertTrue(try semaphore.wait(timeout: .zero))
        XCTAssertTrue(try semaphore.wait(timeout: .zero))
        XCTAssertEqual(semaphore.highWaterMark, 2)
        try semaphore.signal()
        try semaphore.signal()
        XCTAssertEqual(semaphore.unmatchedSignals, 2, "matched releases are not unmatched")
        XCTAssertEqual(semaphore.holders, 0)
    }

    /// Sizes near Int.max used to overflow the page rounding, the element-size product and the bump allocator;
    /// a zero alignment divided by zero. Each trapped; each is now an invalid argument naming the parameter.
    func testHugeSizesAndBadAlignmentsAreInvalidArgumentsNotTraps() throws {
        XCTAssertEqual(try invalidArgumentName { _ = try SharedRegion(size: Int.max) }, "size")
        XCTAssertEqual(try invalidArgumentName { _ = try SharedRegion(size: SharedRegion.maximumSize + 1) }, "size")
        XCTAssertEqual(try invalidArgumentName { _ = try SharedArray(repeating: Int64(0), count: Int.max) }, "count")
        XCTAssertEqual(try invalidArgumentName { _ = try SharedArray(repeating: Int64(0), count: Int.max / 4) }, "count")
        let region = try SharedRegion(size: 4096)
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: 8, alignment: 0) }, "alignment")
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: 8, alignment: 3) }, "alignment")
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: 8, alignment: -8) }, "alignment")
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: -1) }, "byteCount")
        _ = try region.allocate(byteCount: 16)
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: Int.max) }, "byteCount")
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: Int.max - 8) }, "byteCount")
        // The region is still usable up to its last byte.
        XCTAssertNoThrow(try region.allocate(byteCount: region.bytesAvailable, alignment: 1))
        XCTAssertEqual(region.bytesAvailable, 0)
        XCTAssertEqual(try invalidArgumentName { _ = try region.allocate(byteCount: 1, alignment: 1) }, "byteCount")
    }

    private func invalidArgumentName(_ body: () throws -> Void) throws -> String? {
        do { try body() } catch let error as ShakedownError {
            XCTAssertEqual(error.code, .invalidArgument, "\(error)")
            return error.argumentName
        }
        XCTFail("no error thrown")
        return nil
    }
}
