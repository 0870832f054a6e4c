#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Checks against the kernel's view (/proc), never against Shakedown's own bookkeeping.
enum ProcessChecks {
    /// Whether `pid` exists in any state other than being already gone.
    static func exists(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// libunwind opens one pipe for its whole process lifetime at first use (memory validation): take it before a
    /// test counts descriptors around a run that captures a hang.
    static func warmUpHangCapture() throws {
        _ = try warmedUp.get()
    }

    private static let warmedUp: Result<Void, ShakedownError> = Result { () throws(ShakedownError) in
        _ = try Shake.fork(processes: 1, timeout: .milliseconds(200), jitter: .none) { _ in while true { pause() } }
    }

    /// The calling test process's children right now.
    static func children() -> Set<Int32> {
        Set(ProcessTable.children(of: getpid()))
    }
}

extension XCTestCase {
    /// Asserts that `body` leaves the test process with no new child, no new descendant and no new descriptor.
    func assertLeavesNothingBehind<T>(file: StaticString = #filePath, line: UInt = #line,
                                      _ body: () throws -> T) throws -> T {
        try ProcessChecks.warmUpHangCapture()
        let childrenBefore = ProcessChecks.children()
        let descriptorsBefore = ProcessTable.openDescriptorCount()
        let result = try body()
        XCTAssertEqual(ProcessChecks.children().subtracting(childrenBefore), [], "children left behind", file: file, line: line)
        XCTAssertEqual(ProcessTable.openDescriptorCount(), descriptorsBefore, "descriptors leaked", file: file, line: line)
        return result
    }
}
