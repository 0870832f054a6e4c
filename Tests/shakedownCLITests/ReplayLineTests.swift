#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// The replay line of a failing run names everything that shaped it, and can be pasted into a shell as is.
final class ReplayLineTests: XCTestCase {
    func testReplayLineKeepsTheJitterMode() throws {
        // Before: the replay line dropped --jitter, so a replay shook with the default mode instead.
        let result = try CLI.shakedown(["run", "-n", "1", "--seed", "7", "--jitter", "none", "--", "/bin/false"],
                                       environment: ["SHAKEDOWN_JITTER": ""])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("replay: shakedown run -n 1 --seed 0x7 --repeat 1 --jitter none -- /bin/false"),
                      result.stdout)
        let plain = try CLI.shakedown(["run", "-n", "1", "--seed", "7", "--", "/bin/false"],
                                      environment: ["SHAKEDOWN_JITTER": ""])
        XCTAssertTrue(plain.stdout.contains("replay: shakedown run -n 1 --seed 0x7 --repeat 1 -- /bin/false"), plain.stdout)
    }

    /// When SHAKEDOWN_JITTER chose the mode, the line carries it: pasted elsewhere, it shakes the same way.
    func testReplayLineCarriesSHAKEDOWN_JITTER() throws {
        let result = try CLI.shakedown(["run", "-n", "1", "--seed", "7", "--", "/bin/false"],
                                       environment: ["SHAKEDOWN_JITTER": "none"])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("replay: SHAKEDOWN_JITTER=none shakedown run -n 1 --seed 0x7"), result.stdout)
    }

    /// Arguments with an escape sequence, quotes, `$`, backticks, spaces, tabs, newlines, DEL, a C1 control and a
    /// bidi override: the replay line, read back by bash, gives exactly the original argv; and no output of the
    /// run (the echo of the command, the copies' output, the replay line) carries a raw control character.
    func testReplayLineIsSafeToPasteAndGivesBackTheArguments() throws {
        let hostile = ["\u{1B}[2J\u{1B}]0;pwned\u{07}", "it's \"$HOME\" `id` $(id)", "tab\there", "two\nlines",
                       "back\\slash", "bang!\u{1B}", "del\u{7F} c1\u{9B}31m", "\u{202E}txt.exe", "plain-word", "", "naïve space"]
        let script = "printf '\\033[31mFAKE clean\\r\\n'; exit 1"
        let argv = ["/bin/sh", "-c", script, "sh"] + hostile
        let result = try CLI.shakedown(["run", "-n", "1", "--seed", "7", "--"] + argv, environment: ["SHAKEDOWN_JITTER": ""])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        for (name, text) in [("stdout", result.stdout), ("stderr", result.stderr)] {
            let raw = text.unicodeScalars.filter { $0 != "\n" && TerminalText.needsEscape($0) }
            XCTAssertTrue(raw.isEmpty, "\(name) carries raw controls \(raw.map { String($0.value, radix: 16) }): \(text)")
        }
        XCTAssertTrue(result.stdout.contains("| \\u{1B}[31mFAKE clean"), "the output tail is shown escaped: \(result.stdout)")
        let line = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("replay: ") }, result.stdout)
        let words = try XCTUnwrap(line.range(of: " -- ").map { String(line[$0.upperBound...]) }, String(line))
        // bash reads the pasted words back; each argument NUL-terminated.
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "printf '%s\\0' " + words]
        let out = Foundation.Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        var parsed = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(parsed.removeLast(), "")
        XCTAssertEqual(parsed, argv, "the replay line: \(line)")
    }

    /// ArgumentParser's own messages quote the rejected value or option: escaped too (before, raw).
    func testRejectedArgumentsAreEchoedEscaped() throws {
        for arguments in [["-n", "\u{1B}[31m"], ["--\u{1B}]0;x\u{7}", "1"], ["--shard", "\u{9B}2J"]] {
            let result = try CLI.shakedown(["run"] + arguments + ["--", "/bin/true"])
            XCTAssertEqual(result.status, 64, result.stderr)
            XCTAssertFalse(result.stderr.unicodeScalars.contains { $0 != "\n" && TerminalText.needsEscape($0) },
                           "raw control in: \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("\\u{"), result.stderr)
        }
    }

    /// `shakedown diagnose PID` shows the process's command line, which the process chose: escaped in text and
    /// JSON (before, ESC and C1 controls reached the terminal raw).
    func testDiagnoseShowsAHostileCommandLineEscaped() throws {
        let name = "\u{1B}[2Jdiag-\(getpid())\u{9B}x"
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", #"exec -a "$0" sleep 30"#, name]
        try process.run()
        defer { process.terminate(); process.waitUntilExit() }
        // Until the exec happened: the command line is the new argv[0].
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline,
              !((try? String(contentsOfFile: "/proc/\(process.processIdentifier)/cmdline", encoding: .utf8)) ?? "").hasPrefix(name) {
            usleep(10_000)
        }
        for arguments in [["diagnose", String(process.processIdentifier)], ["diagnose", "--json", String(process.processIdentifier)]] {
            let result = try CLI.shakedown(arguments)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains("diag-\(getpid())"), result.stdout)
            XCTAssertFalse(result.stdout.unicodeScalars.contains { $0 != "\n" && TerminalText.needsEscape($0) },
                           "raw control in \(arguments): \(result.stdout)")
        }
    }

    /// Bytes that are not UTF-8 cannot be carried by the parsed arguments (they became U+FFFD, and the command ran
    /// with other bytes): refused, not silently changed.
    func testNonUTF8ArgumentsAreRefused() throws {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"exec "$0" run -- /bin/echo "$(printf 'a\377\033[2Jb')""#, CLI.path("shakedown")]
        let err = Foundation.Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 64, stderr)
        XCTAssertTrue(stderr.contains("argument 4 is not valid UTF-8 (a\\x{FF}\\u{1B}[2Jb)"), stderr)
    }
}
