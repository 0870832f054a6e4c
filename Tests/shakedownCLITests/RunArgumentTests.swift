#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// `shakedown run` never crashes on a number: out of range, infinite or not a number is exit 64 naming the option
/// and the accepted range; a command that cannot be exec'd is exit 70 with the reason.
final class RunArgumentTests: XCTestCase {
    private func assertUsageError(_ arguments: [String], mentions expected: [String],
                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.shakedown(["run"] + arguments + ["--", "/bin/true"])
        XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)", file: file, line: line)
        for text in expected {
            XCTAssertTrue(result.stderr.contains(text), "\(arguments): expected \(text) in \(result.stderr)",
                          file: file, line: line)
        }
    }

    func testCopyCountsOutOfRangeNameTheRange() throws {
        // Before: "-n -1" was "Missing value for '-n'", and the huge one had no range.
        try assertUsageError(["-n", "-1"], mentions: ["-n", "must be an integer within 1...1024, got -1"])
        try assertUsageError(["-n", "0"], mentions: ["within 1...1024, got 0"])
        try assertUsageError(["-n", "99999999999999999999"], mentions: ["within 1...1024, got 99999999999999999999"])
        try assertUsageError(["--copies", "1025"], mentions: ["within 1...1024, got 1025"])
        try assertUsageError(["--rounds", "0"], mentions: ["--rounds", "got 0"])
        try assertUsageError(["--counters", "-1"], mentions: ["--counters", "within 0...8, got -1"])
    }

    func testTimeoutsAndGracesOutOfRangeAreUsageErrorsNotCrashes() throws {
        // Before: 1e10, inf and nan trapped converting to Int64; 0.0001 was exit 70.
        for value in ["1e10", "inf", "nan", "-1", "0", "0.0001", "604801"] {
            try assertUsageError(["--timeout", value], mentions: ["--timeout", "within 0.001...604800, got \(value)"])
        }
        for value in ["inf", "-inf", "nan", "-0.5", "3601"] {
            try assertUsageError(["--grace", value], mentions: ["--grace", "within 0...3600, got \(value)"])
        }
    }

    func testSeedsAndRepeatCountsAreChecked() throws {
        try assertUsageError(["--seed", "0xnothex"], mentions: ["--seed", "0x-hexadecimal"])
        try assertUsageError(["--seed", "-1"], mentions: ["--seed"])
        try assertUsageError(["--repeat", "0"], mentions: ["--repeat", "within 1...1000000000, got 0"])
        try assertUsageError(["--repeat", "-2"], mentions: ["--repeat", "got -2"])
        try assertUsageError(["--check", ""], mentions: ["--check", "must not be empty"])
        let hex = try CLI.shakedown(["run", "--seed", "0x10", "--json", "--", "/bin/true"])
        XCTAssertEqual(hex.status, 0, hex.stderr)
        XCTAssertEqual(try json(hex.stdout)["seed"] as? String, "16", "the replay line's hex seed is accepted")
    }

    func testUnstartableCommandsAreExit70WithTheReason() throws {
        let directory = try CLI.shakedown(["run", "-n", "2", "--", "/tmp"])
        XCTAssertEqual(directory.status, 70, directory.stdout + directory.stderr)
        XCTAssertTrue(directory.stderr.contains("/tmp is a directory"), directory.stderr)

        let script = FileManager.default.temporaryDirectory.appendingPathComponent("sd-\(UUID().uuidString)").path
        try "#!/no/such/shell\nexit 0\n".write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        XCTAssertEqual(chmod(script, 0o755), 0)
        // Only exec can tell: every copy fails with ENOENT, and no copy started is exit 70 with the reason.
        let interpreter = try CLI.shakedown(["run", "-n", "2", "--", script])
        XCTAssertEqual(interpreter.status, 70, interpreter.stdout + interpreter.stderr)
        XCTAssertTrue(interpreter.stderr.contains("no copy started") && interpreter.stderr.contains("ENOENT"),
                      interpreter.stderr)
    }

    func testCommandThatNoCopyCouldExecIsExit70WithTheErrno() throws {
        // ELF magic, then junk: it passes resolution, and execve refuses it in every copy.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sd-badelf-\(UUID().uuidString)").path
        try Data([0x7F, 0x45, 0x4C, 0x46] + Array("not really an ELF file".utf8)).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(chmod(path, 0o755), 0)
        let result = try CLI.shakedown(["run", "-n", "3", "--repeat", "5", "--keep-going", "--", path])
        XCTAssertEqual(result.status, 70, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("no copy started") && result.stderr.contains("ENOEXEC"), result.stderr)
        XCTAssertTrue(result.stdout.contains("1 of 5 repetitions"), "nothing to repeat when nothing starts: \(result.stdout)")
    }

    func testEscapeCodesInOutputAndArgvAreShownNotObeyed() throws {
        let hostile = #"printf '\033[2J\033[Hclean: every copy exited 0\r\n\302\233fake\n'; exit 3"#
        let text = try CLI.shakedown(["run", "-n", "2", "--", "/bin/sh", "-c", hostile, "\u{1B}]0;title\u{7}"])
        XCTAssertEqual(text.status, 1, text.stdout + text.stderr)
        XCTAssertFalse(text.stdout.utf8.contains(0x1B), "no ESC byte may reach the terminal: \(text.stdout)")
        XCTAssertFalse(text.stdout.unicodeScalars.contains { TerminalText.needsEscape($0) }, text.stdout)
        XCTAssertTrue(text.stdout.contains("| \\u{1B}[2J\\u{1B}[Hclean: every copy exited 0\n"), text.stdout)
        XCTAssertTrue(text.stdout.contains("| \\u{9B}fake"), "each output line keeps its own prefix: \(text.stdout)")
        XCTAssertTrue(text.stdout.contains("$'\\x1b]0;title\\x07'"), "argv is quoted for a shell, escapes as \\x: \(text.stdout)")

        let json = try CLI.shakedown(["run", "-n", "1", "--json", "--", "/bin/sh", "-c", hostile])
        XCTAssertEqual(json.status, 1, json.stderr)
        XCTAssertFalse(json.stdout.unicodeScalars.contains { TerminalText.needsEscape($0) && $0 != "\n" }, json.stdout)
        let copies = try XCTUnwrap(try self.json(json.stdout)["copies"] as? [[String: Any]])
        XCTAssertTrue((copies[0]["outputTail"] as? String)?.hasPrefix("\u{1B}[2J") ?? false,
                      "JSON keeps the real text, escaped as JSON: \(json.stdout)")
    }

    func testDemoNumbersAreCheckedToo() throws {
        // Before: --timeout inf trapped converting to Int64, and a huge --rounds overflowed processes × rounds.
        for arguments in [["--timeout", "inf"], ["-n", "-1"], ["--rounds", "99999999999999999"], ["--seed", "x"]] {
            let result = try CLI.shakedown(["demo"] + arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("must be"), result.stderr)
        }
    }

    func testHelpListsEveryExitCode() throws {
        let help = try CLI.shakedown(["help", "run"])
        for line in ["0   every copy", "1   a copy", "3   a copy", "4   copies", "5   a --check", "64  bad", "65  the --replay file",
                     "66  the --replay file", "70  Shakedown", "--json and\n      --junit are still written"] {
            XCTAssertTrue(help.stdout.contains(line), "\(line) missing from: \(help.stdout)")
        }
        XCTAssertTrue(help.stdout.contains("3, 1, 4, 5"), help.stdout)
    }

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }
}
