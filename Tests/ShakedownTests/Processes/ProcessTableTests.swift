#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

final class ProcessTableTests: XCTestCase {
    func testStatParsingHandlesNamesWithSpacesAndParentheses() throws {
        let text = "4711 (my (odd) name) S 1 4711 4711 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10"
        let status = try XCTUnwrap(ProcessTable.parseStat(text, pid: 4711))
        XCTAssertEqual(status.name, "my (odd) name")
        XCTAssertEqual(status.state, "S")
        XCTAssertEqual(status.parent, 1)
        XCTAssertEqual(status.startTicks, 12345)
        XCTAssertNil(ProcessTable.parseStat("garbage", pid: 1))
    }

    func testOwnProcessIsVisible() throws {
        let me = try XCTUnwrap(ProcessTable.status(of: getpid()))
        XCTAssertEqual(me.parent, getppid())
        XCTAssertFalse(me.isKernelThread)
        XCTAssertTrue(ProcessTable.threads(of: getpid()).contains(getpid()))
        XCTAssertNil(ProcessTable.status(of: Int32.max))
    }

    func testSignalNamesAndExitStatuses() {
        XCTAssertEqual(Signal.segmentationFault.name, "SIGSEGV")
        XCTAssertEqual(Signal(name: "term"), .terminate)
        XCTAssertEqual(Signal(name: "9"), .kill)
        XCTAssertNil(Signal(name: "SIGNOPE"))
        XCTAssertEqual(ProcessExit(waitStatus: 3 << 8), .exited(code: 3))
        XCTAssertEqual(ProcessExit(waitStatus: 11), .signaled(.segmentationFault))
        XCTAssertEqual(ProcessExit(waitStatus: 0x80 | 6), .signaled(.abort, coreDumped: true))
    }

    func testTeardownAlwaysEndsWithSIGKILL() throws {
        XCTAssertEqual(try Teardown([.signal(.terminate)]).steps.last, .signal(.kill))
        XCTAssertThrowsError(try Teardown([.wait(.seconds(-1))]))
        XCTAssertEqual(Teardown.default.longestDuration, .milliseconds(500))
    }
}
