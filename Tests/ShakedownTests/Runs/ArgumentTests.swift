import XCTest
@testable import Shakedown

/// Bad numbers are rejected with a typed error naming the argument, before anything is forked.
final class ArgumentTests: XCTestCase {
    private func assertRejected(_ name: String, file: StaticString = #filePath, line: UInt = #line,
                                _ body: () throws -> Void) {
        let childrenBefore = ProcessChecks.children()
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case let .invalidArgument(argument, _)? = (error as? ShakedownError)?.code else {
                return XCTFail("expected invalidArgument(\(name)), got \(error)", file: file, line: line)
            }
            XCTAssertEqual(argument, name, file: file, line: line)
        }
        XCTAssertEqual(ProcessChecks.children(), childrenBefore, "nothing may be forked", file: file, line: line)
    }

    func testProcessCountsOutOfRangeAreRejected() {
        assertRejected("processes") { _ = try Shakedown.fork(processes: 0) { _ in } }
        assertRejected("processes") { _ = try Shakedown.fork(processes: -3) { _ in } }
        assertRejected("processes") { _ = try Shakedown.fork(processes: 100_000) { _ in } }
    }

    func testRoundsAndTimeoutsOutOfRangeAreRejected() {
        assertRejected("rounds") { _ = try Shakedown.fork(processes: 2, rounds: 0) { _ in } }
        assertRejected("rounds") { _ = try Shakedown.fork(processes: 2, rounds: -1) { _ in } }
        assertRejected("timeout") { _ = try Shakedown.fork(processes: 2, timeout: .zero) { _ in } }
        assertRejected("timeout") { _ = try Shakedown.fork(processes: 2, timeout: .seconds(-5)) { _ in } }
    }

    func testTooManyObservedCountersAreRejected() throws {
        let counters = try (0..<9).map { try SharedCounter("c\($0)") }
        assertRejected("observing") { _ = try Shakedown.fork(processes: 1, observing: counters) { _ in } }
    }

    func testCommandRunsRejectBadCommandsBeforeStarting() {
        assertRejected("command") { _ = try Shakedown.run(command: [], RunConfiguration(processes: 1)) }
        assertRejected("counters") { _ = try Shakedown.run(command: ["/bin/true"], RunConfiguration(processes: 1), counters: 9) }
        XCTAssertThrowsError(try Shakedown.run(command: ["no-such-program-anywhere"], RunConfiguration(processes: 1))) { error in
            XCTAssertEqual((error as? ShakedownError)?.code, .executableNotFound("no-such-program-anywhere"))
        }
    }

    func testErrorsNameTheSystemCallAndErrno() {
        let error = ShakedownError.systemCall("mmap", errno: .noMemory)
        XCTAssertTrue(error.description.hasPrefix("mmap failed: "), error.description)
        XCTAssertTrue(error.description.contains("errno 12"), error.description)
    }
}
