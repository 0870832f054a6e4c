#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import XCTest
@testable import Shakedown

/// What a worker body may use after `fork` (docs/guide.md has the 100-run measurement behind these).
final class ForkSafetyTests: XCTestCase {
    private func assertCompletes(_ what: String, file: StaticString = #filePath, line: UInt = #line,
                                 _ body: @escaping (Worker) throws -> Void) throws {
        for _ in 0..<5 {
            let run = try Shake.fork(processes: 2, timeout: .seconds(30), jitter: .none, body: body)
            XCTAssertTrue(run.isClean, "\(what): \(run.summary)", file: file, line: line)
        }
    }

    func testFoundationThreadsAndSerialQueuesWorkInAWorker() throws {
        try assertCompletes("Foundation") { _ in
            _ = try JSONEncoder().encode(["answer": 42])
            _ = String(format: "%05d", 42)
        }
        try assertCompletes("pthread") { _ in
            var thread = pthread_t()
            pthread_create(&thread, nil, { _ in nil }, nil)
            pthread_join(thread, nil)
        }
        try assertCompletes("serial queue") { _ in DispatchQueue(label: "worker").sync {} }
    }

    /// Whether work sent to Dispatch's global queues or to Swift concurrency's global executor runs in a worker
    /// depends on whether their thread pools had started in the test process before the fork: both outcomes were
    /// measured. Either way the run ends by its deadline with a clear verdict, never a frozen test.
    func testGlobalQueuesAndTasksEitherCompleteOrAreReportedAsHangs() throws {
        let bodies: [(String, (Worker) -> Void)] = [
            ("DispatchQueue.global", { _ in
                let done = DispatchSemaphore(value: 0)
                DispatchQueue.global().async { done.signal() }
                done.wait()
            }),
            ("Task", { _ in
                let done = DispatchSemaphore(value: 0)
                Task { done.signal() }
                done.wait()
            }),
        ]
        try ProcessChecks.warmUpHangCapture()
        for (name, body) in bodies {
            let run = try assertLeavesNothingBehind {
                try Shake.fork(processes: 1, timeout: .milliseconds(500), jitter: .none, body: body)
            }
            XCTAssertTrue([.completed, .hung].contains(run.workers[0].outcome), "\(name): \(run.summary)")
            if run.workers[0].outcome == .hung { XCTAssertNotNil(run.hang, "\(name): a hang comes with its diagnosis") }
        }
    }
}
