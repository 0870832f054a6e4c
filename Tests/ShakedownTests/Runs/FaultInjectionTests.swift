#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Shakedown's own system calls failing, injected through ``FaultPlan``: each run still ends with nothing left
/// behind, and no failure yields a clean verdict it has not earned.
final class FaultInjectionTests: XCTestCase {
    private func configuration(processes: Int = 2, _ faults: [FaultPlan.Fault]) -> RunConfiguration {
        var configuration = RunConfiguration(processes: processes, timeout: .seconds(20), jitter: .none,
                                             teardown: (try? Teardown([.signal(.terminate), .wait(.milliseconds(200))])) ?? .default)
        configuration.faults = FaultPlan(faults)
        return configuration
    }

    func testInjectorCountsCallsFromOneAndFailsOnlyThePlannedOne() {
        let injector = FaultInjector(FaultPlan([.init(.fork, occurrence: 2, errno: EAGAIN)]))
        XCTAssertNil(injector.failure(.fork))
        XCTAssertEqual(injector.failure(.fork), EAGAIN)
        XCTAssertNil(injector.failure(.fork))
        XCTAssertNil(injector.failure(.pipe2))
        let every = FaultInjector(FaultPlan([.init(.prctl, errno: EINVAL)]))
        XCTAssertEqual(every.call(.prctl) { Int32(0) }, -1)
        XCTAssertEqual(errno, EINVAL)
        XCTAssertEqual(every.call(.prctl) { Int32(0) }, -1)
        XCTAssertEqual(FaultInjector(FaultPlan()).call(.prctl) { Int32(7) }, 7)
    }

    /// The leader's fork of worker 1 fails: that worker is reported as never started, with fork's errno.
    func testForkFailureOfOneWorker() throws {
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration(processes: 3, [.init(.fork, occurrence: 2, errno: EAGAIN)])) { _ in }
        }
        XCTAssertFalse(report.workers[1].outcome.isSuccess, report.summary)
        XCTAssertFalse(report.isClean, report.summary)
        guard case let .notStarted(reason) = report.workers[1].outcome else { return XCTFail(report.summary) }
        XCTAssertTrue(reason.contains("fork failed: EAGAIN"), reason)
    }

    /// A `pipe2` failure while the run's pipes are opened: a typed error naming pipe2 and its errno, and every
    /// pipe opened before it closed again.
    func testPipe2FailureIsTypedAndLeaksNothing() throws {
        try ProcessChecks.warmUpHangCapture()
        let descriptorsBefore = ProcessTable.openDescriptorCount()
        let childrenBefore = ProcessChecks.children()
        XCTAssertThrowsError(try Shake.fork(configuration([.init(.pipe2, occurrence: 4, errno: EMFILE)])) { _ in }) { error in
            XCTAssertEqual(error as? ShakedownError, .systemCall("pipe2", errno: .tooManyOpenFiles))
        }
        XCTAssertEqual(ProcessTable.openDescriptorCount(), descriptorsBefore, "descriptors leaked")
        XCTAssertEqual(ProcessChecks.children(), childrenBefore)
    }

    /// The leader cannot get its SIGCHLD signalfd: it starts no worker, says so, and the run is not clean.
    func testSignalfdFailure() throws {
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration([.init(.signalfd, errno: EMFILE)])) { _ in }
        }
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertEqual(report.leaderProblem, "the run leader could not watch its children and started no worker")
        XCTAssertTrue(report.notes.contains { $0.contains("signalfd") && $0.contains("errno \(EMFILE)") }, report.summary)
        XCTAssertTrue(report.workers.allSatisfy { !$0.outcome.isSuccess }, report.summary)
    }

    /// `prctl(PR_SET_CHILD_SUBREAPER)` fails in the leader: the orphan a worker leaves bypasses it; the run is not
    /// clean, the note names prctl, and nothing survives.
    func testSubreaperFailure() throws {
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration([.init(.prctl, errno: EINVAL)])) { worker in
                if worker.index == 0, fork() == 0 {
                    sleep(60)
                    _exit(0)
                }
            }
        }
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertNotNil(report.leaderProblem, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("prctl(PR_SET_CHILD_SUBREAPER)") }, report.summary)
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [])
    }

    /// No pidfds at all (both the leader's watch on the test process and the test's on the leader): the lifeline
    /// pipe and the event pipe stand in, and a plain run is still clean.
    func testPidfdOpenFailureFallsBack() throws {
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration([.init(.pidfdOpen, errno: ENOSYS)])) { _ in }
        }
        XCTAssertTrue(report.isClean, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("watching it through the lifeline pipe") }, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("watching it through its event pipe") }, report.summary)
    }

    /// Without pidfds, a leader killed mid-run is still noticed (end of file on its event pipe) and cleaned up.
    func testLeaderKilledWithoutPidfdsIsStillCleanedUp() throws {
        let marked = MarkedProcesses()
        let report = try assertLeavesNothingBehind {
            try Shake.fork(configuration([.init(.pidfdOpen, errno: ENOSYS)])) { worker in
                _ = marked.spawn("sleep 300; true")
                if worker.index == 0 {
                    _ = marked.waitFor(4)
                    kill(getppid(), SIGKILL)
                }
                while true { pause() }
            }
        }
        XCTAssertEqual(marked.alive(), [], report.summary)
        XCTAssertFalse(report.isClean, report.summary)
        XCTAssertTrue(report.notes.contains { $0.contains("the run leader died") }, report.summary)
    }
}
