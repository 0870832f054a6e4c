#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Foundation
@testable import Shakedown
import XCTest

/// `shakedown diagnose` on hostile arguments and awkward targets: other tracers, exiting threads, foreign PID
/// namespaces, static binaries, being killed mid-capture, not being allowed to trace.
final class DiagnoseRobustnessTests: XCTestCase {
    private var shakedown: String { Fixtures.path("shakedown") }

    /// Runs `shakedown ARGUMENTS` with standard error folded into standard output.
    private func diagnose(_ arguments: [String], prefix: [String] = []) throws -> (output: String, exitCode: CInt) {
        let command = prefix + [shakedown] + arguments
        return try run("/bin/sh", ["-c", "exec \"$@\" 2>&1", "sh"] + command)
    }

    func testFrameCountsOutOfRangeAreUsageErrors() throws {
        for value in ["4294967297", "0", "-1", "-4294967297"] {
            let result = try diagnose(["diagnose", "--max-frames", value, "1"])
            XCTAssertEqual(result.exitCode, 64, "--max-frames \(value): \(result.output)")
            XCTAssertTrue(result.output.contains("--max-frames \(value) is out of range: give 1...4096"), result.output)
        }
        let frames = try diagnose(["diagnose", "--frames", "-3", "1"])
        XCTAssertEqual(frames.exitCode, 64, frames.output)
        for value in ["inf", "1e10", "nan", "0"] {
            let result = try diagnose(["diagnose", "--timeout", value, "1"])
            XCTAssertEqual(result.exitCode, 64, "--timeout \(value): \(result.output)")
            XCTAssertTrue(result.output.contains("out of range"), result.output)
        }
    }

