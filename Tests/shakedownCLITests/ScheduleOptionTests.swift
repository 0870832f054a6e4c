#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// `--trace`, `--replay`, `--pct-depth`, `--pct-steps` against the mode the run really uses (`--jitter`, or
/// `SHAKEDOWN_JITTER` over it), and trace files whose `events N` header does not match their events. Found by a
/// hostile review: all of these were accepted and the option silently dropped, or the file half-followed.
final class ScheduleOptionTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shakedown-schedule-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// No inherited SHAKEDOWN_JITTER decides these runs' mode, unless a test sets it.
    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> CLI.Result {
        try CLI.shakedown(["run"] + arguments, environment: ["SHAKEDOWN_JITTER": ""].merging(environment) { $1 })
    }

    /// A well-formed schedule of two copies with `events` events, of which only `lines` are written.
    private func schedule(mode: String = "syscalls", declared: Int, lines: Int) throws -> String {
        let path = directory + "/schedule-\(declared)-\(lines)"
        var text = "shakedown-schedule 1\nmode \(mode)\nseed 7\nprocesses 2\nfallbacks 0 0\nevents \(declared)\n"
        for index in 0..<lines { text += "\(index % 2) 0\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testScheduleOptionsUnderAModeWithoutASchedulePointAreUsageErrors() throws {
        let trace = directory + "/trace"
        let replay = try schedule(declared: 2, lines: 2)
        let cases: [(arguments: [String], option: String, mode: String, appliesTo: String)] = [
            (["--trace", trace], "--trace", "default", "modes syscalls and pct only"),
            (["--jitter", "none", "--replay", replay], "--replay", "none", "modes syscalls and pct only"),
            (["--jitter", "preempt", "--trace", trace], "--trace", "preempt", "modes syscalls and pct only"),
            (["--jitter", "syscalls", "--pct-depth", "4"], "--pct-depth", "syscalls", "mode pct only"),
            (["--jitter", "points", "--pct-steps", "50"], "--pct-steps", "points", "mode pct only"),
            (["--pct-depth", "3"], "--pct-depth", "default", "mode pct only"),
        ]
        for entry in cases {
            let result = try run(["-n", "2"] + entry.arguments + ["--", "/bin/true"])
            XCTAssertEqual(result.status, 64, "\(entry.arguments): \(result.stdout) \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("\(entry.option) applies to jitter \(entry.appliesTo)"), result.stderr)
            XCTAssertTrue(result.stderr.contains("this run's mode is \(entry.mode) (--jitter \(entry.mode))"), result.stderr)
            XCTAssertEqual(result.stdout, "", "nothing ran")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: trace), "a refused run creates no trace file")
    }

    /// SHAKEDOWN_JITTER overrides --jitter for the whole process: the options are checked against the mode it
    /// gives, and the error names the variable when it took the schedule away.
    func testSHAKEDOWN_JITTERThatTakesTheScheduleAwayIsAUsageErrorNamingIt() throws {
        let replay = try schedule(declared: 2, lines: 2)
        let result = try run(["-n", "2", "--jitter", "syscalls", "--replay", replay, "--", "/bin/true"],
                             environment: ["SHAKEDOWN_JITTER": "none"])
        XCTAssertEqual(result.status, 64, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("--replay applies to jitter modes syscalls and pct only, but this run's "
                                             + "mode is none (SHAKEDOWN_JITTER=none overrides --jitter syscalls)"), result.stderr)
        // A syscalls schedule under SHAKEDOWN_JITTER=pct would be followed by another scheduler: refused too.
        let other = try run(["-n", "2", "--jitter", "syscalls", "--replay", replay, "--", "/bin/true"],
                            environment: ["SHAKEDOWN_JITTER": "pct"])
        XCTAssertEqual(other.status, 64, other.stdout + other.stderr)
        XCTAssertTrue(other.stderr.contains("is a syscalls schedule of 2 copies, the run is pct "
                                            + "(SHAKEDOWN_JITTER=pct overrides --jitter syscalls)"), other.stderr)
    }

    /// ... and when it gives the run a mode with a schedule, the option is used: the trace is written.
    func testSHAKEDOWN_JITTERThatGivesTheScheduleMakesTheTraceWritten() throws {
        let trace = directory + "/trace"
        let result = try run(["-n", "2", "--seed", "5", "--trace", trace, "--", "/bin/true"],
                             environment: ["SHAKEDOWN_JITTER": "syscalls"])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        if result.stdout.contains("fell back to preempt") {
            XCTAssertTrue(result.stderr.contains("--trace: \(trace) will not be written"), result.stderr)
            throw XCTSkip("no seccomp user notification here: \(result.stdout)")
        }
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("shakedown-schedule 1\nmode syscalls\nseed 5\nprocesses 2\n"), text)
    }

    /// Where the mode falls back (no seccomp user notification), a replay cannot be followed: refused with exit
    /// 70 and said so, never run as if replayed.
    func testAReplayThatTheFallbackCannotFollowIsRefused() throws {
        let replay = try schedule(declared: 2, lines: 2)
        let result = try run(["-n", "2", "--jitter", "syscalls", "--replay", replay, "--json", "--", "/bin/true"],
                             environment: ["SHAKEDOWN_SECCOMP": "off"])
        XCTAssertEqual(result.status, 70, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("--replay: cannot follow \(replay): seccomp user notification is turned off"),
                      result.stderr)
        XCTAssertTrue(result.stdout.contains("\"exitCode\" : 70"), result.stdout)
        XCTAssertFalse(result.stdout.contains("\"outcome\""), "no copy ran: \(result.stdout)")
    }

    /// A run that writes no trace (here: the fallback) leaves the --trace file empty, never an older run's trace
    /// that would pass for this one's; the same file as --replay is read first and then rewritten.
    func testAnOlderTraceNeverPassesForThisRunsAndTraceMayBeTheReplayFile() throws {
        let trace = directory + "/stale"
        let older = try schedule(declared: 2, lines: 2)
        try FileManager.default.copyItem(atPath: older, toPath: trace)
        let fallback = try run(["-n", "2", "--jitter", "syscalls", "--trace", trace, "--", "/bin/true"],
                               environment: ["SHAKEDOWN_SECCOMP": "off"])
        XCTAssertEqual(fallback.status, 0, fallback.stdout + fallback.stderr)
        XCTAssertEqual(try String(contentsOfFile: trace, encoding: .utf8), "", "the older trace is gone")

        let traced = try run(["-n", "2", "--seed", "4", "--jitter", "syscalls", "--trace", trace, "--", "/bin/true"])
        XCTAssertEqual(traced.status, 0, traced.stdout + traced.stderr)
        try XCTSkipIf(traced.stdout.contains("fell back to preempt"), "no seccomp user notification here")
        let same = try run(["-n", "2", "--jitter", "syscalls", "--replay", trace, "--trace", trace, "--", "/bin/true"])
        XCTAssertEqual(same.status, 0, same.stdout + same.stderr)
        XCTAssertTrue(same.stdout.contains("the replay was followed for all"), same.stdout)
    }

    /// Shards run with different --pct-depth (or SHAKEDOWN_JITTER) are different runs: the merge names the option.
    func testShardsWithDifferentPCTDepthsDoNotMerge() throws {
        var files: [String] = []
        for (index, depth) in [(1, "2"), (2, "3")] {
            let result = try run(["--seed", "1", "--repeat", "2", "--shard", "\(index)/2", "--json", "--jitter", "pct",
                                  "--pct-depth", depth, "--", "/bin/true"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let path = directory + "/pct\(index).json"
            try result.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        let merged = try CLI.shakedown(["merge"] + files)
        XCTAssertEqual(merged.status, 65, merged.stdout + merged.stderr)
        XCTAssertTrue(merged.stderr.contains("--pct-depth differs (2 vs 3)"), merged.stderr)
    }

    func testATruncatedOrPaddedTraceIsRefusedNamingTheFileAndBothCounts() throws {
        for (declared, lines, what) in [(5, 3, "truncated"), (2, 4, "lines were added")] {
            let path = try schedule(declared: declared, lines: lines)
            let result = try run(["-n", "2", "--jitter", "syscalls", "--replay", path, "--", "/bin/true"])
            XCTAssertEqual(result.status, 65, "bad data, as in shakedown merge: \(result.stdout) \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(path), result.stderr)
            XCTAssertTrue(result.stderr.contains("its header says `events \(declared)` but \(lines) event lines follow: \(what)"),
                          result.stderr)
            XCTAssertEqual(result.stdout, "", "nothing ran")
        }
        let headless = directory + "/headless"
        try "shakedown-schedule 1\nmode syscalls\nseed 7\nprocesses 2\n".write(toFile: headless, atomically: true, encoding: .utf8)
        let cut = try run(["-n", "2", "--jitter", "syscalls", "--replay", headless, "--", "/bin/true"])
        XCTAssertEqual(cut.status, 65, cut.stderr)
        XCTAssertTrue(cut.stderr.contains("has no `events N` line"), cut.stderr)
        let missing = try run(["-n", "2", "--jitter", "syscalls", "--replay", directory + "/none", "--", "/bin/true"])
        XCTAssertEqual(missing.status, 66, "a file that cannot be read, as in shakedown merge: \(missing.stderr)")
        XCTAssertTrue(missing.stderr.contains("cannot read \(directory)/none"), missing.stderr)
    }

    /// A trace the CLI wrote itself, cut by one line, is refused; whole, it is followed.
    func testARealTraceCutShortIsRefused() throws {
        let trace = directory + "/real"
        let traced = try run(["-n", "2", "--seed", "9", "--jitter", "syscalls", "--trace", trace, "--", "/bin/true"])
        XCTAssertEqual(traced.status, 0, traced.stdout + traced.stderr)
        try XCTSkipIf(traced.stdout.contains("fell back to preempt"), "no seccomp user notification here")
        let text = try String(contentsOfFile: trace, encoding: .utf8)
        let whole = try run(["-n", "2", "--jitter", "syscalls", "--replay", trace, "--", "/bin/true"])
        XCTAssertEqual(whole.status, 0, whole.stdout + whole.stderr)
        XCTAssertTrue(whole.stdout.contains("the replay was followed for all"), whole.stdout)
        var lines = text.split(separator: "\n")
        lines.removeLast()
        try (lines.joined(separator: "\n") + "\n").write(toFile: trace, atomically: true, encoding: .utf8)
        let cut = try run(["-n", "2", "--jitter", "syscalls", "--replay", trace, "--", "/bin/true"])
        XCTAssertEqual(cut.status, 65, cut.stdout + cut.stderr)
        XCTAssertTrue(cut.stderr.contains("but \(lines.count - 6) event lines follow: truncated"), cut.stderr)
    }
}
