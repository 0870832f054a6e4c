#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Preemption under real programs' ways of using signals: what a program sees must not change. A program that blocks
/// signals and takes them synchronously (sigwait, sigwaitinfo, sigtimedwait, signalfd) installs no handler for the
/// timer's signal, so the preload library stays armed; its expiries then sat pending on the blocked signal and the
/// waits returned them (every mode of Fixtures/signal-wait-probe failed with "got 62 code -2" before the fix).
final class PreemptRealProgramTests: XCTestCase {
    private typealias Outcome = PreemptedRun

    /// Runs the signal-wait-probe fixture once under `preempt` in `mode`; its output and the library's report line.
    private func probe(_ mode: String, seed: UInt64) throws -> Outcome {
        try run("signal-wait-probe", [mode], seed: seed)
    }

    /// Runs fixture `name` with `arguments` once under `preempt`; its output and the library's report line.
    private func run(_ name: String, _ arguments: [String], seed: UInt64) throws -> Outcome {
        try run(argv: ["\(RaceCatalogue.buildDirectory)/\(name)"] + arguments, tag: ([name] + arguments).joined(separator: "-"),
                seed: seed)
    }

    /// Runs `argv` once under `preempt`; its output and the library's report lines.
    private func run(argv: [String], tag: String, seed: UInt64) throws -> Outcome {
        try PreemptedRun(argv, tag: tag, seed: seed)
    }

    /// sigwait, sigwaitinfo and sigtimedwait never return the library's expiries, and the library stays armed: the
    /// expiries reached the waits (counted as fired and blocked) and were dropped. A signal the program sends itself on
    /// the same signal number still arrives, as SI_USER.
    func testSignalWaitsNeverReturnTheTimersExpiries() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        for mode in ["sigtimedwait-all", "sigwaitinfo-own", "sigwait-thread"] {
            for seed: UInt64 in [1, 2] {
                let outcome = try probe(mode, seed: seed)
                XCTAssertEqual(outcome.status, 0, "\(mode) seed \(seed), wait status \(outcome.status): \(outcome.output)")
                XCTAssertEqual(outcome.output, "\(mode): ok\n", "seed \(seed)")
                XCTAssertTrue(outcome.report.contains("status=armed"), "\(mode) report: \(outcome.report)")
                XCTAssertGreaterThan(outcome.reportField("blocked") ?? 0, 0,
                                     "\(mode): no expiry reached the wait, report: \(outcome.report)")
            }
        }
    }

    /// A program that reads the timer's signal through a signalfd takes the signal: the library steps aside and drops
    /// the expiry already pending, and the program's own signal still comes through the descriptor.
    func testASignalfdForTheTimersSignalMakesTheLibraryStepAside() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        for mode in ["signalfd-own", "signalfd-all"] {
            let outcome = try probe(mode, seed: 3)
            XCTAssertEqual(outcome.status, 0, "\(mode), wait status \(outcome.status): \(outcome.output)")
            XCTAssertEqual(outcome.output, "\(mode): ok\n")
            XCTAssertTrue(outcome.report.contains("status=stepped-aside"), "\(mode) report: \(outcome.report)")
        }
    }

    /// A socket's SO_RCVTIMEO or SO_SNDTIMEO survives the timer: each call waits its whole 100 ms and fails with
    /// EAGAIN, where before every one failed with EINTR within a millisecond (the kernel never restarts them).
    func testSocketTimeoutsAreKeptUnderPreemption() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        for seed: UInt64 in [1, 2] {
            let outcome = try run("socket-timeout-probe", [], seed: seed)
            XCTAssertEqual(outcome.status, 0, "seed \(seed), wait status \(outcome.status):\n\(outcome.output)")
            let lines = outcome.output.split(separator: "\n")
            XCTAssertEqual(lines.filter { $0.contains(" errno=EAGAIN ") && !$0.hasSuffix("FAILED") }.count, 7,
                           "seed \(seed):\n\(outcome.output)")
            XCTAssertTrue(outcome.report.contains("status=armed"), "report: \(outcome.report)")
            XCTAssertGreaterThan(outcome.reportField("fired") ?? 0, 0, "report: \(outcome.report)")
        }
    }

    /// A program started under a tracer (gdb, strace: PTRACE_TRACEME before exec) is left alone: every expiry was a
    /// signal stop its tracer reported (gdb stopped at "signal SIG62"; strace printed a line per expiry). The copy that
    /// traces stays armed.
    func testAProgramStartedUnderATracerIsNotPreempted() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        let outcome = try run("traced-child", [], seed: 5)
        let code = (outcome.status >> 8) & 0xff
        try XCTSkipIf(code == 3, "PTRACE_TRACEME is refused here: \(outcome.output)")
        XCTAssertEqual(outcome.status, 0, "wait status \(outcome.status):\n\(outcome.output)")
        XCTAssertEqual(outcome.output, "signal stops=0 exit=0\n")
        let lines = outcome.report.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasSuffix("status=traced") }.count, 1, "report: \(outcome.report)")
        XCTAssertEqual(lines.filter { $0.hasSuffix("status=armed") }.count, 1, "report: \(outcome.report)")
    }

    /// A signal on the timer's number that no timer sent meets the default action the command has without the library:
    /// `kill -62 $$` ends the shell with signal 62, where the library's handler swallowed it and the command ran on to
    /// exit 0 (a crash judged clean).
    func testASignalSentOnTheTimersNumberStillKillsTheCommand() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        let signal = JitterPlan.preemptionSignal
        let outcome = try run(argv: ["/bin/sh", "-c", "kill -\(signal) $$; sleep 0.1; echo survived"], tag: "kill", seed: 7)
        XCTAssertEqual(outcome.status & 0x7f, signal, "wait status \(outcome.status): \(outcome.output)")
        XCTAssertEqual(outcome.output, "")
        XCTAssertTrue(outcome.report.isEmpty, "a killed process writes no report line: \(outcome.report)")
    }

    /// Threads that wait (a JVM has some 25, a thread pool many) are backed off far enough not to storm the machine:
    /// with 2^5 at most, 16 threads waiting 500 ms took 14,820 expiries (eight `java -cp … T` copies, 1 s without
    /// preemption, ran past the 60 s deadline and were judged hung); with 2^10 some 700.
    func testIdleThreadsAreNotWokenThousandsOfTimesASecond() throws {
        try XCTSkipUnless(JitterRuntime.preloadLibraryPath() != nil, "\(JitterRuntime.libraryName) is not built")
        let outcome = try run("idle-threads", ["16", "500"], seed: 8)
        XCTAssertEqual(outcome.status, 0, "wait status \(outcome.status): \(outcome.output)")
        XCTAssertEqual(outcome.output, "idle-threads: 16 threads waited 500 ms\n")
        XCTAssertTrue(outcome.report.contains("status=armed"), "report: \(outcome.report)")
        XCTAssertEqual(outcome.reportField("threads"), 17, "report: \(outcome.report)")
        let fired = outcome.reportField("fired") ?? .max
        XCTAssertGreaterThan(outcome.reportField("blocked") ?? 0, 16, "report: \(outcome.report)")
        XCTAssertLessThan(fired, 4_000, "16 idle threads woken \(fired) times in 500 ms, report: \(outcome.report)")
    }
}
