import XCTest
@testable import Shakedown

final class ScratchTests: XCTestCase {
    func testRacy() throws {
        let counter = try SharedCounter("hits")
        let report = try Shakedown.fork(processes: 4, rounds: 1000, timeout: .seconds(30), observing: [counter]) { worker in
            counter.racyIncrement()
        }
        print(report.summary)
        print(report.verdict(for: counter, expected: 4000))
        for w in report.workers { print(w.summary, w.jitterPoints, w.outputTail) }
    }
}
