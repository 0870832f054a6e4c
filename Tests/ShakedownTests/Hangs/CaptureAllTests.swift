#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Shakedown
import XCTest

/// Capturing several processes at one instant, restoring each to its prior state, and naming restarted calls.
final class CaptureAllTests: XCTestCase {
    func testAStoppedProcessIsCapturedAndStaysStopped() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        XCTAssertEqual(kill(pid, SIGSTOP), 0)
        addTeardownBlock { kill(pid, SIGCONT) }
        _ = try eventually("the process is stopped") { threadStates(pid)[pid] == "T" ? true : nil }
        let snapshot = try HangInspector().capture(pid: pid)
        XCTAssertFalse(try XCTUnwrap(snapshot.threads.first).frames.isEmpty)
        usleep(100_000)
        XCTAssertEqual(threadStates(pid).values.sorted(), ["T"], "a process stopped before capture stays stopped")
        XCTAssertEqual(kill(pid, SIGCONT), 0)
        _ = try eventually("it runs on after SIGCONT") { threadStates(pid)[pid] == "S" ? true : nil }
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("TracerPid:\t0\n"), "never left traced")
    }

    func testProcessesCapturedTogetherAreHeldTogetherAndAllReleased() throws {
        let first = try startFixture("pipe-blocked")
        let second = try startFixture("semaphore-wait", ["--sleepers", "2"])
        let pids = [try XCTUnwrap(first.readPIDs().first), try XCTUnwrap(second.readPIDs().first)]
        let results = HangInspector().captureAll(pids: pids + [pids[0]])
        XCTAssertEqual(results.map(\.pid), pids, "in the order given, each once")
        let snapshots = try results.map { try $0.result.get() }
        XCTAssertEqual(snapshots[1].threads.count, 3)
        for pid in pids {
            let states = try eventually("pid \(pid) leaves its ptrace stop") { () -> [pid_t: String]? in
                let states = threadStates(pid)
                return states.values.allSatisfy { $0 != "t" && $0 != "T" } ? states : nil
            }
            XCTAssertFalse(states.isEmpty)
        }
    }

    func testAProcessExitingDuringCaptureIsNoSuchProcessOrCaptured() throws {
        let inspector = HangInspector(options: .init(symbolization: .libunwindOnly))
        var outcomes: [String: Int] = [:]
        for _ in 0..<30 {
            // Lives a few milliseconds: capture meets it starting, running, exiting or gone.
            let process = try FixtureProcess(path: "/bin/sleep", ["0.00\(Int.random(in: 1...9))"])
            defer { process.stop() }
            let result = inspector.captureAll(pids: [process.pid]).first?.result
            switch result {
            case .success?:
                outcomes["captured", default: 0] += 1
            case let .failure(error)?:
                guard error.code == .noSuchProcess else { return XCTFail("an exiting process gave \(error)") }
                outcomes["gone", default: 0] += 1
            case nil:
                XCTFail("no result")
            }
            let status = try String(contentsOfFile: "/proc/\(process.pid)/status", encoding: .utf8)
            XCTAssertTrue(status.contains("TracerPid:\t0\n") || status.contains("State:\tZ"), "never left traced")
        }
        XCTAssertEqual(outcomes.values.reduce(0, +), 30, "\(outcomes)")
    }

    func testRestartedSleepIsNamedAfterWhatItRestarts() throws {
        let fixture = try startFixture("nslock-abba")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let inspector = HangInspector()
        // The first capture interrupts the main thread's sleep; the kernel resumes it through restart_syscall.
        let call = try eventually("the sleep is restarted") { () -> SystemCall? in
            let call = try inspector.capture(pid: pid).threads.first?.systemCall
            return call?.name == "restart_syscall" ? call : nil
        }
        XCTAssertEqual(call.description, "clock_nanosleep (restarted)")
    }

    func testTheSystemCallTableIsComplete() {
        #if arch(x86_64)
        let expected = [0: "read", 72: "fcntl", 73: "flock", 202: "futex", 219: "restart_syscall", 435: "clone3", 449: "futex_waitv"]
        #elseif arch(arm64)
        let expected = [63: "read", 25: "fcntl", 32: "flock", 98: "futex", 128: "restart_syscall", 435: "clone3", 449: "futex_waitv"]
        #else
        let expected: [Int: String] = [:]
        #endif
        for (number, name) in expected { XCTAssertEqual(SystemCall(number: number).name, name) }
        XCTAssertGreaterThan(SystemCall.names.count, 300)
        XCTAssertEqual(SystemCall(number: 100_000).name, "syscall 100000")
    }
}
