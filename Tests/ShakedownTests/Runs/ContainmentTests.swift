#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Escapes: the run leader killed or wedged, orphans found and credited, processes signalled only when they are
/// still the ones meant. Every case is checked against /proc.
final class ContainmentTests: XCTestCase {
    /// Whether this machine lets a test process make a cgroup v2 group (root on a writable cgroup2 mount).
    private var cgroupsAvailable: Bool {
        switch ControlGroup.create(name: "shakedown-probe-\(getpid())-\(monotonicNanoseconds())") {
        case let .success(group): _ = group.remove(); return true
        case .failure: return false
        }
    }

    private func configuration(processes: Int, timeout: Duration = .seconds(30), faults: FaultPlan = FaultPlan())
        -> RunConfiguration {
        var configuration = RunConfiguration(processes: processes, timeout: timeout, jitter: .none,
                                             teardown: (try? Teardown([.signal(.terminate), .wait(.milliseconds(200))])) ?? .default)
        configuration.faults = faults
        return configuration
    }

    /// A worker SIGKILLs the run leader while every worker has a shell and a `sleep` running, one of them in its own
    /// session: nothing of the run survives, the report says the leader died, and the run is not clean.
    func testLeaderKilledMidRunLeavesNothingBehind() throws {
        let marked = MarkedProcesses()
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration(processes: 3)) { worker in
                _ = marked.spawn("sleep 300; true", newSession: worker.index == 1)
                if worker.index == 0 {
                    _ = marked.waitFor(6)  // three shells, three sleeps
                    kill(getppid(), SIGKILL)
                }
                while true { pause() }
            }
        }
        XCTAssertEqual(marked.alive(), [], "processes survived the leader's SIGKILL\n\(report.summary)")
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertNotNil(report.leaderProblem, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("the run leader died (killed by SIGKILL)") }, report.summary)
        if cgroupsAvailable {
            XCTAssertTrue(report.containment.isKernelEnforced, report.summary)
            XCTAssertTrue(report.notes.contains { $0.contains("left in the run's cgroup") && $0.contains("sleep 300") },
                          report.summary)
        }
    }

    /// A command under test kills the leader (its shepherd's parent) while a `setsid` daemon of each copy runs.
    func testCommandThatKillsTheLeaderLeavesNothingBehind() throws {
        let marker = "leader-killer-\(UUID().uuidString)"
        let script = """
            \(Fixtures.path("setsid-daemon")) 300 \(marker)
            if [ "$SHAKEDOWN_WORKER" = 0 ]; then
              sleep 0.3; leader=$(awk '{print $4}' /proc/$PPID/stat); kill -9 "$leader"
            fi
            sleep 300
            """
        let report = try assertLeavesNothingBehind {
            try Shake.run(command: ["/bin/sh", "-c", script, marker], configuration(processes: 2))
        }
        let survivors = ProcessTable.allProcesses().filter { ProcessTable.commandLine(of: $0).contains(marker) }
        XCTAssertEqual(survivors, [], report.summary)
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("the run leader died (killed by SIGKILL)") }, report.summary)
    }

    /// Without a cgroup (the join fails), the test process kills what is left in the workers' process groups.
    func testLeaderKilledWithoutCgroupKillsTheWorkersGroups() throws {
        let marked = MarkedProcesses()
        let faults = FaultPlan([.init(.cgroupJoin, errno: EACCES)])
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration(processes: 2, faults: faults)) { worker in
                _ = marked.spawn("sleep 300; true")
                if worker.index == 0 {
                    _ = marked.waitFor(4)
                    kill(getppid(), SIGKILL)
                }
                while true { pause() }
            }
        }
        XCTAssertEqual(marked.alive(), [], "processes survived the leader's SIGKILL\n\(report.summary)")
        XCTAssertFalse(report.containment.isKernelEnforced, report.summary)
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("left in the workers' process groups") && $0.contains("sleep 300") },
                      report.summary)
    }

    /// A run without faults on this machine is contained by a cgroup, which is gone afterwards.
    func testCleanRunReportsItsContainmentAndRemovesTheGroup() throws {
        let report = try assertLeavesNothingBehind { try Shake.fork(configuration(processes: 2)) { _ in } }
        XCTAssertTrue(report.isClean, report.summary)
        XCTAssertNil(report.leaderProblem)
        guard cgroupsAvailable else { return }
        guard case let .controlGroup(path) = report.containment else { return XCTFail(report.summary) }
        XCTAssertNotEqual(access(path, F_OK), 0, "the run's cgroup \(path) was not removed")
    }

    /// A leader stuck before `setpgid` (here: stopped at its very start) used to freeze the test forever: the
    /// hard deadline killed only by process group and then waited without limit.
    func testLeaderWedgedAtStartIsKilledAtTheHardDeadline() throws {
        var configuration = configuration(processes: 2, timeout: .milliseconds(300),
                                          faults: FaultPlan(stallsLeaderAtStart: true))
        configuration.teardown = .immediate
        let started = monotonicNanoseconds()
        let report = try assertLeavesNothingBehind { try Shake.fork(configuration) { _ in } }
        let seconds = Double(monotonicNanoseconds() - started) / 1e9
        XCTAssertLessThan(seconds, 20, "the hard deadline is 10 s past the timeout")
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertEqual(report.leaderProblem, "the run leader wedged and was killed; the report may be incomplete")
        XCTAssertTrue(report.notes.contains { $0.contains("did not finish tearing down") }, report.summary)
    }

    /// A hung copy's own children, killed by teardown (and re-parented while it killed their parent), are part
    /// of the hang, not leaked orphans.
    func testHungCopysChildrenAreNotListedAsOrphans() throws {
        let ignorer = Fixtures.path("sigterm-ignorer")
        for _ in 0..<3 {
            let report = try assertLeavesNothingBehind {
                try Shake.run(command: ["/bin/sh", "-c", "\(ignorer) & \(ignorer) & wait"],
                                  configuration(processes: 2, timeout: .milliseconds(500)))
            }
            XCTAssertEqual(report.hungWorkers.count, 2, report.summary)
            XCTAssertEqual(report.orphans, [], report.summary)
            XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
        }
    }

    /// Two copies each start a child that calls setsid, forks a daemon and exits later, after its copy did (copy 0
    /// leaves at once, copy 1 after 100 ms; their children exit at 300 and 500 ms; copy 2 keeps the run going):
    /// each daemon is credited to the copy whose code started it, not to the copy that exited last.
    func testSetsidGrandchildrenAreCreditedToTheirOwnWorkers() throws {
        let script = """
            i=$SHAKEDOWN_WORKER
            if [ "$i" -lt 2 ]; then setsid sh -c "sleep 600$i & sleep 0.$((3 + 2 * i))" & sleep 0.$i; else sleep 0.9; fi
            """
        let report = try assertLeavesNothingBehind {
            try Shake.run(command: ["/bin/sh", "-c", script], configuration(processes: 3))
        }
        let daemons = report.orphans.filter { $0.command.hasPrefix("sleep 600") }
        XCTAssertEqual(daemons.count, 2, report.summary)
        for daemon in daemons {
            XCTAssertEqual(daemon.worker, daemon.command == "sleep 6000" ? 0 : 1, report.summary)
        }
    }

    /// /proc/PID/task/*/children unreadable (a kernel without CONFIG_PROC_CHILDREN): the leader scans /proc
    /// instead and still finds, credits and stops the orphan.
    func testOrphansAreFoundWhenChildrenFilesCannotBeRead() throws {
        let faults = FaultPlan([.init(.procRead, errno: ENOENT)])
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration(processes: 2, faults: faults)) { worker in
                if worker.index == 1, fork() == 0 {
                    sleep(60)
                    _exit(0)
                }
            }
        }
        XCTAssertEqual(report.orphans.count, 1, report.summary)
        XCTAssertEqual(report.orphans.first?.worker, 1, report.summary)
        XCTAssertEqual(report.orphans.first?.cleanup, .stopped(by: .terminate), report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("by scanning /proc") }, report.summary)
    }

    func testScanForChildrenMatchesTheChildrenFiles() throws {
        var pids: [pid_t] = []
        for _ in 0..<3 {
            let pid = fork()
            if pid == 0 { pause(); _exit(0) }
            pids.append(pid)
        }
        defer {
            for pid in pids {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        let listed = try XCTUnwrap(ProcessTable.childrenListing(of: getpid()))
        XCTAssertEqual(Set(ProcessTable.scanForChildren(of: getpid())), Set(listed))
        XCTAssertTrue(Set(pids).isSubset(of: Set(listed)))
        let faults = FaultInjector(FaultPlan([.init(.procRead, occurrence: 1, errno: EIO)]))
        XCTAssertNil(ProcessTable.childrenListing(of: getpid(), faults: faults))
        XCTAssertEqual(Set(ProcessTable.children(of: getpid())), Set(listed))
    }

    /// A pidfd keeps naming the process it was opened for: once that process is reaped, a signal through it
    /// reaches nobody, even if the pid is reused.
    func testProcessHandleNeverSignalsAReapedProcess() throws {
        let pid = fork()
        if pid == 0 { pause(); _exit(0) }
        let handle = ProcessHandle(pid: pid)
        defer { handle.close() }
        XCTAssertGreaterThanOrEqual(handle.descriptor, 0, "pidfd_open failed: errno \(handle.openError)")
        XCTAssertNil(reapChild(pid, handle: handle, within: .milliseconds(50)), "still running: not reaped")
        XCTAssertTrue(handle.signal(SIGKILL))
        XCTAssertEqual(reapChild(pid, handle: handle, within: .seconds(5)).map(ProcessExit.init(waitStatus:)),
                       .signaled(.kill))
        XCTAssertFalse(handle.signal(SIGTERM), "a signal through the pidfd of a reaped process must fail")
        XCTAssertEqual(errno, ESRCH)
    }
}
