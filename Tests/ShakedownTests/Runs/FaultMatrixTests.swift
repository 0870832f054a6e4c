#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Issue 4's fault matrix: each case ends with zero descendants alive and zero descriptors leaked, checked
/// against /proc rather than against Shakedown's own bookkeeping.
final class FaultMatrixTests: XCTestCase {
    private let quick = RunConfiguration(processes: 2, timeout: .seconds(1), jitter: .none,
                                         teardown: (try? Teardown([.signal(.terminate), .wait(.milliseconds(200))])) ?? .default)

    /// Runs `body`, then checks /proc: no descendant of the test process, no reported pid alive, no new descriptor.
    private func assertNothingSurvives(file: StaticString = #filePath, line: UInt = #line,
                                       _ body: () throws -> RunReport) throws -> RunReport {
        let report = try assertLeavesNothingBehind(file: file, line: line, body)
        XCTAssertEqual(ProcessTable.descendants(of: getpid()), [], "descendants alive", file: file, line: line)
        for pid in report.workers.map(\.pid) + report.workers.compactMap(\.commandPid) + report.leaks.map(\.pid) {
            XCTAssertFalse(ProcessChecks.exists(pid), "pid \(pid) still exists", file: file, line: line)
        }
        return report
    }

    func testSegfault() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { worker in if worker.index == 0 { writeToUnmappedMemory() } }
        }
        XCTAssertEqual(report.workers[0].outcome, .crashed(.segmentationFault), report.summary)
    }

    func testAbort() throws {
        let report = try assertNothingSurvives { try Shake.fork(quick) { _ in abort() } }
        XCTAssertEqual(report.workers.map(\.outcome), [.crashed(.abort), .crashed(.abort)], report.summary)
    }

    func testFatalError() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { worker in if worker.index == 1 { fatalError("matrix") } }
        }
        guard case .crashed = report.workers[1].outcome else { return XCTFail(report.summary) }
    }

    func testInfiniteLoop() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { _ in
                var spins: UInt64 = 0
                while spins != UInt64.max { spins &+= 1; if spins & 0xFFFF == 0 { Jitter.point() } }
            }
        }
        XCTAssertEqual(report.hungWorkers.count, 2, report.summary)
    }

    func testSIGTERMIgnored() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { _ in
                signal(SIGTERM, SIG_IGN)
                while true { pause() }
            }
        }
        XCTAssertEqual(report.hungWorkers.count, 2, report.summary)
        XCTAssertEqual(report.workers.map(\.exit), [.signaled(.kill), .signaled(.kill)], "only SIGKILL stops it")
    }

    func testSetsidDoubleForkDaemon() throws {
        let report = try assertNothingSurvives {
            try Shake.run(command: [Fixtures.path("setsid-daemon"), "60"], quick)
        }
        XCTAssertEqual(report.workers.map(\.outcome), [.completed, .completed], report.summary)
        XCTAssertEqual(report.orphans.count, 2, report.summary)
        XCTAssertEqual(Set(report.orphans.compactMap(\.worker)), [0, 1], "each daemon attributed to its copy")
        for orphan in report.orphans { XCTAssertEqual(orphan.cleanup, .stopped(by: .terminate), report.summary) }
    }

    func testOrphanedGrandchild() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { worker in
                if worker.index == 1, fork() == 0 {
                    sleep(60)
                    _exit(0)
                }
            }
        }
        XCTAssertEqual(report.orphans.count, 1, report.summary)
        XCTAssertEqual(report.orphans.first?.worker, 1)
        XCTAssertEqual(report.workers.map(\.outcome), [.completed, .completed])
    }

    func testZombieLeftBehind() throws {
        let report = try assertNothingSurvives {
            try Shake.run(command: [Fixtures.path("zombie-leaker"), "3", "100"], quick)
        }
        XCTAssertEqual(report.zombies.count, 6, report.summary)
        for zombie in report.zombies {
            XCTAssertEqual(zombie.exit, .exited(code: 7))
            XCTAssertEqual(zombie.parent, report.workers[zombie.worker ?? -1].commandPid)
        }
        XCTAssertTrue(report.orphans.isEmpty, report.summary)
    }

    func testZombieLeftByAClosureWorker() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { worker in
                if worker.index == 0, fork() == 0 { _exit(5) }
                usleep(20_000)
            }
        }
        XCTAssertEqual(report.zombies.map(\.worker), [0], report.summary)
        XCTAssertEqual(report.zombies.first?.exit, .exited(code: 5))
    }

    func testGarbageOnTheResultChannel() throws {
        let report = try assertNothingSurvives {
            try Shake.fork(quick) { worker in
                var junk = [UInt8](repeating: 0xAB, count: 64)
                junk[0] = 0xFF
                _ = junk.withUnsafeBytes { write(worker.channel, $0.baseAddress, $0.count) }
            }
        }
        XCTAssertTrue(report.workers.allSatisfy { $0.channelProblem != nil }, report.summary)
    }

    func testWellBehavedTwinsAreClean() throws {
        for twin in ["zombie-reaper", "orphan-waiter", "foreground-service", "sigterm-handler"] {
            let report = try assertNothingSurvives { try Shake.run(command: [Fixtures.path(twin)], quick) }
            XCTAssertTrue(report.isClean, "\(twin): \(report.summary)")
        }
    }

    func testHungCommandThatHandlesSIGTERMStopsPolitely() throws {
        var polite = quick
        polite.freezesHungWorkers = false
        let report = try assertNothingSurvives {
            try Shake.run(command: [Fixtures.path("sigterm-handler"), "0"], polite)
        }
        XCTAssertEqual(report.hungWorkers.count, 2, report.summary)
        XCTAssertEqual(report.workers.map(\.exit), [.exited(code: 0), .exited(code: 0)], report.summary)
    }

    /// By default a hung command is stopped at the deadline: its SIGTERM handler never runs, SIGKILL ends it.
    func testHungCommandIsFrozenAndKilledByDefault() throws {
        let report = try assertNothingSurvives {
            try Shake.run(command: [Fixtures.path("sigterm-handler"), "0"], quick)
        }
        XCTAssertEqual(report.hungWorkers.count, 2, report.summary)
        XCTAssertEqual(report.workers.map(\.exit), [.signaled(.kill, coreDumped: false), .signaled(.kill, coreDumped: false)],
                       report.summary)
    }
}
