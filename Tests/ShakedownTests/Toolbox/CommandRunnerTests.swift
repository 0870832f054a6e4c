#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 12, piece 6: running a command, also from inside forked workers.
final class CommandRunnerTests: XCTestCase {
    func testCapturesOutputErrorsExitStatusAndPid() throws {
        let result = try assertLeavesNothingBehind {
            try CommandRunner.run(["sh", "-c", "echo out; echo err >&2; echo $$; exit 3"])
        }
        XCTAssertEqual(result.exit, .exited(code: 3))
        XCTAssertEqual(result.outputText, "out\n\(result.pid)\n")
        XCTAssertEqual(result.errorText, "err\n")
        XCTAssertFalse(result.timedOut)
    }

    func testWorksInsidePoolWorkers() throws {
        try assertLeavesNothingBehind {
            let pool = try ProcessPool<String, String>(processes: 2) { word in
                let result = try CommandRunner.run(["echo", word], timeout: .seconds(10))
                return "\(result.exit) \(result.outputText)"
            }
            XCTAssertEqual(try pool.map(["a", "b", "c"]).map(\.value), ["exit 0 a\n", "exit 0 b\n", "exit 0 c\n"])
            pool.close()
            XCTAssertTrue(try pool.join(timeout: .seconds(10)))
        }
    }

    func testTimeoutKillsTheCommandsWholeTree() throws {
        let start = monotonicNanoseconds()
        let result = try CommandRunner.run(["sh", "-c", "sleep 60 & echo $!; sleep 60"], timeout: .milliseconds(300))
        XCTAssertLessThan(monotonicNanoseconds() - start, 5_000_000_000)
        XCTAssertTrue(result.timedOut)
        XCTAssertEqual(result.exit, .signaled(.kill))
        let background = Int32(result.outputText.split(separator: "\n").first ?? "") ?? 0
        XCTAssertGreaterThan(background, 0, result.outputText)
        var waited = 0
        while ProcessLiveness.isRunning(background) && waited < 200 { usleep(10_000); waited += 1 }
        XCTAssertFalse(ProcessLiveness.isRunning(background), "the background sleep \(background) was killed with its group")
    }

    func testOutputLimit() throws {
        let result = try CommandRunner.run(["sh", "-c", "head -c 100000 /dev/zero"], outputLimit: 1000)
        XCTAssertEqual(result.standardOutput.count, 1000)
        XCTAssertTrue(result.outputTruncated)
        XCTAssertEqual(result.exit, .exited(code: 0))
    }

    func testBadInput() throws {
        XCTAssertThrowsError(try CommandRunner.run([])) { XCTAssertTrue("\($0)".contains("empty"), "\($0)") }
        XCTAssertThrowsError(try CommandRunner.run(["true"], timeout: .zero))
        XCTAssertThrowsError(try CommandRunner.run(["true"], outputLimit: -1))
        XCTAssertThrowsError(try CommandRunner.run(["/no/such/command-xyz"])) { error in
            XCTAssertEqual(error as? ShakedownError, .executableNotFound("/no/such/command-xyz"))
        }
    }
}
