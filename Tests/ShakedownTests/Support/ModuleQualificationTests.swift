import Shakedown
import XCTest

/// Types of the test target that share names with Shakedown's, as another module a user imports would.
private struct Signal {}
private struct MessagePipe {}

/// Module-qualified names reach Shakedown's types: the entry point is `Shake`, not a type named after the
/// module, so `Shakedown.X` always means the module's `X`.
final class ModuleQualificationTests: XCTestCase {
    func testModuleQualifiedNamesReachShakedownsTypes() throws {
        let interrupt: Shakedown.Signal = .interrupt
        XCTAssertEqual(interrupt.rawValue, SIGINT)
        XCTAssertFalse(Shakedown.MessagePipe.self == (MessagePipe.self as Any.Type))
        let report = try Shakedown.Shake.fork(processes: 1, timeout: .seconds(30)) { _ in }
        XCTAssertTrue(report.isClean, report.summary)
    }
}
