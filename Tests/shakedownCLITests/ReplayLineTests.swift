import Foundation
import Shakedown
import XCTest

/// The replay line of a failing run names everything that shaped it.
final class ReplayLineTests: XCTestCase {
    func testReplayLineKeepsTheJitterMode() throws {
        // Before: the replay line dropped --jitter, so a replay shook with the default mode instead.
        let result = try CLI.shakedown(["run", "-n", "1", "--seed", "7", "--jitter", "none", "--", "/bin/false"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("replay: shakedown run -n 1 --seed 0x7 --repeat 1 --jitter none -- /bin/false"),
                      result.stdout)
        let plain = try CLI.shakedown(["run", "-n", "1", "--seed", "7", "--", "/bin/false"])
        XCTAssertTrue(plain.stdout.contains("replay: shakedown run -n 1 --seed 0x7 --repeat 1 -- /bin/false"), plain.stdout)
    }
}
