#if canImport(Glibc)
import Glibc
#endif
@testable import Shakedown
import XCTest

/// The Swift runtime backtracer's report, produced live by fixtures that crash, read by CrashBacktrace.
final class CrashBacktraceTests: XCTestCase {
    /// Runs `fixture` with the backtracer on, standard error folded into the output.
    private func crashReport(_ fixture: String, _ arguments: [String]) throws -> (text: String, exitCode: CInt) {
        let result = try run("/bin/sh", ["-c", "SWIFT_BACKTRACE=enable=yes,color=no \"$@\" 2>&1", "sh", Fixtures.path(fixture)] + arguments)
        return (result.output, result.exitCode)
    }

    func testARuntimeTrapOnASecondaryThreadGivesItsFramesWithFileAndLine() throws {
        let (text, _) = try crashReport("crash-backtrace", ["unwrap"])
        let crash = try XCTUnwrap(CrashBacktrace.parse(text), text)
        XCTAssertTrue(crash.reason.hasPrefix("Illegal instruction at 0x") || crash.reason.hasPrefix("Trace/breakpoint"), crash.reason)
        XCTAssertEqual(crash.fatalError?.contains("Unexpectedly found nil while unwrapping an Optional value"), true)
        XCTAssertEqual(crash.thread, 1, "the importer thread crashed, not main")
        let user = crash.userFrames
        XCTAssertEqual(user.map(\.function).prefix(3), ["parseRecord(_:)", "importBatch(_:)", "importer(_:)"], text)
        let top = try XCTUnwrap(user.first)
        XCTAssertTrue(top.file?.hasSuffix("Fixtures/crash-backtrace/main.swift") ?? false, "\(top)")
        XCTAssertEqual(top.line, 14)
        XCTAssertEqual(top.module, "crash-backtrace")
        XCTAssertTrue(crash.frames.contains { $0.markers.contains("thunk") }, "markers are read")
        XCTAssertNotNil(crash.backtraceSeconds)

        let condensed = CrashBacktrace.condensed(text)
        for noise in ["Registers:", "Images (", "rax 0x", "Backtrace took", "Platform:"] {
            XCTAssertFalse(condensed.contains(noise), "\(noise) kept in:\n\(condensed)")
        }
        XCTAssertTrue(condensed.contains("#2 parseRecord(_:) at main.swift:14:"), condensed)
        XCTAssertTrue(condensed.hasSuffix("(crash-backtrace)") || condensed.contains("importer(_:) at main.swift:"), condensed)
    }

    func testASegfaultInTheMainThread() throws {
        let (text, exitCode) = try crashReport("crash-backtrace", ["null"])
        XCTAssertEqual(exitCode, 128 + 11, text)   // the shell reports the signal as 128 + N
        let crash = try XCTUnwrap(CrashBacktrace.parse(text), text)
        XCTAssertTrue(crash.reason.hasPrefix("Bad pointer dereference at 0x"), crash.reason)
        XCTAssertNil(crash.fatalError)
        XCTAssertEqual(crash.userFrames.first?.function, "storeRecord(_:)", crash.summary())
        XCTAssertTrue(crash.summary().contains("storeRecord(_:) at main.swift:"), crash.summary())
    }

    func testAFatalErrorInMainCode() throws {
        let (text, _) = try crashReport("crashing-worker", ["fatal"])
        let crash = try XCTUnwrap(CrashBacktrace.parse(text), text)
        XCTAssertEqual(crash.thread, 0)
        XCTAssertEqual(crash.threadName, "crashing-worker")
        XCTAssertEqual(crash.userFrames.first?.line, 35, crash.summary())
        XCTAssertTrue(crash.fatalError?.contains("invariant broken") ?? false)
    }

    func testAMutexABBAThatTheRuntimeCallsRecursionIsExplainedAsADeadlock() throws {
        let (text, _) = try crashReport("mutex-abba", [])
        let crash = try XCTUnwrap(CrashBacktrace.parse(text), text)
        XCTAssertEqual(crash.fatalError?.contains("Recursive call to lock Mutex"), true, text)
        XCTAssertTrue(crash.deadlockHint?.contains("cycle of threads") ?? false)
        XCTAssertTrue(crash.summary().contains("note: this may be a deadlock"), crash.summary())
        let user = try XCTUnwrap(crash.userFrames.first?.function)
        XCTAssertTrue(user.contains("repriceStock") || user.contains("restockPrices"), crash.summary())

        let plain = try XCTUnwrap(CrashBacktrace.parse(try crashReport("crashing-worker", ["fatal"]).text))
        XCTAssertNil(plain.deadlockHint)
    }

    func testTextWithoutAReportOrWithGarbageIsSafe() {
        XCTAssertNil(CrashBacktrace.parse("hello\nworld"))
        XCTAssertEqual(CrashBacktrace.condensed("plain output\n"), "plain output\n")
        let broken = "*** Program crashed: Bad pointer dereference at 0x0 ***\nThread 7 crashed:\n  0 [ra] 0xZZ nonsense\n  x\n 1 0x10 f + 3 in m at a:b:c"
        let crash = CrashBacktrace.parse(broken)
        XCTAssertEqual(crash?.thread, 7)
        XCTAssertEqual(crash?.frames.count, 1)
        XCTAssertEqual(crash?.frames.first?.function, "f")
        XCTAssertNil(crash?.frames.first?.line)
    }
}
