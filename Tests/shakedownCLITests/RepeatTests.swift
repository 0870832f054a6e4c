#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// `shakedown run --repeat/--before/--check/--keep-going` on real commands that keep their state in a file.
final class RepeatTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shakedown-repeat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // A file-backed counter: read, pause, write. Four copies started together read the same value.
        try script("increment", "n=$(cat \"$1/counter\"); sleep 0.05; echo $((n + 1)) > \"$1/counter\"")
        // Its twin takes an flock around the read-modify-write.
        try script("locked-increment", "exec 9>>\"$1/counter.lock\"; flock 9; n=$(cat \"$1/counter\"); sleep 0.01; echo $((n + 1)) > \"$1/counter\"")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func script(_ name: String, _ body: String) throws {
        let path = directory + "/" + name
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
    }

    private var reset: String { "echo 0 > '\(directory)/counter'" }
    private var checkFour: String { "test $(cat '\(directory)/counter') -eq 4" }

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testUnlockedFileCounterFailsTheCheckAndStopsAtTheFirstFailure() throws {
        let result = try CLI.shakedown(["run", "-n", "4", "--repeat", "20", "--before", reset, "--check", checkFour,
                                        "--json", "--", directory + "/increment", directory])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        let report = try json(result.stdout)
        XCTAssertEqual(report["checkFailures"] as? Int, 1)
        let failures = try XCTUnwrap(report["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.count, 1)
        XCTAssertEqual(report["repetitions"] as? Int, (failures[0]["repetition"] as? Int).map { $0 + 1 },
                       "stopped at the first failed check")
        XCTAssertTrue((failures[0]["reason"] as? String)?.contains("check") ?? false, "\(failures)")
        XCTAssertEqual(report["exitCode"] as? Int, 5)
        // Every copy itself succeeded: the failure is the state, which only the check sees.
        let copies = try XCTUnwrap(report["copies"] as? [[String: Any]])
        XCTAssertTrue(copies.allSatisfy { ($0["exit"] as? [String: Any])?["code"] as? Int == 0 }, result.stdout)
    }

    func testLockedFileCounterPassesEveryCheck() throws {
        let result = try CLI.shakedown(["run", "-n", "4", "--repeat", "5", "--before", reset, "--check", checkFour,
                                        "--json", "--", directory + "/locked-increment", directory])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let report = try json(result.stdout)
        XCTAssertEqual(report["repetitions"] as? Int, 5)
        XCTAssertEqual(report["checkFailures"] as? Int, 0)
        XCTAssertEqual((report["failures"] as? [Any])?.count, 0)
        XCTAssertEqual((report["check"] as? [String: Any])?["passed"] as? Bool, true)
    }

    func testKeepGoingRunsEveryRepetitionAndCountsEachFailure() throws {
        // A check that fails in repetition 1 only: deterministic, so the counts are exact.
        let check = #"test "$SHAKEDOWN_REPETITION" != 1"#
        let stopping = try CLI.shakedown(["run", "-n", "2", "--repeat", "4", "--check", check, "--json", "--", "/bin/true"])
        XCTAssertEqual(stopping.status, 5, stopping.stdout + stopping.stderr)
        XCTAssertEqual(try json(stopping.stdout)["repetitions"] as? Int, 2)

        let going = try CLI.shakedown(["run", "-n", "2", "--repeat", "4", "--keep-going", "--check", check, "--json",
                                       "--", "/bin/true"])
        XCTAssertEqual(going.status, 5, going.stdout + going.stderr)
        let report = try json(going.stdout)
        XCTAssertEqual(report["repetitions"] as? Int, 4)
        XCTAssertEqual(report["checkFailures"] as? Int, 1)
        let failures = try XCTUnwrap(report["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.compactMap { $0["repetition"] as? Int }, [1])
    }

    func testBeforeAndCheckSeeTheRepetitionAndItsDerivedSeed() throws {
        let log = directory + "/log"
        let result = try CLI.shakedown([
            "run", "-n", "1", "--repeat", "3", "--seed", "1234",
            "--before", "echo before $SHAKEDOWN_REPETITION $SHAKEDOWN_SEED >> '\(log)'",
            "--check", "echo check $SHAKEDOWN_REPETITION $SHAKEDOWN_SEED >> '\(log)'",
            "--", "/bin/true"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let expected = (0..<3).flatMap { index in
            ["before", "check"].map { "\($0) \(index) \(Seed(1234).repetition(index).value)" }
        }
        XCTAssertEqual(lines, expected)
        XCTAssertEqual(lines.first, "before 0 1234", "repetition 0 runs with the run's own seed")
    }

    func testReplayLineReproducesTheFailingRepetition() throws {
        // The check fails only under the seed of repetition 2, so only a faithful replay fails again.
        let failingSeed = Seed(777).repetition(2)
        let check = "test \"$SHAKEDOWN_SEED\" != \(failingSeed.value)"
        let result = try CLI.shakedown(["run", "-n", "2", "--repeat", "5", "--seed", "777", "--check", check,
                                        "--", "/bin/true"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        let replay = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("replay: ") })
        XCTAssertEqual(String(replay), "replay: shakedown run -n 2 --seed \(failingSeed.hexadecimal) --repeat 1 "
            + "--check 'test \"$SHAKEDOWN_SEED\" != \(failingSeed.value)' -- /bin/true")
        let again = try CLI.shakedown(["run", "-n", "2", "--seed", failingSeed.hexadecimal, "--repeat", "1",
                                       "--check", check, "--", "/bin/true"])
        XCTAssertEqual(again.status, 5, again.stdout + again.stderr)
        XCTAssertTrue(result.stdout.contains("repetition 2 (of 5; seed \(failingSeed.hexadecimal))"), result.stdout)
    }

    /// A check that starts a setsid daemon used to leave it alive under pid 1 while the CLI said clean.
    func testDaemonsStartedByStepsAreKilledAndReported() throws {
        let marker = "sleep 299.\(getpid())"
        let result = try CLI.shakedown(["run", "-n", "1", "--check",
                                        "setsid sh -c 'trap \"\" TERM HUP; \(marker)' >/dev/null 2>&1 & sleep 0.1",
                                        "--", "/bin/true"])
        XCTAssertEqual(result.status, 4, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("left"), result.stderr)
        usleep(100_000)
        let survivors = ProcessTable.descendants(of: 1).filter { ProcessTable.commandLine(of: $0).contains(marker) }
        XCTAssertEqual(survivors, [], "a step's daemon outlived the CLI")
        for pid in survivors { kill(pid, SIGKILL) }
    }

    /// The steps' sweep of leftovers spares the run leader kept between repetitions: each check sees the same
    /// idle leader among the CLI's children (every child that is not the check's own shell).
    func testChecksSpareTheKeptRunLeader() throws {
        let seen = directory + "/leaders"
        let check = "for p in $(cat /proc/$PPID/task/*/children); do [ \"$(cat /proc/$p/comm)\" = sh ] || echo $p; done >> '\(seen)'"
        let result = try CLI.shakedown(["run", "-n", "2", "--repeat", "5", "--before", reset, "--check", check, "--",
                                        "/bin/true"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let leaders = try String(contentsOfFile: seen, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(leaders.count, 5, "one idle leader per check: \(leaders)")
        XCTAssertEqual(Set(leaders).count, 1, "the leader was replaced between repetitions: \(leaders)")
    }

    /// The speed of `--repeat` rests on the kept run leader (docs/benchmarks.md, "Where a command repetition's
    /// time goes"): a plain `--repeat` (no steps) must fork one leader for the whole loop and, per repetition, only
    /// a fresh shepherd per copy. Counted from the copies themselves, so the load on the host does not matter: each
    /// copy writes its shepherd (its parent) and that shepherd's parent, the run leader.
    func testPlainRepeatKeepsOneLeaderAndForksOnlyAShepherdPerCopy() throws {
        let seen = directory + "/lineage"
        let record = "read -r _ _ _ leader _ < /proc/$PPID/stat; echo \"$PPID $leader\" >> '\(seen)'"
        let result = try CLI.shakedown(["run", "-n", "2", "--repeat", "6", "--", "/bin/sh", "-c", record])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let lines = try String(contentsOfFile: seen, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 12, "one line per copy per repetition: \(lines)")
        let shepherds = Set(lines.map { $0.split(separator: " ").first.map(String.init) ?? "" })
        let leaders = Set(lines.map { $0.split(separator: " ").last.map(String.init) ?? "" })
        XCTAssertEqual(shepherds.count, 12, "every copy of every repetition gets a fresh shepherd: \(lines)")
        XCTAssertEqual(leaders.count, 1, "the run leader was replaced between repetitions: \(lines)")
        XCTAssertTrue(shepherds.isDisjoint(with: leaders), "\(lines)")
    }

    func testMissingCheckCommandIsAFailedCheckSayingNotFound() throws {
        let result = try CLI.shakedown(["run", "-n", "1", "--check", "no-such-check-command-anywhere", "--json",
                                        "--", "/bin/true"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        let report = try json(result.stdout)
        let reason = try XCTUnwrap((report["failures"] as? [[String: Any]])?.first?["reason"] as? String)
        XCTAssertTrue(reason.contains("not found"), reason)
        XCTAssertTrue(reason.contains("no-such-check-command-anywhere"), reason)

        let text = try CLI.shakedown(["run", "-n", "1", "--check", "no-such-check-command-anywhere", "--", "/bin/true"])
        XCTAssertEqual(text.status, 5)
        XCTAssertTrue(text.stdout.contains("check FAILED: `no-such-check-command-anywhere` command not found"), text.stdout)
    }

    func testFailedRunsKeepTheirCodeAndStopTheLoop() throws {
        // A crash and a failed check in the same repetition: the crash's 1 wins over 5 (order 3, 1, 4, 5).
        let result = try CLI.shakedown(["run", "-n", "2", "--repeat", "3", "--check", "false", "--json", "--",
                                        "/bin/sh", "-c", "kill -SEGV $$"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        let report = try json(result.stdout)
        XCTAssertEqual(report["repetitions"] as? Int, 1)
        XCTAssertEqual(report["checkFailures"] as? Int, 1)
        let reason = try XCTUnwrap((report["failures"] as? [[String: Any]])?.first?["reason"] as? String)
        XCTAssertTrue(reason.contains("SIGSEGV") && reason.contains("check"), reason)
    }

    func testFailingBeforeStopsWithExit70() throws {
        let result = try CLI.shakedown(["run", "-n", "1", "--repeat", "3", "--before", "exit 9", "--", "/bin/true"])
        XCTAssertEqual(result.status, 70, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("--before exited with code 9 in repetition 0"), result.stderr)
    }

    func testHungCheckIsKilledAtTheDeadline() throws {
        // A unique sleep length marks both the shell and its sleep child in /proc.
        let marker = "300.\(UInt32.random(in: 100_000...999_999))"
        let started = Date()
        let result = try CLI.shakedown(["run", "-n", "1", "--timeout", "1", "--check", "sleep \(marker); true",
                                        "--", "/bin/true"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("still running at the deadline"), result.stdout)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
        XCTAssertEqual(CLI.processes(containing: marker), [], "the check and its children are gone")
    }

    func testInterruptingShakedownDuringACheckStopsTheCheck() throws {
        // The check runs in its own process group, which Ctrl-C does not reach; shakedown must take it along.
        let marker = "120.\(UInt32.random(in: 100_000...999_999))"
        let runner = Process()
        runner.executableURL = URL(fileURLWithPath: CLI.path("shakedown"))
        runner.arguments = ["run", "-n", "1", "--check", "sleep \(marker); true", "--", "/bin/true"]
        runner.standardOutput = FileHandle.nullDevice
        runner.standardError = FileHandle.nullDevice
        try runner.run()
        // The marker is also in the argv of shakedown and its forks (leader, shepherds): wait for the sleep itself.
        let sleeping = { CLI.processes(containing: "sleep\u{0}\(marker)\u{0}") }
        let waitStart = Date()
        while sleeping().isEmpty, Date().timeIntervalSince(waitStart) < 20 { usleep(20_000) }
        XCTAssertEqual(sleeping().count, 1, "the check's sleep is running")
        // SIGTERM, not SIGINT: a test runner started in the background may have SIGINT ignored, and its
        // children inherit that. The same handler serves SIGINT, SIGTERM and SIGHUP.
        kill(runner.processIdentifier, SIGTERM)
        runner.waitUntilExit()
        XCTAssertEqual(runner.terminationReason, .uncaughtSignal)
        XCTAssertEqual(runner.terminationStatus, SIGTERM)
        let gone = Date()
        while !CLI.processes(containing: marker).isEmpty, Date().timeIntervalSince(gone) < 5 { usleep(20_000) }
        XCTAssertEqual(CLI.processes(containing: marker), [], "nothing of the check survives")
    }
}
