#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Preemption leaves a command's semantics alone: Linux never restarts poll, select, epoll_wait, System V IPC waits,
/// pause, sigsuspend, sigtimedwait and glibc's timed semaphore waits after any signal handler ran, SA_RESTART or not
/// (signal(7)), so the preload library's timer signal made them fail with EINTR (every one of a few hundred 2 ms
/// calls, per the eintr-probe fixture, before the library held the signal around them). The command's own signals
/// must still interrupt them.
final class PreemptBlockingCallTests: XCTestCase {
    private typealias Outcome = PreemptedRun

    /// Runs the eintr-probe fixture once under `preempt` with `arguments`; its output and the library's report line.
    private func probe(_ arguments: [String], seed: UInt64) throws -> Outcome {
        try PreemptedRun(["\(RaceCatalogue.buildDirectory)/eintr-probe"] + arguments,
                         tag: (["eintr"] + arguments).joined(separator: "-"), seed: seed)
    }

    /// The timers really fired in the probe: a quiet library would pass the EINTR check without proving anything.
    private func assertPreempted(_ outcome: Outcome, file: StaticString = #filePath, line: UInt = #line) {
        let fired = outcome.report.split(separator: " ").first { $0.hasPrefix("fired=") }.flatMap { Int($0.dropFirst(6)) }
        XCTAssertTrue(outcome.report.contains("status=armed"), "report: \(outcome.report)", file: file, line: line)
        XCTAssertGreaterThan(fired ?? 0, 100, "report: \(outcome.report)", file: file, line: line)
    }

    func testNoBlockingCallFailsWithEINTRUnderPreemption() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        for seed: UInt64 in [1, 2] {
            // 40 ms of 2 ms calls of every kind (10-20 under preemption here), each long enough for several expiries.
            let outcome = try probe(["40"], seed: seed)
            XCTAssertEqual(outcome.status, 0, "seed \(seed), wait status \(outcome.status):\n\(outcome.output)")
            let lines = outcome.output.split(separator: "\n")
            XCTAssertEqual(lines.filter { $0.hasSuffix(" eintr=0") }.count, 23, "seed \(seed):\n\(outcome.output)")
            assertPreempted(outcome)
        }
    }

    /// An expiry held during such a call is taken as the call returns, and counts as one that found the thread waiting
    /// (no action, backed off), as when it interrupted the call. Acting on each one instead put a sleep after nearly
    /// every call: a poll(NULL, 0, 0) loop took 140-450 µs a call and 2-6 signals per call (here: 42,936 and 126,720
    /// for 20,000 calls), against about 0.5 µs and a few hundred signals in all.
    func testAnExpiryHeldDuringACallIsTakenAsBlocked() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        let outcome = try probe(["--cost", "50000"], seed: 4)
        XCTAssertEqual(outcome.status, 0, "wait status \(outcome.status):\n\(outcome.output)")
        let field = { (name: String) in
            outcome.report.split(separator: " ").first { $0.hasPrefix("\(name)=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        XCTAssertTrue(outcome.report.contains("status=armed"), "report: \(outcome.report)")
        XCTAssertLessThan(field("fired") ?? .max, 10_000, "\(outcome.output) report: \(outcome.report)")
        XCTAssertGreaterThan(field("blocked") ?? 0, 0, "\(outcome.output) report: \(outcome.report)")
    }

    /// The timer signal is held, not the program's: a SIGUSR1 from another thread still ends each wait with EINTR.
    func testTheProgramsOwnSignalStillInterruptsItsBlockingCalls() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        let outcome = try probe(["--own-signal"], seed: 3)
        XCTAssertEqual(outcome.status, 0, "wait status \(outcome.status):\n\(outcome.output)")
        let lines = outcome.output.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains(" own-signal eintr=1 foreign=0 ") }.count, 20, outcome.output)
        XCTAssertTrue(outcome.output.contains("poll own-signal eintr=1"), outcome.output)
        assertPreempted(outcome)
    }
}
