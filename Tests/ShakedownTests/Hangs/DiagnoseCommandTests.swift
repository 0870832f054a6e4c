#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// `shakedown diagnose`, run as the built binary.
final class DiagnoseCommandTests: XCTestCase {
    private var shakedown: String { Fixtures.path("shakedown") }

    func testReadableReportOfABlockedProcess() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        _ = try eventually("the reader blocks") { threadStates(pid)[pid] == "S" ? true : nil }
        let (output, exitCode) = try run(shakedown, ["diagnose", "\(pid)"])
        XCTAssertEqual(exitCode, 0, output)
        XCTAssertTrue(output.hasPrefix("Process \(pid): "), output)
        XCTAssertTrue(output.contains("in read"), output)
        XCTAssertTrue(output.contains("stuck in pipe_blocked.waitForInput"), output)
        XCTAssertEqual(kill(pid, 0), 0, "diagnose leaves the process running")
    }

    func testJSONOfADeadlockExitsOne() throws {
        let fixture = try startFixture("abba-deadlock")
        let pids = try fixture.readPIDs()
        addTeardownBlock { for pid in pids { kill(pid, SIGKILL) } }
        struct Output: Decodable {
            var processes: [ProcessSnapshot]
            var deadlock: DeadlockAnalysis
        }
        let (decoded, exitCode) = try eventually("diagnose sees the deadlock") { () -> (Output, CInt)? in
            let (output, exitCode) = try run(shakedown, ["diagnose", "--json"] + pids.map(String.init))
            let decoded = try JSONDecoder().decode(Output.self, from: Data(output.utf8))
            return decoded.deadlock.deadlocks.isEmpty ? nil : (decoded, exitCode)
        }
        XCTAssertEqual(exitCode, 1, "a deadlock was found")
        XCTAssertEqual(decoded.processes.map(\.pid), pids)
        XCTAssertEqual(decoded.deadlock.mutexes.count, 2)
        XCTAssertTrue(decoded.processes.allSatisfy { $0.threads.first?.frames.isEmpty == false })
    }

    func testExitCodes() throws {
        let missing = try run(shakedown, ["diagnose", "2000000000"])
        XCTAssertEqual(missing.exitCode, 3)

        // `exec` keeps the shell's pid, so $$ is the pid of shakedown itself.
        let itself = try run("/bin/sh", ["-c", "exec '\(shakedown)' diagnose $$"])
        XCTAssertEqual(itself.exitCode, 5)

        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let partly = try run(shakedown, ["diagnose", "\(pid)", "2000000000"])
        XCTAssertEqual(partly.exitCode, 3, "the failure's code wins; the captured process is still reported")
        XCTAssertTrue(partly.output.contains("Process \(pid)"), partly.output)
    }
}
