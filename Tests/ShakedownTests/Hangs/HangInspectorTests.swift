#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// Capture of single processes blocked in different ways.
final class HangInspectorTests: XCTestCase {
    func testSpinningThreadIsRunningInItsLoop() throws {
        let fixture = try startFixture("spinning-worker")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let inspector = HangInspector()
        // The main thread prints the pid, then joins the spinner: capture once it is joining.
        let snapshot = try eventually("the main thread waits in pthread_join") { () -> ProcessSnapshot? in
            let snapshot = try inspector.capture(pid: pid)
            let joining = snapshot.threads.first?.frames.contains {
                $0.function?.contains("pthread_join") == true || $0.function?.contains("clockjoin") == true
            }
            return joining == true ? snapshot : nil
        }

        XCTAssertEqual(snapshot.pid, pid)
        XCTAssertEqual(snapshot.threads.count, 2)
        let spinner = try XCTUnwrap(snapshot.threads.first { $0.name == "spinner" })
        XCTAssertEqual(spinner.state, .running, "a spinning thread is runnable")
        XCTAssertNil(spinner.systemCall)
        XCTAssertTrue(spinner.frames.contains { $0.function?.contains("spinForever") == true },
                      "\(spinner.frames.map(\.shortDescription))")
        let main = try XCTUnwrap(snapshot.threads.first)
        XCTAssertEqual(main.tid, pid, "the main thread comes first")
        XCTAssertEqual(main.state, .sleeping)
        XCTAssertEqual(kill(pid, 0), 0)
    }

    func testPipeReaderIsInReadAndKeepsWorkingAfterCapture() throws {
        let fixture = try startFixture("pipe-blocked", ["--stdin"])
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        _ = try eventually("the reader blocks") { threadStates(pid)[pid] == "S" ? true : nil }

        let snapshot = try HangInspector().capture(pid: pid)
        let thread = try XCTUnwrap(snapshot.threads.first)
        XCTAssertEqual(snapshot.threads.count, 1)
        XCTAssertEqual(thread.state, .sleeping)
        XCTAssertEqual(thread.systemCall?.name, "read")
        XCTAssertEqual(thread.wchan.map { $0.contains("pipe") }, true, "wchan: \(thread.wchan ?? "nil")")
        let first = try XCTUnwrap(thread.frames.first)
        XCTAssertEqual(first.moduleName, "libc.so.6")
        XCTAssertTrue(first.function?.contains("read") == true, "frame 0: \(first.shortDescription)")
        XCTAssertEqual(thread.firstUserFrame?.function?.contains("waitForInput"), true)
        XCTAssertTrue(thread.frames.contains { $0.function == "main" || $0.function?.hasSuffix("_main") == true })
        XCTAssertNil(thread.unwindStopReason, "the stack ends at its entry point")
        XCTAssertTrue(snapshot.commandLine.last == "--stdin")
        XCTAssertEqual(snapshot.executable.map { URL(fileURLWithPath: $0).lastPathComponent }, "pipe-blocked")

        // The interrupted read was restarted: the process still reads its input and finishes normally.
        fixture.write("hello\n")
        XCTAssertEqual(try fixture.readLine(), "read 6 bytes")
        XCTAssertEqual(try fixture.waitForExit(), 0)
    }

    func testSleepersAndSemaphoreWaiterAreAllCaptured() throws {
        let fixture = try startFixture("semaphore-wait", ["--sleepers", "3"])
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let inspector = HangInspector()
        // Sleepers wake every 100 ms for a moment; capture until all four are caught asleep.
        let snapshot = try eventually("all four threads sleep") { () -> ProcessSnapshot? in
            let snapshot = try inspector.capture(pid: pid)
            let asleep = snapshot.threads.count == 4 && snapshot.threads.allSatisfy { $0.state == .sleeping }
                && snapshot.threads.first?.systemCall?.name == "futex"
            return asleep ? snapshot : nil
        }
        XCTAssertEqual(snapshot.threads.count, 4)
        let sleepers = snapshot.threads.filter { $0.name == "sleeper" }
        XCTAssertEqual(sleepers.count, 3)
        for sleeper in sleepers {
            XCTAssertEqual(sleeper.state, .sleeping)
            XCTAssertTrue(["nanosleep", "clock_nanosleep"].contains(sleeper.systemCall?.name ?? ""), "\(String(describing: sleeper.systemCall))")
            XCTAssertTrue(sleeper.frames.contains { $0.function?.contains("napForever") == true })
            XCTAssertTrue(sleeper.frames.contains { $0.function == "start_thread" }, "glibc internals get their names")
        }
        let main = try XCTUnwrap(snapshot.threads.first)
        XCTAssertEqual(main.tid, pid)
        XCTAssertEqual(main.systemCall?.name, "futex")
        XCTAssertTrue(main.frames.contains { $0.function?.contains("waitForSignal") == true }, "\(main.frames.map(\.shortDescription))")
        XCTAssertTrue(main.frames.contains { $0.moduleName?.hasPrefix("libdispatch") == true })
    }

    func testFrameLimitCutsAndCountsTheRest() throws {
        let fixture = try startFixture("semaphore-wait")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let snapshot = try HangInspector(options: .init(maxFrames: 2)).capture(pid: pid)
        for thread in snapshot.threads {
            XCTAssertEqual(thread.frames.count, 2, "thread \(thread.tid)")
            XCTAssertGreaterThan(thread.framesCut, 0)
        }
        let text = SnapshotRenderer(style: .full).render(snapshot)
        XCTAssertTrue(text.contains("frames beyond the frame limit were not kept"), text)
    }

    func testLibunwindNamesWithoutSymbolizer() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        _ = try eventually("the reader blocks") { threadStates(pid)[pid] == "S" ? true : nil }
        let snapshot = try HangInspector(options: .init(symbolization: .libunwindOnly)).capture(pid: pid)
        XCTAssertTrue(snapshot.notes.contains { $0.contains("unw_get_proc_name") }, "\(snapshot.notes)")
        let thread = try XCTUnwrap(snapshot.threads.first)
        let user = try XCTUnwrap(thread.frames.first { $0.symbol?.hasPrefix("$s") == true }, "\(thread.frames)")
        XCTAssertTrue(user.function?.contains("waitForInput") == true, "demangled in-process: \(user.function ?? "nil")")
        XCTAssertNil(user.file)
    }

    func testSnapshotJSONHasTheDocumentedFieldsAndRoundTrips() throws {
        let fixture = try startFixture("pipe-blocked")
        let pid = try XCTUnwrap(fixture.readPIDs().first)
        let snapshot = try HangInspector().capture(pid: pid)
        let data = try JSONEncoder().encode(snapshot)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["pid"] as? Int, Int(pid))
        let threads = try XCTUnwrap(object["threads"] as? [[String: Any]])
        let thread = try XCTUnwrap(threads.first)
        XCTAssertEqual(thread["tid"] as? Int, Int(pid))
        XCTAssertNotNil(thread["state"] as? String)
        XCTAssertNotNil(thread["stateMeaning"] as? String)
        let frames = try XCTUnwrap(thread["frames"] as? [[String: Any]])
        XCTAssertTrue(frames.allSatisfy { $0["address"] is Int })
        XCTAssertTrue(frames.contains { $0["function"] is String && $0["file"] is String && $0["line"] is Int })
        let decoded = try JSONDecoder().decode(ProcessSnapshot.self, from: data)
        XCTAssertEqual(decoded.threads, snapshot.threads)
        XCTAssertEqual(decoded.pid, snapshot.pid)
    }
}
