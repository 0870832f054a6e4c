#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown
import CShakedown

/// Issue 12, piece 5: a pool of real worker processes that reports each input's fate.
final class ProcessPoolTests: XCTestCase {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom on purpose" } }

    func testMapReturnsResultsInInputOrderAndJoinReapsEveryWorker() throws {
        try assertLeavesNothingBehind {
            let pool = try ProcessPool<Int, Int>(processes: 2) { $0 * $0 }
            XCTAssertEqual(try pool.map(Array(0..<50)).map(\.value), (0..<50).map { $0 * $0 })
            XCTAssertEqual(try pool.map(Array(0..<1000), chunkSize: 64).map(\.value), (0..<1000).map { $0 * $0 })
            XCTAssertEqual(try pool.map([]).count, 0)
            let pids = pool.workerPids
            pool.close()
            XCTAssertTrue(try pool.join(timeout: .seconds(10)))
            XCTAssertEqual(pool.workerExits, [.exited(code: 0), .exited(code: 0)])
            for pid in pids { XCTAssertFalse(ProcessChecks.exists(pid)) }
        }
    }

    func testACrashingTaskIsReportedForItsInputAndNotRunAgain() throws {
        try assertLeavesNothingBehind {
            let runs = try SharedArray(repeating: 0, count: 8)
            let pool = try ProcessPool<Int, Int>(processes: 2) { input in
                runs[input] += 1
                if input == 3 { writeToUnmappedMemory() }  // a real fault: the Swift backtracer lets a kill(SIGSEGV) continue
                return input + 100
            }
            let results = try pool.map(Array(0..<8))
            XCTAssertEqual(results[3], .crashed(.signaled(.segmentationFault)))
            XCTAssertEqual(results.enumerated().filter { $0.offset != 3 }.map(\.element.value), [100, 101, 102, 104, 105, 106, 107])
            XCTAssertEqual(Array(runs), Array(repeating: 1, count: 8), "every input ran exactly once")
            XCTAssertEqual(pool.replacedWorkers, 1)
            XCTAssertEqual(try pool.apply(5).value, 105, "the replacement works")
            pool.close()
            XCTAssertTrue(try pool.join(timeout: .seconds(10)))
        }
    }

    func testAHungTaskTimesOutAndItsWorkerIsReplaced() throws {
        try assertLeavesNothingBehind {
            let pool = try ProcessPool<Int, Int>(processes: 2, taskTimeout: .milliseconds(300)) { input in
                if input == 2 { sleep(60) }
                return input
            }
            let start = monotonicNanoseconds()
            let results = try pool.map(Array(0..<6))
            XCTAssertLessThan(monotonicNanoseconds() - start, 10_000_000_000)
            XCTAssertEqual(results, [.value(0), .value(1), .timedOut, .value(3), .value(4), .value(5)])
            XCTAssertEqual(pool.replacedWorkers, 1)
            pool.close()
            XCTAssertTrue(try pool.join(timeout: .seconds(10)))
        }
    }

    func testThrownErrorsAndTheMapDeadline() throws {
        try assertLeavesNothingBehind {
            let pool = try ProcessPool<Int, String>(processes: 2) { input in
                if input == 1 { throw Boom() }
                if input == 2 { sleep(60) }
                return "ok \(input)"
            }
            let results = try pool.map([0, 1, 2], timeout: .milliseconds(500))
            XCTAssertEqual(results, [.value("ok 0"), .threw("boom on purpose"), .timedOut])
            XCTAssertEqual(try pool.apply(7).value, "ok 7", "the hung worker was replaced")
            pool.terminate()
        }
    }

