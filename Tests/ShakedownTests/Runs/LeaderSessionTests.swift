#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown

/// A `PreparedCommandRun` keeps its run leader between runs that left nothing behind (``LeaderSession``). Each
/// run must still be judged on its own evidence, start from a fresh control block, and a leader that saw anything
/// unusual must not serve again. Checked against the run's cgroup, /proc and the reports.
final class LeaderSessionTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        var template = Array("\(NSTemporaryDirectory())/shakedown-session-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        directory = String(cString: made)
        guard case let .success(group) = ControlGroup.create(name: "shakedown-probe-\(getpid())-\(monotonicNanoseconds())") else {
            throw XCTSkip("no cgroup can be made here: a kept leader is recognised by its run's cgroup")
        }
        _ = group.remove()
    }

    override func tearDownWithError() throws {
        _ = try? FileManager.default.removeItem(atPath: directory)
    }

    private func groupPath(_ report: RunReport) throws -> String {
        guard case let .controlGroup(path) = report.containment else {
            throw XCTSkip("the run was not contained by a cgroup: \(report.containment)")
        }
        return path
    }

    private func members(_ path: String) -> [pid_t] {
        ((try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? "")
            .split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Clean runs and a run whose copies fail share one leader (one cgroup); each verdict is its own; `close()`
    /// reaps the leader and removes the group.
    func testRunsShareOneLeaderAndEachIsJudgedOnItsOwn() throws {
        let flag = directory + "/fail"
        let prepared = try PreparedCommandRun(command: ["/bin/sh", "-c", "[ -e '\(flag)' ] && exit 3; exit 0"],
                                              RunConfiguration(processes: 3, timeout: .seconds(30), jitter: .none))
        var paths: [String] = []
        for (index, failing) in [false, false, true, false].enumerated() {
            if failing { XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: nil)) }
            else { _ = try? FileManager.default.removeItem(atPath: flag) }
            let seed = Seed(7).repetition(index)
            let report = try prepared.run(seed: seed)
            XCTAssertEqual(report.seed, seed)
            XCTAssertEqual(report.workers.map(\.outcome), Array(repeating: failing ? .exited(code: 3) : .completed, count: 3),
                           report.summary)
            XCTAssertEqual(report.isClean, !failing, report.summary)
            XCTAssertNil(report.leaderProblem, report.summary)
            paths.append(try groupPath(report))
        }
        XCTAssertEqual(Set(paths).count, 1, "every run had the same leader and cgroup: \(paths)")
        let leader = members(paths[0])
        XCTAssertEqual(leader.count, 1, "only the idle leader is in the run's cgroup between runs")
        prepared.close()
        XCTAssertNotEqual(access(paths[0], F_OK), 0, "the run's cgroup \(paths[0]) was not removed")
        for pid in leader { XCTAssertNil(ProcessTable.status(of: pid), "the leader \(pid) was not reaped") }
    }

    /// A command that overwrites the whole control block (it inherits its descriptor) cannot reach the next run:
    /// the kept block is reset from the shape it was made with, never from what the command wrote.
    func testScribbledControlBlockDoesNotReachTheNextRun() throws {
        let flag = directory + "/scribble"
        let script = """
            if [ -e '\(flag)' ]; then head -c 65536 /dev/zero | tr '\\0' '\\377' >&$SHAKEDOWN_RUN_FD; fi
            exit 0
            """
        let prepared = try PreparedCommandRun(command: ["/bin/sh", "-c", script],
                                              RunConfiguration(processes: 2, timeout: .seconds(30), jitter: .none),
                                              counters: 1)
        defer { prepared.close() }
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: nil))
        _ = try prepared.run(seed: Seed(1))
        try FileManager.default.removeItem(atPath: flag)
        for index in 0..<3 {
            let report = try prepared.run(seed: Seed(2).repetition(index))
            XCTAssertTrue(report.isClean, report.summary)
            XCTAssertEqual(report.workers.map(\.outcome), [.completed, .completed], report.summary)
            XCTAssertEqual(report.observations.first?.finalValue, 0, "the run-owned counter starts from 0 again")
        }
    }

    /// A run that leaves an orphan ends its leader as before (the orphan is reported and torn down), and the next
    /// run gets a new leader in a new cgroup.
    func testRunThatLeftAnOrphanGetsAFreshLeaderNext() throws {
        let flag = directory + "/leak"
        let prepared = try PreparedCommandRun(
            command: ["/bin/sh", "-c", "if [ -e '\(flag)' ]; then setsid sleep 30 >/dev/null 2>&1 & fi; exit 0"],
            RunConfiguration(processes: 2, timeout: .seconds(30), jitter: .none,
                             teardown: (try? Teardown([.signal(.terminate), .wait(.milliseconds(200))])) ?? .default))
        defer { prepared.close() }
        let first = try prepared.run(seed: Seed(3))
        XCTAssertTrue(first.isClean, first.summary)
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: nil))
        let leaking = try prepared.run(seed: Seed(4))
        XCTAssertFalse(leaking.isClean, leaking.summary)
        XCTAssertFalse(leaking.leaks.isEmpty, leaking.summary)
        try FileManager.default.removeItem(atPath: flag)
        let after = try prepared.run(seed: Seed(5))
        XCTAssertTrue(after.isClean, after.summary)
        XCTAssertEqual(try groupPath(first), try groupPath(leaking), "the clean first run kept its leader")
        XCTAssertNotEqual(try groupPath(leaking), try groupPath(after), "the leaking run's leader did not serve again")
        XCTAssertNotEqual(access(try groupPath(leaking), F_OK), 0, "the leaking run's cgroup was removed")
    }

    /// A run that hangs under a kept leader is torn down at its deadline as always (the teardown request reaches
    /// the leader during the run, never while idle), reported hung, and the next run gets a new leader.
    func testHungRunUnderAKeptLeaderIsTornDownAndTheNextGetsANewLeader() throws {
        let flag = directory + "/hang"
        var configuration = RunConfiguration(processes: 2, timeout: .milliseconds(500), jitter: .none,
                                             teardown: (try? Teardown([.signal(.terminate), .wait(.milliseconds(200))])) ?? .default)
        configuration.diagnosesHangs = false  // Only the verdict and the teardown matter here.
        let prepared = try PreparedCommandRun(
            command: ["/bin/sh", "-c", "if [ -e '\(flag)' ]; then exec sleep 300; fi; exit 0"], configuration)
        defer { prepared.close() }
        let first = try prepared.run(seed: Seed(11))
        XCTAssertTrue(first.isClean, first.summary)
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: nil))
        let hanging = try prepared.run(seed: Seed(12))
        XCTAssertFalse(hanging.isClean, hanging.summary)
        XCTAssertEqual(hanging.hungWorkers.count, 2, hanging.summary)
        try FileManager.default.removeItem(atPath: flag)
        let after = try prepared.run(seed: Seed(13))
        XCTAssertTrue(after.isClean, after.summary)
        XCTAssertEqual(try groupPath(first), try groupPath(hanging), "the clean first run kept its leader")
        XCTAssertNotEqual(try groupPath(hanging), try groupPath(after), "the hung run's leader did not serve again")
        // A cgroup can be removed only when empty: nothing of the hung run is left.
        XCTAssertNotEqual(access(try groupPath(hanging), F_OK), 0, "the hung run's cgroup was not removed")
    }

    /// A kept leader killed while idle is replaced: the next run is clean, with a new leader, and nothing is lost.
    func testLeaderKilledWhileIdleIsReplaced() throws {
        let prepared = try PreparedCommandRun(command: ["/bin/true"],
                                              RunConfiguration(processes: 2, timeout: .seconds(30), jitter: .none))
        defer { prepared.close() }
        let first = try prepared.run(seed: Seed(8))
        XCTAssertTrue(first.isClean, first.summary)
        let path = try groupPath(first)
        let leader = members(path)
        XCTAssertEqual(leader.count, 1, "the idle leader is alone in its cgroup")
        for pid in leader {
            XCTAssertEqual(kill(pid, SIGKILL), 0)
            // kill(2) returns before the process is gone: wait until it is a zombie, as a leader that died earlier is.
            let deadline = monotonicNanoseconds() + 5_000_000_000
            while ProcessTable.status(of: pid)?.isZombie != true && monotonicNanoseconds() < deadline { usleep(1_000) }
        }
        let second = try prepared.run(seed: Seed(9))
        XCTAssertTrue(second.isClean, second.summary)
        XCTAssertEqual(second.workers.map(\.outcome), [.completed, .completed], second.summary)
        XCTAssertNotEqual(try groupPath(second), path)
        XCTAssertNotEqual(access(path, F_OK), 0, "the dead leader's cgroup was removed")
    }

    /// A hostile command cannot make a kept leader's run look clean: forged exits on the result channel and in
    /// the control block are still checked against the shepherds' wait statuses, run after run.
    func testForgedExitIsCaughtInEveryRunOfAKeptLeader() throws {
        // Writes a shepherd-style "exited 0" frame for itself on the result channel, then exits 3.
        let prepared = try PreparedCommandRun(
            command: ["/bin/bash", "-c", "printf '\\x12\\x00\\x00\\x00\\x06' >&$SHAKEDOWN_RESULT_FD; exit 3"],
            RunConfiguration(processes: 2, timeout: .seconds(30), jitter: .none))
        defer { prepared.close() }
        var paths: Set<String> = []
        for index in 0..<4 {
            let report = try prepared.run(seed: Seed(10).repetition(index))
            XCTAssertFalse(report.isClean, report.summary)
            for worker in report.workers { XCTAssertFalse(worker.outcome.isSuccess, report.summary) }
            paths.insert(try groupPath(report))
        }
        XCTAssertEqual(paths.count, 1, "a copy's failure is no reason to replace the leader: \(paths)")
    }
}
