#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown

/// A run may say "clean" only on positive evidence that every copy did its work. Each test here is a way the
/// verdict used to be "clean" (or a success) although work was missing, garbled or never started.
final class VerdictTrustTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("\(NSTemporaryDirectory())/shakedown-verdict-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        directory = String(cString: made)
    }

    override func tearDownWithError() throws {
        _ = try? FileManager.default.removeItem(atPath: directory)
    }

    /// A copy that finished fast used to break the start gate under slower copies that had already been
    /// released; those then exited 0 without running, and 0 counted as success.
    func testEveryCopyRunsOrTheRunSaysWhichDidNot() throws {
        let configuration = RunConfiguration(processes: 8, timeout: .seconds(20), jitter: .none)
        for attempt in 0..<300 {
            let marks = "\(directory)/\(attempt)"
            XCTAssertEqual(mkdir(marks, 0o755), 0)
            let report = try Shake.run(command: ["/bin/sh", "-c", "touch \(marks)/$SHAKEDOWN_WORKER"], configuration)
            let present = Set((try? FileManager.default.contentsOfDirectory(atPath: marks)) ?? [])
            for worker in report.workers where !present.contains("\(worker.index)") {
                XCTAssertFalse(worker.outcome.isSuccess, "copy \(worker.index) never ran: \(report.summary)")
                XCTAssertFalse(report.isClean, report.summary)
            }
            if report.isClean { XCTAssertEqual(present.count, 8, report.summary) }
            if !report.isClean && present.count == 8 { XCTFail("all copies ran but: \(report.summary)") }
        }
    }

    func testBodyThatCallsExitZeroIsNotClean() throws {
        for leave in [{ exit(0) }, { _exit(0) }] as [() -> Never] {
            let run = try Shake.fork(processes: 2, rounds: 100, jitter: .none) { worker in
                if worker.index == 1 && worker.round == 3 { leave() }
            }
            XCTAssertEqual(run.workers[1].outcome, .exited(code: 0), run.summary)
            XCTAssertEqual(run.workers[1].roundsCompleted, 3)
            XCTAssertFalse(run.isClean, run.summary)
            XCTAssertTrue(run.summary.contains("exited with code 0"), run.summary)
        }
    }

    /// The shepherd's report of the command's exit used to travel after the command's own garbage on the shared
    /// channel, where the decoder had already stopped: exit 3 was reported as exit 0.
    func testJunkOnTheResultChannelKeepsTheExitCodeAndIsReported() throws {
        let report = try Shake.run(
            command: ["/bin/bash", "-c", "printf '\\377\\377\\377\\377junk' >&$SHAKEDOWN_RESULT_FD; exit 3"],
            RunConfiguration(processes: 2, timeout: .seconds(10), jitter: .none))
        for worker in report.workers {
            XCTAssertEqual(worker.outcome, .exited(code: 3), report.summary)
            XCTAssertEqual(worker.exit, .exited(code: 3))
            XCTAssertNotNil(worker.channelProblem, report.summary)
        }
        XCTAssertFalse(report.isClean)
        XCTAssertTrue(report.summary.contains("result channel: garbage"), report.summary)
    }

    func testJunkOnTheResultChannelOfACleanExitIsStillNotClean() throws {
        let report = try Shake.run(
            command: ["/bin/bash", "-c", "printf 'junk junk junk' >&$SHAKEDOWN_RESULT_FD"],
            RunConfiguration(processes: 1, timeout: .seconds(10), jitter: .none))
        XCTAssertEqual(report.workers[0].outcome, .completed, report.summary)
        XCTAssertNotNil(report.workers[0].channelProblem)
        XCTAssertFalse(report.isClean, report.summary)
    }

    /// exec's errno used to be dropped: every copy showed "EXIT 127" and no reason.
    func testExecFailuresNameTheirReason() throws {
        let script = "\(directory)/no-shebang"
        try "echo hi\n".write(toFile: script, atomically: true, encoding: .utf8)
        let badELF = "\(directory)/bad-elf"
        try Data([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]).write(to: URL(fileURLWithPath: badELF))
        let missingInterpreter = "\(directory)/missing-interpreter"
        try "#!/nonexistent/interpreter\n".write(toFile: missingInterpreter, atomically: true, encoding: .utf8)
        for path in [script, badELF, missingInterpreter] { XCTAssertEqual(chmod(path, 0o755), 0) }

        // Refused before anything is forked where the file itself shows it (no `#!`, a missing interpreter);
        // otherwise each copy reports exec's errno. Either way the reason is named and nothing runs.
        let cases: [(String, [String])] = [
            (script, ["#!"]),
            (badELF, ["execve", "ENOEXEC"]),
            (missingInterpreter, ["interpreter"]),
        ]
        for (path, expected) in cases {
            let report: RunReport
            do {
                report = try assertLeavesNothingBehind {
                    try Shake.run(command: [path], RunConfiguration(processes: 2, timeout: .seconds(10), jitter: .none))
                }
            } catch {
                for word in expected { XCTAssertTrue("\(error)".contains(word), "\(word) missing in: \(error)") }
                continue
            }
            for worker in report.workers {
                guard case let .notStarted(reason) = worker.outcome else {
                    XCTFail("\(path): \(worker.outcome)")
                    continue
                }
                for word in expected { XCTAssertTrue(reason.contains(word), "\(word) missing in: \(reason)") }
            }
            XCTAssertFalse(report.isClean)
        }
    }

    /// Output used to be scanned a byte at a time in Swift (about 2.5 MB/s): two chatty copies were reported hung.
    func testGigabyteOfOutputPerCopyIsReadFast() throws {
        let gigabyte = 1 << 30
        let line = String(repeating: "output ", count: 11) + "line"
        let report = try Shake.run(
            command: ["/bin/sh", "-c", "yes '\(line)' | head -c \(gigabyte)"],
            RunConfiguration(processes: 2, timeout: .seconds(120), jitter: .none))
        XCTAssertTrue(report.isClean, report.summary)
        XCTAssertEqual(report.workers.map(\.outputBytes), [gigabyte, gigabyte])
        let seconds = Double(report.duration.components.seconds) + Double(report.duration.components.attoseconds) / 1e18
        let megabytesPerSecond = Double(2 * gigabyte) / 1_000_000 / seconds
        XCTAssertGreaterThanOrEqual(megabytesPerSecond, 100, "read \(megabytesPerSecond) MB/s")
    }

    func testFailureAndCrashLinesAreFoundInHeavyOutput() {
        var capture = OutputCapture(tailLimit: 64)
        var written = 0
        let filler = Array(String(repeating: "filler line\n", count: 10_000).utf8)
        let pieces = [
            filler,
            Array("/tmp/A.swift:12: error: -[M.C test] : XCTAssertTrue failed\nmore filler\n".utf8),
            // A failure line split across two reads.
            Array("filler\n/tmp/B.swift:7: err".utf8),
            Array("or: second\nFatal error: boom\n".utf8),
            filler,
        ]
        for piece in pieces {
            capture.append(piece[...])
            written += piece.count
        }
        capture.finish()
        XCTAssertEqual(capture.failures.map(\.file), ["/tmp/A.swift", "/tmp/B.swift"])
        XCTAssertEqual(capture.failures.map(\.line), [12, 7])
        XCTAssertEqual(capture.failures.first?.message, "XCTAssertTrue failed")
        XCTAssertEqual(capture.crashMessage, "Fatal error: boom")
        XCTAssertEqual(capture.totalBytes, written)
        XCTAssertEqual(capture.tailText, String(repeating: "filler line\n", count: 6).suffix(64).description)
    }

    func testWorkerCounterInAClosureRunIsTheObservedCounter() throws {
        let first = try SharedCounter("first")
        let second = try SharedCounter("second")
        let run = try Shake.fork(processes: 2, rounds: 10, jitter: .none, observing: [first, second]) { worker in
            worker.counter(1).increment()
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(second.value, 20)
        XCTAssertEqual(first.value, 0)
        XCTAssertEqual(run.observation(of: second)?.histogram.first?.increment, 2)
    }

    func testCountersWithTheSameNameKeepTheirOwnHistograms() throws {
        let twos = try SharedCounter("hits")
        let ones = try SharedCounter("hits")
        let run = try Shake.fork(processes: 2, rounds: 20, jitter: .none, observing: [twos, ones]) { worker in
            twos.increment()
            if worker.index == 0 { ones.increment() }
        }
        XCTAssertEqual(run.observation(of: twos)?.histogram.map(\.increment), [2])
        XCTAssertEqual(run.observation(of: ones)?.histogram.map(\.increment), [1])
    }

    /// A crash used to keep only the end of the runtime's report (registers, images): the frames were lost.
    func testCrashInAWorkerIsReportedWithItsFileAndLine() throws {
        let line = #line + 2
        let run = try Shake.fork(processes: 2, timeout: .seconds(30), jitter: .none) { worker in
            if worker.index == 1 { fatalError("crash for the report") }
        }
        guard case .crashed = run.workers[1].outcome else { return XCTFail(run.summary) }
        let frames = try XCTUnwrap(run.workers[1].crashFrames, run.summary)
        XCTAssertTrue(frames.contains("VerdictTrustTests.swift:\(line)"), frames)
        XCTAssertTrue(run.summary.contains("VerdictTrustTests.swift:\(line)"), run.summary)
        XCTAssertEqual(run.workers[1].crashMessage?.contains("crash for the report"), true, run.summary)
        XCTAssertFalse(run.workers[1].outputTail.contains("Registers:"), "no register dump in the tail")
    }

    /// Killing one side of a robust-mutex ABBA at teardown releases the lock the other waits for; it then finished
    /// its round after the deadline and was reported as "hung after 2 rounds".
    func testHungWorkersRoundsAreCountedAsOfTheDeadline() throws {
        for _ in 0..<5 {
            let a = try ProcessMutex(name: "a")
            let b = try ProcessMutex(name: "b")
            let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 3, timeout: .milliseconds(500),
                                                          jitter: .none, diagnosesHangs: false)) { worker in
                guard worker.round == 1 else { return }
                let (first, second) = worker.index == 0 ? (a, b) : (b, a)
                try first.withLock {
                    usleep(50_000)
                    try second.withLock {}
                }
            }
            XCTAssertEqual(run.hungWorkers.count, 2, run.summary)
            XCTAssertEqual(run.workers.map(\.roundsCompleted), [1, 1], run.summary)
        }
    }
}