    func testHugeLimitsInTheLibraryDoNotTrap() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let inspector = HangInspector(options: .init(
            maxFrames: Int.max, timeLimit: .seconds(Int64.max / 2), threadStopTimeLimit: .seconds(Int64.max),
            symbolization: .libunwindOnly))
        let snapshot = try inspector.capture(pid: pid)
        XCTAssertFalse(try XCTUnwrap(snapshot.threads.first).frames.isEmpty)
    }

    func testASecondaryThreadTracedByStraceNamesTheTracer() throws {
        guard access("/usr/bin/strace", X_OK) == 0 else { throw XCTSkip("needs /usr/bin/strace") }
        let fixture = try startFixture("semaphore-wait", ["--sleepers", "1"])
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let sleeper = try eventually("the sleeper thread exists") { threadStates(pid).keys.first(where: { $0 != pid }) }
        let strace = try FixtureProcess(path: "/usr/bin/strace", ["-o", "/dev/null", "-p", "\(sleeper)"])
        addTeardownBlock { strace.stop() }
        _ = try eventually("strace attaches to the sleeper") { () -> Bool? in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(sleeper)/status", encoding: .utf8)) ?? ""
            return status.contains("TracerPid:\t\(strace.pid)\n") ? true : nil
        }
        let result = try diagnose(["diagnose", "\(pid)"])
        XCTAssertEqual(result.exitCode, 4, result.output)
        XCTAssertTrue(result.output.contains("thread \(sleeper) is already traced by \(strace.pid) (strace)"), result.output)
        XCTAssertFalse(result.output.contains("SELinux"), result.output)
        let main = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(main.contains("TracerPid:\t0\n"), "the main thread is left untraced")
        XCTAssertEqual(threadStates(pid)[pid], "S", "the target keeps running (not left stopped)")
    }

    func testRefusalReasonAndFixAgreeWithWhoWeAre() {
        let root = PtraceRefusal(facts: .init(
            targetPID: 1, thread: 1, effectiveUID: 0, capabilities: 0x1_FFFE_FFFF_FF, ptraceScope: nil, targetUID: 0,
            targetCapabilities: 0x1_FFFF_FFFF_FF, procOwnerUID: 0, isDescendant: false)).explanation
        XCTAssertFalse(root.localizedCaseInsensitiveContains("run as root"), root)
        XCTAssertFalse(root.contains("lacks CAP_SYS_PTRACE"), root)
        XCTAssertTrue(root.contains("CAP_SYS_RESOURCE"), root)
        XCTAssertTrue(root.contains("already has CAP_SYS_PTRACE and is root"), root)

        let user = PtraceRefusal(facts: .init(
            targetPID: 4242, thread: 4242, effectiveUID: 1000, capabilities: 0, ptraceScope: 1, targetUID: 1000,
            targetCapabilities: 0, procOwnerUID: 1000, isDescendant: false)).explanation
        XCTAssertTrue(user.contains("lacks CAP_SYS_PTRACE"), user)
        XCTAssertTrue(user.contains("ptrace_scope is 1"), user)
        XCTAssertTrue(user.contains("PR_SET_PTRACER"), user)
        XCTAssertTrue(user.contains("To capture it:"), user)
    }

    func testAnUnprivilegedDiagnoseExplainsReasonAndFix() throws {
        guard access("/usr/bin/setpriv", X_OK) == 0, geteuid() == 0 else { throw XCTSkip("needs root and setpriv") }
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let result = try diagnose(
            ["diagnose", "--no-symbolizer", "\(pid)"],
            prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "--"])
        XCTAssertEqual(result.exitCode, 4, result.output)
        XCTAssertTrue(result.output.contains("uid 0 and this process as uid 65534"), result.output)
        XCTAssertTrue(result.output.contains("lacks CAP_SYS_PTRACE"), result.output)
        XCTAssertTrue(result.output.contains("To capture it: run shakedown as uid 0 or as root"), result.output)
    }

    func testThreadsExitingDuringCaptureAreNotPermissionDenied() throws {
        let fixture = try startFixture("thread-churn")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let inspector = HangInspector(options: .init(symbolization: .libunwindOnly))
        for round in 0..<40 {
            let result = Result { () throws(ShakedownError) -> ProcessSnapshot in try inspector.capture(pid: pid) }
            switch result {
            case let .success(snapshot):
                XCTAssertTrue(snapshot.threads.contains { $0.tid == pid }, "round \(round): the main thread is there")
            case let .failure(error):
                XCTFail("round \(round): capture failed while threads exited: \(error)")
            }
        }
        XCTAssertEqual(kill(pid, 0), 0, "the target keeps running")
    }

    func testAChildPIDNamespaceSaysWhyNothingCanBeCaptured() throws {
        guard access("/usr/bin/unshare", X_OK) == 0, try run("/usr/bin/unshare", ["-p", "-f", "/bin/true"]).exitCode == 0
        else { throw XCTSkip("cannot create a PID namespace here") }
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let result = try diagnose(["diagnose", "\(pid)"], prefix: ["/usr/bin/unshare", "-p", "-f"])
        XCTAssertEqual(result.exitCode, 6, result.output)
        XCTAssertTrue(result.output.contains("different PID namespace"), result.output)
        XCTAssertFalse(result.output.contains("0 threads"), result.output)
    }

    func testAStaticBinarysShortStacksAreExplained() throws {
        let directory = NSTemporaryDirectory() + "shakedown-static-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let source = """
            #include <pthread.h>
            #include <stdio.h>
            #include <unistd.h>
            #include <sys/prctl.h>
            #include <signal.h>
            static void *sleeper(void *unused) { for (;;) sleep(100); return unused; }
            int main(void) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                pthread_t thread; pthread_create(&thread, 0, sleeper, 0);
                printf("%d\\n", getpid()); fflush(stdout);
                for (;;) pause();
            }
            """
        try source.write(toFile: directory + "/static.c", atomically: true, encoding: .utf8)
        let built = try run("/bin/sh", ["-c", "cc -static -O2 -pthread -o '\(directory)/static' '\(directory)/static.c' 2>&1"])
        guard built.exitCode == 0 else { throw XCTSkip("no static C toolchain: \(built.output)") }
        let fixture = try FixtureProcess(path: directory + "/static")
        addTeardownBlock { fixture.stop() }
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        _ = try eventually("both threads sleep") { threadStates(pid).count == 2 && threadStates(pid).values.allSatisfy { $0 == "S" } ? true : nil }
        let snapshot = try HangInspector().capture(pid: pid)
        XCTAssertEqual(snapshot.threads.count, 2)
        for thread in snapshot.threads where thread.frames.count <= 2 {
            let reason = try XCTUnwrap(thread.unwindStopReason, "thread \(thread.tid): \(thread.frames.count) frame(s) and no note")
            XCTAssertTrue(reason.contains("no unwind index"), reason)
        }
    }

    func testSymbolizersDieWithAKilledDiagnose() throws {
        // A stand-in symbolizer that never answers keeps diagnose mid-capture for as long as the test needs.
        let directory = NSTemporaryDirectory() + "shakedown-fake-symbolizer-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let fake = directory + "/llvm-symbolizer"
        try "#!/bin/sh\nexec sleep 120\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        let fixture = try startFixture("pipe-blocked")
        let target = try XCTUnwrap(fixture.readPIDs().first)
        let diagnose = try FixtureProcess(path: "/usr/bin/env", ["SHAKEDOWN_LLVM_SYMBOLIZER=\(fake)", shakedown, "diagnose", "\(target)"])
        addTeardownBlock { diagnose.stop() }
        let helpers = try eventually("diagnose starts its symbolizers") { () -> [Int32]? in
            let children = Self.children(of: diagnose.pid).filter { Self.commandLine($0).hasPrefix("sleep\u{0}120") }
            return children.count >= 1 ? children : nil
        }
        diagnose.stop()   // SIGKILL mid-capture, and reap
        let survivors = try eventually("the symbolizers die with diagnose", timeout: .seconds(5)) { () -> [Int32]? in
            let alive = helpers.filter { pid in
                guard let state = Self.state(pid) else { return false }
                return state != "Z" && Self.commandLine(pid).hasPrefix("sleep\u{0}120")
            }
            return alive.isEmpty ? alive : nil
        }
        XCTAssertEqual(survivors, [])
    }

    private static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == parent
        }
    }

    private static func state(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    private static func commandLine(_ pid: Int32) -> String {
        FileManager.default.contents(atPath: "/proc/\(pid)/cmdline").map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}

