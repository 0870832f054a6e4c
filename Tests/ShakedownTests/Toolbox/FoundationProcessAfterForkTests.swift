#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown

/// The measurement behind docs/guide.md's note on `Foundation.Process` in forked children: `run()` works,
/// `waitUntilExit()` never returns. (Why ``CommandRunner`` exists.)
final class FoundationProcessAfterForkTests: XCTestCase {
    private func forkedChildRunning(wait: Bool) throws -> (ProcessExit?, ForkedChild) {
        let child = try ForkedChild {
            let process = Foundation.Process()
            process.executableURL = URL(fileURLWithPath: "/bin/true")
            try process.run()
            if wait {
                process.waitUntilExit()
            } else {
                var status: Int32 = 0
                // Reap the command by its pid ourselves: what CommandRunner does instead of waitUntilExit.
                while waitpid(process.processIdentifier, &status, 0) < 0 && errno == EINTR {}
                if status != 0 { exit(2) }
            }
        }
        return (try child.join(timeout: .seconds(3)), child)
    }

    func testRunWorksButWaitUntilExitHangsInAForkedChild() throws {
        let (ranOnly, _) = try forkedChildRunning(wait: false)
        XCTAssertEqual(ranOnly, .exited(code: 0), "run() and a waitpid on its pid work after fork")
        let (waited, child) = try forkedChildRunning(wait: true)
        XCTAssertNil(waited, "waitUntilExit() returned in a forked child: the guide's note is out of date")
        child.send(.kill)
        XCTAssertEqual(try child.join(timeout: .seconds(5)), .signaled(.kill))
    }
}
