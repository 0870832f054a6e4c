import XCTest
import Shakedown
@testable import ShakedownXCTest

/// The assertion messages quote the workers' output: escape codes in it must not reach the test log raw.
final class FailureTextTests: XCTestCase {
    func testEscapeCodesInWorkerOutputAreShownNotObeyed() throws {
        let run = try Shake.run(
            command: ["/bin/sh", "-c", #"printf '\033[2J\033[Hclean: every copy exited 0\r\n\302\233x\n'; exit 3"#],
            RunConfiguration(processes: 1, timeout: .seconds(30)))
        XCTAssertFalse(run.isClean)
        let text = failureText("run is not clean", "", run)
        XCTAssertTrue(text.contains("\\u{1B}[2J"), text)
        XCTAssertFalse(text.unicodeScalars.contains { TerminalText.needsEscape($0) }, text)
    }
}
