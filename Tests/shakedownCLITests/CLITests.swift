#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

final class RunCommandTests: XCTestCase {
    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testOrphanMakerReportsEveryOrphanKillsThemAndFails() throws {
        let result = try CLI.shakedown(["run", "-n", "4", "--json", "--", CLI.path("orphan-maker"), "120"])
        XCTAssertEqual(result.status, 4, result.stdout + result.stderr)
        let report = try json(result.stdout)
        let orphans = try XCTUnwrap(report["orphans"] as? [[String: Any]])
        XCTAssertEqual(orphans.count, 4, result.stdout)
        XCTAssertEqual(Set(orphans.compactMap { $0["copy"] as? Int }), [0, 1, 2, 3])
        for orphan in orphans {
            let pid = try XCTUnwrap(orphan["pid"] as? Int32)
            XCTAssertFalse(CLI.exists(pid), "orphan \(pid) must have been killed")
            // Named by what it ran when it was killed: `sleep`, or still orphan-maker's copy when the kill came
            // between its fork and its exec (seen on a loaded machine, 9 ms after it was forked).
            let command = orphan["command"] as? String ?? ""
            XCTAssertTrue(command.contains("sleep") || command.contains("orphan-maker"), "\(orphan)")
        }
        let copies = try XCTUnwrap(report["copies"] as? [[String: Any]])
        XCTAssertEqual(copies.count, 4)
        XCTAssertTrue(copies.allSatisfy { ($0["exit"] as? [String: Any])?["code"] as? Int == 0 && $0["hung"] as? Bool == false })
    }

    func testWellBehavedTwinExitsZero() throws {
        let result = try CLI.shakedown(["run", "-n", "4", "--", CLI.path("orphan-waiter")])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("clean"), result.stdout)
    }

    func testCrashIsReportedBySignalName() throws {
        let result = try CLI.shakedown(["run", "-n", "2", "--json", "--", CLI.path("crashing-worker"), "segfault", "1"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        let copies = try XCTUnwrap(try json(result.stdout)["copies"] as? [[String: Any]])
        XCTAssertEqual((copies[1]["exit"] as? [String: Any])?["signal"] as? String, "SIGSEGV")
        XCTAssertEqual((copies[0]["exit"] as? [String: Any])?["code"] as? Int, 0)
    }

    func testHangIsReportedAndTornDown() throws {
        let marker = "hang-\(UUID().uuidString)"
        let result = try CLI.shakedown(["run", "-n", "2", "--timeout", "1", "--grace", "0.2", "--json", "--",
                                        CLI.path("sigterm-ignorer"), marker])
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        let copies = try XCTUnwrap(try json(result.stdout)["copies"] as? [[String: Any]])
        XCTAssertEqual(copies.compactMap { $0["hung"] as? Bool }, [true, true])
        XCTAssertEqual(CLI.processes(containing: marker), [])
    }

    func testZombiesAreNamedInJSON() throws {
        let result = try CLI.shakedown(["run", "-n", "2", "--json", "--", CLI.path("zombie-leaker"), "2", "50"])
        XCTAssertEqual(result.status, 4, result.stdout + result.stderr)
        let zombies = try XCTUnwrap(try json(result.stdout)["zombies"] as? [[String: Any]])
        XCTAssertEqual(zombies.count, 4)
        XCTAssertTrue(zombies.allSatisfy { $0["pid"] is Int && $0["command"] is String && $0["copy"] is Int })
    }

    func testBadArgumentsAreRejected() throws {
        XCTAssertEqual(try CLI.shakedown(["run", "-n", "0", "--", "/bin/true"]).status, 64)
        XCTAssertEqual(try CLI.shakedown(["run", "--timeout", "-1", "--", "/bin/true"]).status, 64)
        XCTAssertEqual(try CLI.shakedown(["run"]).status, 64)
        let missing = try CLI.shakedown(["run", "--", "/no/such/program"])
        XCTAssertEqual(missing.status, 70)
        XCTAssertTrue(missing.stderr.contains("executable not found: /no/such/program"), missing.stderr)
    }

    /// The runner itself is SIGKILLed mid-run: its workers, their children and a setsid daemon must all go.
    func testKilledRunnerLeavesNothingBehind() throws {
        let marker = "runner-\(UUID().uuidString)"
        let script = "\(CLI.path("setsid-daemon")) 300 \(marker); exec \(CLI.path("sigterm-ignorer")) \(marker)"
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: CLI.path("shakedown"))
        runner.arguments = ["run", "-n", "2", "--timeout", "120", "--", "/bin/sh", "-c", script, marker]
        runner.standardOutput = FileHandle.nullDevice
        runner.standardError = FileHandle.nullDevice
        try runner.run()
        // Wait (bounded) until both copies and both daemons are up: 2 sigterm-ignorers + 2 daemons.
        for _ in 0..<200 where CLI.processes(containing: marker).count < 4 { usleep(50_000) }
        XCTAssertGreaterThanOrEqual(CLI.processes(containing: marker).count, 4)
        kill(runner.processIdentifier, SIGKILL)
        runner.waitUntilExit()
        // The run leader sees its lifeline close and kills everything; give it a bounded moment.
        for _ in 0..<200 where !CLI.processes(containing: marker).isEmpty { usleep(50_000) }
        XCTAssertEqual(CLI.processes(containing: marker), [], "processes survived the runner's SIGKILL")
    }
}

final class DemoCommandTests: XCTestCase {
    func testDemoShowsBothVerdictsAndExitsZero() throws {
        let result = try CLI.shakedown(["demo", "--rounds", "300"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        for expected in ["without lock", "with lock", "lost updates", "SHAKEDOWN_SEED=", "verdict:", "time"] {
            XCTAssertTrue(result.stdout.contains(expected), "missing \(expected):\n\(result.stdout)")
        }
    }

    func testDemoRejectsTooFewProcesses() throws {
        XCTAssertEqual(try CLI.shakedown(["demo", "-n", "1"]).status, 64)
    }
}
