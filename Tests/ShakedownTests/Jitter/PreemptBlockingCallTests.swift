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
    private struct Outcome {
        var status: Int32
        var output: String
        var report: String
    }

    /// Runs the eintr-probe fixture once under `preempt` with `arguments`; its output and the library's report line.
    private func probe(_ arguments: [String], seed: UInt64) throws -> Outcome {
        let outputPath = "/tmp/shakedown-eintr-\(getpid())-\(seed).out"
        let reportPath = "/tmp/shakedown-eintr-\(getpid())-\(seed).report"
        defer { unlink(outputPath); unlink(reportPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)
        let environment = JitterPlan.preempt.commandEnvironment(
            seed: Seed(seed), merging: RaceCatalogue.currentEnvironment() + ["SHAKEDOWN_PREEMPT_REPORT=\(reportPath)"])
        let argv = ["\(RaceCatalogue.buildDirectory)/eintr-probe"] + arguments
        let pointers = (argv.map { strdup($0) } + [nil], environment.map { strdup($0) } + [nil])
        defer { (pointers.0 + pointers.1).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, pointers.0, pointers.1)
        guard spawned == 0 else {
            errno = spawned  // posix_spawn returns the error number; systemCall reads errno
            throw ShakedownError.systemCall("posix_spawn")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Outcome(status: status, output: Self.contents(outputPath), report: Self.contents(reportPath))
    }

    private static func contents(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = fread(&buffer, 1, buffer.count, file), count > 0 { bytes += buffer.prefix(count) }
        return String(decoding: bytes, as: UTF8.self)
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
