#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

final class SharedMemoryTests: XCTestCase {
    func testRobustMutexReportsThatItsOwnerDied() throws {
        let mutex = try ProcessMutex(name: "accounts")
        let run = try Shake.fork(processes: 1, jitter: .none) { _ in
            try mutex.lock()
            raise(SIGKILL)  // dies holding the lock
        }
        XCTAssertEqual(run.workers[0].outcome, .crashed(.kill), run.summary)
        // A non-robust mutex would hang here forever.
        XCTAssertEqual(try mutex.lock(timeout: .seconds(10)), .previousOwnerDied)
        XCTAssertEqual(mutex.ownerDeaths, 1)
        XCTAssertEqual(mutex.owner?.pid, getpid())
        try mutex.unlock()
        XCTAssertNil(mutex.owner)
        XCTAssertEqual(try mutex.lock(), .acquired)
        try mutex.unlock()
    }

    func testMutexHeldByAnotherProcessTimesOutAndRecordsItsOwner() throws {
        let mutex = try ProcessMutex(name: "ledger")
        let locked = try ProcessSemaphore()
        let release = try ProcessSemaphore()
        let observed = try SharedValue<Int32>(0)
        let run = try Shake.fork(processes: 2, jitter: .none) { worker in
            if worker.index == 0 {
                try mutex.lock()
                try locked.signal()
                _ = try release.wait(timeout: .seconds(30))
                try mutex.unlock()
            } else {
                _ = try locked.wait(timeout: .seconds(30))
                observed.value = mutex.owner?.pid ?? -1
                worker.check(try mutex.lock(timeout: .milliseconds(50)) == nil, "lock should time out while held")
                try release.signal()
                worker.check(try mutex.lock(timeout: .seconds(30)) == .acquired, "lock after release")
                try mutex.unlock()
            }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(observed.value, run.workers[0].pid)
    }

    func testUnlockByANonOwnerIsAnError() throws {
        let mutex = try ProcessMutex()
        XCTAssertThrowsError(try mutex.unlock()) { error in
            XCTAssertEqual(error as? ShakedownError, .systemCall("pthread_mutex_unlock", errno: .notPermitted))
        }
    }

    func testValuesAndArraysAreSharedAcrossFork() throws {
        let value = try SharedValue<Double>(0)
        let array = try SharedArray<Int>(repeating: 0, count: 4)
        let run = try Shake.fork(processes: 4, jitter: .none) { worker in
            array[worker.index] = worker.index * 10
            if worker.index == 3 { value.value = 2.5 }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(Array(array), [0, 10, 20, 30])
        XCTAssertEqual(value.value, 2.5)
        XCTAssertThrowsError(try SharedArray<Int>(repeating: 0, count: 0))
    }

    func testSemaphoreAndBarrierWorkAcrossProcesses() throws {
        let semaphore = try ProcessSemaphore(value: 0)
        let barrier = try ProcessBarrier(parties: 3)
        let arrivals = try SharedCounter()
        let run = try Shake.fork(processes: 3, jitter: .none) { worker in
            arrivals.increment()
            worker.check(barrier.arriveAndWait(timeout: .seconds(30)) == .released, "barrier released")
            worker.check(arrivals.value == 3, "everyone arrived before anyone left")
            try semaphore.signal()
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(semaphore.value, 3)
        XCTAssertFalse(try semaphore.wait(timeout: .zero) == false)
        XCTAssertEqual(barrier.arriveAndWait(timeout: .milliseconds(10)), .timedOut)
        barrier.break(by: 2)
        XCTAssertEqual(barrier.arriveAndWait(), .broken(by: 2))
        XCTAssertThrowsError(try ProcessSemaphore(value: -1))
        XCTAssertThrowsError(try ProcessBarrier(parties: 0))
    }

    func testRegionAllocationIsBoundedAndAligned() throws {
        let region = try SharedRegion(size: 100)
        XCTAssertEqual(region.size % Int(sysconf(Int32(_SC_PAGESIZE))), 0)
        let first = try region.allocate(byteCount: 10, alignment: 64)
        XCTAssertEqual(Int(bitPattern: first) % 64, 0)
        XCTAssertThrowsError(try region.allocate(byteCount: region.size))
        XCTAssertThrowsError(try SharedRegion(size: 0))
    }
}