    func testSubmitAndWaitWithTimeouts() throws {
        try assertLeavesNothingBehind {
            let pool = try ProcessPool<Int, Int>(processes: 2) { input in
                usleep(UInt32(input) * 1_000)
                return -input
            }
            let slow = try pool.submit(300)
            let fast = try pool.submit(1)
            XCTAssertNil(try slow.wait(timeout: .zero), "zero timeout: a look, not a wait")
            XCTAssertEqual(try fast.wait(timeout: .seconds(10)), .value(-1))
            XCTAssertEqual(try slow.wait(timeout: .seconds(10)), .value(-300))
            XCTAssertEqual(try slow.wait(timeout: .zero), .value(-300), "the result is kept")
            pool.close()
            XCTAssertTrue(try pool.join(timeout: .seconds(10)))
        }
    }

    func testAwaitingASubmittedTask() async throws {
        let pool = try ProcessPool<Int, Int>(processes: 1) { input in
            usleep(UInt32(input) * 1_000)
            return input + 1
        }
        let slow = try pool.submit(200)
        let early = try await slow.value(timeout: .milliseconds(20))
        XCTAssertNil(early, "not finished after 20 ms")
        let late = try await slow.value(timeout: .seconds(10))
        XCTAssertEqual(late, .value(201))
        pool.close()
        XCTAssertTrue(try pool.join(timeout: .seconds(10)))
    }

    func testValuesThatCannotBeEncodedAreRefusedWithTheReason() throws {
        struct Refuses: Codable {
            func encode(to encoder: any Encoder) throws {
                throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "refuses on purpose"))
            }
        }
        let pool = try ProcessPool<Refuses, Int>(processes: 1) { _ in 0 }
        XCTAssertThrowsError(try pool.submit(Refuses())) { error in
            XCTAssertTrue("\(error)".contains("could not be encoded"), "\(error)")
            XCTAssertTrue("\(error)".contains("refuses on purpose"), "\(error)")
        }
        XCTAssertThrowsError(try ProcessQueue<Refuses>().put(Refuses()))
        XCTAssertThrowsError(try SharedObject(Refuses()))
        pool.terminate()
    }

    func testBadInput() throws {
        XCTAssertThrowsError(try ProcessPool<Int, Int>(processes: 0) { $0 }) { error in
            XCTAssertTrue("\(error)".contains("1 to 1024 worker processes, got 0"), "\(error)")
        }
        XCTAssertThrowsError(try ProcessPool<Int, Int>(processes: -3) { $0 })
        XCTAssertThrowsError(try ProcessPool<Int, Int>(processes: 1, taskTimeout: .zero) { $0 })
        try assertLeavesNothingBehind {
            let pool = try ProcessPool<String, Int>(processes: 1, maximumMessageBytes: 64) { $0.count }
            XCTAssertThrowsError(try pool.join(timeout: .seconds(1))) { XCTAssertTrue("\($0)".contains("close()"), "\($0)") }
            XCTAssertThrowsError(try pool.map(["a"], chunkSize: 0))
            XCTAssertThrowsError(try pool.submit(String(repeating: "x", count: 100))) { error in
                XCTAssertTrue("\(error)".contains("maximumMessageBytes limit of 64 bytes"), "\(error)")
            }
            XCTAssertEqual(try pool.apply("abc"), .value(3))
            pool.close()
            XCTAssertThrowsError(try pool.submit("late")) { XCTAssertTrue("\($0)".contains("closed"), "\($0)") }
            XCTAssertTrue(try pool.join(timeout: .seconds(10)))
        }
    }

    func testDefaultSizeIsTheUsableCPUCount() throws {
        XCTAssertGreaterThanOrEqual(AvailableCPUs.count, 1)
        XCTAssertLessThanOrEqual(AvailableCPUs.count, Int(shakedown_affinity_cpu_count()))
        XCTAssertEqual(AvailableCPUs.parseCPUMax("max 100000"), nil)
        XCTAssertEqual(AvailableCPUs.parseCPUMax("150000 100000\n"), 2)
        XCTAssertEqual(AvailableCPUs.parseCPUMax("50000 100000"), 1)
        XCTAssertEqual(AvailableCPUs.parseCPUMax("garbage"), nil)
        let pool = try ProcessPool<Int, Int> { $0 }
        XCTAssertEqual(pool.processes, AvailableCPUs.count)
        pool.terminate()
    }
}
