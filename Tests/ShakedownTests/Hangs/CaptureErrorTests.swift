#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Shakedown
import XCTest

/// What capture refuses, and how it says so.
final class CaptureErrorTests: XCTestCase {
    func testNonexistentProcessIsNoSuchProcess() {
        // Larger than any pid_max (at most 2^22), so it never exists.
        let pid: Int32 = 2_000_000_000
        XCTAssertThrowsError(try HangInspector().capture(pid: pid)) { error in
            XCTAssertEqual(error as? ShakedownError, .noSuchProcess(pid: pid))
        }
    }

    func testNonPositivePidIsInvalid() {
        XCTAssertThrowsError(try HangInspector().capture(pid: 0)) { error in
            guard let error = error as? ShakedownError, error.code == .invalidArgument, error.argumentName == "pid" else {
                return XCTFail("\(error)")
            }
        }
    }

    func testCapturingItselfIsRefused() {
        XCTAssertThrowsError(try HangInspector().capture(pid: getpid())) { error in
            guard let error = error as? ShakedownError, error.argumentName == "pid", let reason = error.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("cannot ptrace itself"), reason)
        }
        // One of this process's other threads is the same process.
        XCTAssertThrowsError(try HangInspector().capture(pid: shakedown_gettid())) { error in
            guard let error = error as? ShakedownError, error.code == .invalidArgument, error.argumentName == "pid" else {
                return XCTFail("\(error)")
            }
        }
    }

    func testZombieIsReportedWithoutThreads() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        kill(pid, SIGKILL)  // not reaped yet: a zombie until fixture.stop()
        _ = try eventually("pid \(pid) becomes a zombie") { threadStates(pid)[pid] == "Z" ? true : nil }

        let snapshot = try HangInspector().capture(pid: pid)
        XCTAssertEqual(snapshot.state, .zombie)
        XCTAssertTrue(snapshot.threads.isEmpty)
        XCTAssertTrue(snapshot.notes.contains { $0.hasPrefix("zombie, no threads to unwind") }, "\(snapshot.notes)")
        XCTAssertTrue(SnapshotRenderer().render(snapshot).contains("zombie"))
    }

    func testProcessTracedByAnotherTracerIsPermissionDeniedNamingIt() throws {
        let fixture = try startFixture("pipe-blocked")
        let target = try XCTUnwrap(fixture.readPIDs().first)

        // Another process seizes the target and keeps it; it only makes raw system calls after fork.
        var channel: [CInt] = [-1, -1]
        XCTAssertEqual(pipe(&channel), 0)
        let reader = channel[0], writer = channel[1]
        let tracer = fork()
        if tracer == 0 {
            _ = shakedown_set_parent_death_signal(SIGKILL)
            var result = shakedown_ptrace_seize(target)
            _ = write(writer, &result, 4)
            while true { pause() }
        }
        XCTAssertGreaterThan(tracer, 0)
        addTeardownBlock {
            kill(tracer, SIGKILL)
            var status: CInt = 0
            waitpid(tracer, &status, 0)
        }
        close(writer)
        var seized: CInt = -1
        XCTAssertEqual(read(reader, &seized, 4), 4)
        close(reader)
        XCTAssertEqual(seized, 0, "the other tracer seized the target")

        XCTAssertThrowsError(try HangInspector().capture(pid: target)) { error in
            guard let error = error as? ShakedownError, error.code == .permissionDenied, let pid = error.pid, let reason = error.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(pid, target)
            XCTAssertTrue(reason.contains("already being traced by process \(tracer)"), reason)
        }
    }

    func testKernelThreadIsRefused() throws {
        guard let kernelThread = Self.findKernelThread() else {
            throw XCTSkip("no kernel thread visible in this pid namespace")
        }
        XCTAssertThrowsError(try HangInspector().capture(pid: kernelThread)) { error in
            guard let error = error as? ShakedownError, error.argumentName == "pid", let reason = error.reason else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("kernel thread"), reason)
        }
    }

    private static func findKernelThread() -> pid_t? {
        for pid: pid_t in 2...200 {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 6, let flags = UInt64(fields[6]), flags & 0x0020_0000 != 0 { return pid }
        }
        return nil
    }
}
