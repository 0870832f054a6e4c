#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 12, piece 3: queues across real processes.
final class ProcessQueueTests: XCTestCase {
    struct Job: Codable, Equatable { var id: Int; var payload: String }

    func testProducersAndConsumersDeliverEveryItemExactlyOnce() throws {
        try assertLeavesNothingBehind {
            let work = try ProcessQueue<Job>(capacity: 16)  // small: producers really block on a full queue
            let done = try ProcessQueue<Int>(capacity: 2_000)
            let producers = try (0..<2).map { producer in
                try ForkedChild {
                    for index in 0..<500 { try work.put(Job(id: producer * 500 + index, payload: "p\(producer)"), timeout: .seconds(10)) }
                }
            }
            let consumers = try (0..<2).map { _ in
                try ForkedChild {
                    while case let .item(job) = try work.get(timeout: .seconds(10)) { try done.put(job.id) }
                }
            }
            for producer in producers { XCTAssertEqual(try producer.join(timeout: .seconds(30)), .exited(code: 0)) }
            work.close()  // consumers drain what is left, then see `.closed`
            for consumer in consumers { XCTAssertEqual(try consumer.join(timeout: .seconds(30)), .exited(code: 0)) }
            var seen: [Int] = []
            while case let .item(id) = try done.get(timeout: .zero) { seen.append(id) }
            XCTAssertEqual(seen.sorted(), Array(0..<1000))
            let statistics = work.statistics
            XCTAssertEqual(statistics.puts, 1000)
            XCTAssertEqual(statistics.gets, 1000)
            XCTAssertLessThanOrEqual(statistics.highWaterMark, 16)
        }
    }

    func testPoisonPillsStopEveryConsumerAndJoinSeesEveryItemDone() throws {
        try assertLeavesNothingBehind {
            let consumers = 3
            let tasks = try JoinableProcessQueue<Int?>()  // nil is the poison pill
            let processed = try ProcessQueue<Int>(capacity: 1_000)
            let children = try (0..<consumers).map { _ in
                try ForkedChild {
                    while case let .item(task) = try tasks.get(timeout: .seconds(10)) {
                        defer { try? tasks.taskDone() }
                        guard let task else { return }
                        try processed.put(task * task)
                    }
                }
            }
            for task in 0..<300 { try tasks.put(task) }
            for _ in 0..<consumers { try tasks.put(nil) }
            guard case .done = try tasks.join(timeout: .seconds(30)) else { return XCTFail("join did not finish") }
            for child in children { XCTAssertEqual(try child.join(timeout: .seconds(10)), .exited(code: 0)) }
            var results: [Int] = []
            while case let .item(square) = try processed.get(timeout: .zero) { results.append(square) }
            XCTAssertEqual(results.sorted(), (0..<300).map { $0 * $0 }, "every item processed exactly once")
            XCTAssertEqual(tasks.statistics.unfinished, 0)
        }
    }

    func testAConsumerThatDiesHoldingAnItemIsReportedAndTheItemRequeued() throws {
        try assertLeavesNothingBehind {
            let tasks = try JoinableProcessQueue<Job>()
            try tasks.put(Job(id: 7, payload: "precious"))
            let dying = try ForkedChild {
                _ = try tasks.get(timeout: .seconds(10))
                Glibc.kill(getpid(), SIGKILL)
            }
            XCTAssertEqual(try dying.join(timeout: .seconds(10)), .signaled(.kill))
            guard case let .holdersDied(items) = try tasks.join(timeout: .seconds(10)) else { return XCTFail("not reported") }
            XCTAssertEqual(items.map(\.holder), [dying.pid])
            XCTAssertEqual(try items.first?.value(), Job(id: 7, payload: "precious"))
            XCTAssertEqual(tasks.requeueAbandoned(), 1)
            let survivor = try ForkedChild {
                guard case .item(Job(id: 7, payload: "precious")) = try tasks.get(timeout: .seconds(10)) else { exit(3) }
                try tasks.taskDone()
            }
            XCTAssertEqual(try survivor.join(timeout: .seconds(10)), .exited(code: 0))
            guard case .done = try tasks.join(timeout: .seconds(10)) else { return XCTFail("join after requeue") }
        }
    }

    func testBoundsTimeoutsAndClose() throws {
        let queue = try ProcessQueue<Int>(capacity: 2, maximumItemBytes: 16)
        XCTAssertEqual(try queue.get(timeout: .zero), .timedOut, "zero timeout on an empty queue looks once")
        XCTAssertTrue(try queue.put(1, timeout: .zero))
        XCTAssertTrue(try queue.put(2, timeout: .zero))
        XCTAssertFalse(try queue.put(3, timeout: .zero), "full")
        let start = monotonicNanoseconds()
        XCTAssertFalse(try queue.put(3, timeout: .milliseconds(50)))
        XCTAssertGreaterThanOrEqual(monotonicNanoseconds() - start, 45_000_000, "waited for the timeout")
        queue.close()
        XCTAssertThrowsError(try queue.put(4, timeout: .zero)) { XCTAssertTrue("\($0)".contains("close()"), "\($0)") }
        XCTAssertEqual(try queue.get(timeout: .seconds(10)), .item(1), "a closed queue still drains")
        XCTAssertEqual(try queue.get(timeout: .seconds(10)), .item(2))
        XCTAssertEqual(try queue.get(timeout: .seconds(10)), .closed, "closed and empty: at once, no waiting")
    }

    func testBadInput() throws {
        let queue = try ProcessQueue<String>(maximumItemBytes: 32)
        XCTAssertThrowsError(try queue.put(String(repeating: "z", count: 40))) { error in
            XCTAssertTrue("\(error)".contains("maximumItemBytes limit of 32 bytes"), "\(error)")
        }
        XCTAssertThrowsError(try ProcessQueue<Int>(capacity: 0))
        XCTAssertThrowsError(try ProcessQueue<Int>(maximumItemBytes: -1))
        XCTAssertThrowsError(try ProcessQueue<Int>(capacity: 1 << 20, maximumItemBytes: 1 << 24)) { error in
            XCTAssertTrue("\(error)".contains("4 GiB"), "\(error)")
        }
        XCTAssertThrowsError(try queue.get(timeout: .seconds(-1)))
        let joinable = try JoinableProcessQueue<Int>()
        XCTAssertThrowsError(try joinable.taskDone(), "taskDone without get")
        guard case .done = try joinable.join(timeout: .zero) else { return XCTFail("nothing put: join is done at once") }
        try joinable.put(1)
        guard case .timedOut(unfinished: 1) = try joinable.join(timeout: .zero) else { return XCTFail("zero timeout") }
        // The wrong type on the other side is malformed data, not a crash.
        let strings = try ProcessQueue<String>()
        let ints = ProcessQueue<Int>(storage: strings.storage)
        try strings.put("not a number")
        XCTAssertThrowsError(try ints.get(timeout: .zero))
    }
}
