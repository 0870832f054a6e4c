import Foundation
import XCTest
@testable import Shakedown

/// Bad numbers are rejected with a typed error naming the argument, before anything is forked.
final class ArgumentTests: XCTestCase {
    private func assertRejected(_ name: String, file: StaticString = #filePath, line: UInt = #line,
                                _ body: () throws -> Void) {
        let childrenBefore = ProcessChecks.children()
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let error = error as? ShakedownError, let argument = error.argumentName else {
                return XCTFail("expected invalidArgument(\(name)), got \(error)", file: file, line: line)
            }
            XCTAssertEqual(argument, name, file: file, line: line)
        }
        XCTAssertEqual(ProcessChecks.children(), childrenBefore, "nothing may be forked", file: file, line: line)
    }

    func testProcessCountsOutOfRangeAreRejected() {
        assertRejected("processes") { _ = try Shake.fork(processes: 0) { _ in } }
        assertRejected("processes") { _ = try Shake.fork(processes: -3) { _ in } }
        assertRejected("processes") { _ = try Shake.fork(processes: 100_000) { _ in } }
    }

    func testRoundsAndTimeoutsOutOfRangeAreRejected() {
        assertRejected("rounds") { _ = try Shake.fork(processes: 2, rounds: 0) { _ in } }
        assertRejected("rounds") { _ = try Shake.fork(processes: 2, rounds: -1) { _ in } }
        assertRejected("timeout") { _ = try Shake.fork(processes: 2, timeout: .zero) { _ in } }
        assertRejected("timeout") { _ = try Shake.fork(processes: 2, timeout: .seconds(-5)) { _ in } }
    }

    func testTooManyObservedCountersAreRejected() throws {
        let counters = try (0..<9).map { try SharedCounter("c\($0)") }
        assertRejected("observing") { _ = try Shake.fork(processes: 1, observing: counters) { _ in } }
    }

    func testCommandRunsRejectBadCommandsBeforeStarting() {
        assertRejected("command") { _ = try Shake.run(command: [], RunConfiguration(processes: 1)) }
        assertRejected("counters") { _ = try Shake.run(command: ["/bin/true"], RunConfiguration(processes: 1), counters: 9) }
        XCTAssertThrowsError(try Shake.run(command: ["no-such-program-anywhere"], RunConfiguration(processes: 1))) { error in
            XCTAssertEqual(error as? ShakedownError, .executableNotFound("no-such-program-anywhere"))
        }
    }

    func testErrorsNameTheSystemCallAndErrno() {
        let error = ShakedownError.systemCall("mmap", errno: .noMemory)
        XCTAssertTrue(error.description.hasPrefix("mmap failed: "), error.description)
        XCTAssertTrue(error.description.contains("errno 12"), error.description)
    }

    // MARK: Durations: huge values are refused or saturate, never trap

    func testHugeTimeoutsAreRejectedInsteadOfOverflowingTheDeadline() {
        // Before: `started + timeout.nanoseconds` trapped in the test process.
        assertRejected("timeout") { _ = try Shake.fork(processes: 1, timeout: .seconds(Int64.max / 2)) { _ in } }
        assertRejected("timeout") { _ = try Shake.fork(processes: 1, timeout: .seconds(7 * 24 * 3600 + 1)) { _ in } }
        assertRejected("timeout") { _ = try Shake.fork(processes: 1, timeout: .microseconds(10)) { _ in } }
        XCTAssertNoThrow(try RunConfiguration(processes: 1, timeout: .seconds(7 * 24 * 3600)).validate())
        XCTAssertNoThrow(try RunConfiguration(processes: 1, timeout: .milliseconds(1)).validate())
    }

    func testHugeTeardownWaitsAreRejected() {
        assertRejected("steps") { _ = try Teardown([.wait(.seconds(Int64.max / 2))]) }
        assertRejected("steps") { _ = try Teardown([.wait(.seconds(3000)), .signal(.terminate), .wait(.seconds(3000))]) }
        assertRejected("steps") { _ = try Teardown([.wait(.seconds(-1))]) }
        XCTAssertNoThrow(try Teardown([.wait(.seconds(1800)), .signal(.terminate), .wait(.seconds(1800))]))
        // `steps` is mutable: a run checks it again before forking.
        var configuration = RunConfiguration(processes: 1, timeout: .seconds(1))
        configuration.teardown.steps.insert(.wait(.seconds(Int64.max / 4)), at: 0)
        assertRejected("teardown") { _ = try Shake.fork(configuration) { _ in } }
    }

    func testJitterPlansThatBypassedTheirInitializerAreRejected() {
        // Before: every worker trapped (a zero spin limit divides by zero, a NaN probability fails to convert).
        var zeroSpin = RunConfiguration(processes: 1, timeout: .seconds(5))
        zeroSpin.jitter.maximumSpin = 0
        assertRejected("jitter") { _ = try Shake.fork(zeroSpin) { _ in } }
        var notANumber = RunConfiguration(processes: 1, timeout: .seconds(5))
        notANumber.jitter.probability = .nan
        assertRejected("jitter") { _ = try Shake.fork(notANumber) { _ in } }
        var negativeWeight = RunConfiguration(processes: 1, timeout: .seconds(5))
        negativeWeight.jitter.spinWeight = -1
        assertRejected("jitter") { _ = try Shake.fork(negativeWeight) { _ in } }
    }

    func testNanosecondsSaturateInsteadOfWrapping() {
        XCTAssertEqual(Duration.seconds(Int64.max).nanoseconds, Int64.max)
        XCTAssertEqual(Duration.seconds(Int64.min).nanoseconds, Int64.min)
        // Seconds that still fit once scaled, plus attoseconds that push the sum over: this wrapped to a
        // negative number before.
        let edge = Duration.seconds(Int64.max / 1_000_000_000) + .nanoseconds(999_999_999)
        XCTAssertEqual(edge.nanoseconds, Int64.max)
        XCTAssertEqual(Duration.milliseconds(1500).nanoseconds, 1_500_000_000)
        XCTAssertEqual(Duration.seconds(1).deadline(after: Int64.max - 10), Int64.max)
        XCTAssertEqual(Duration.seconds(-5).deadline(after: 100), 100)
        XCTAssertEqual(Duration.nanoseconds(7).deadline(after: 100), 107)
    }

    // MARK: Commands that cannot be exec'd are refused at resolution

    func testDirectoriesAndNonRegularFilesAreNotExecutables() {
        // Before: access(X_OK) accepted a directory, and every copy failed to exec with no reason.
        for path in ["/tmp", "/dev/null"] {
            XCTAssertThrowsError(try Shake.run(command: [path], RunConfiguration(processes: 1))) { error in
                guard let error = error as? ShakedownError, let reason = error.executable else {
                    return XCTFail("expected executableNotFound, got \(error)")
                }
                XCTAssertTrue(reason.contains(path) && (reason.contains("directory") || reason.contains("regular")), reason)
            }
        }
    }

    // MARK: Repetitions

    func testRepetitionSeedsAreDeterministicDistinctAndStartAtTheRunSeed() {
        let seed = Seed(0x1234_5678)
        XCTAssertEqual(seed.repetition(0), seed, "a one-repetition replay of a printed seed is that repetition")
        let seeds = (0..<10_000).map(seed.repetition)
        XCTAssertEqual(seeds, (0..<10_000).map(Seed(0x1234_5678).repetition), "deterministic")
        XCTAssertEqual(Set(seeds).count, seeds.count, "distinct")
        XCTAssertNotEqual(seed.repetition(1), seed.derived(for: 1), "not a worker stream")
        XCTAssertEqual(Seed(parsing: seed.repetition(7).hexadecimal), seed.repetition(7), "the printed form parses")
    }

    func testAPreparedCommandRunsManyTimesWithTheSeedsItIsGiven() throws {
        let prepared = try PreparedCommandRun(command: ["/bin/sh", "-c", "echo $SHAKEDOWN_SEED; exit 3"],
                                              RunConfiguration(processes: 2, timeout: .seconds(30)))
        for index in 0..<3 {
            let seed = Seed(99).repetition(index)
            let report = try prepared.run(seed: seed)
            XCTAssertEqual(report.seed, seed)
            XCTAssertEqual(report.workers.map(\.outcome), [.exited(code: 3), .exited(code: 3)])
            XCTAssertTrue(report.workers.allSatisfy { $0.outputTail.contains(String(seed.value)) }, report.summary)
        }
        XCTAssertThrowsError(try PreparedCommandRun(command: ["/bin/true"], RunConfiguration(processes: 0)))
    }
}
