#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// `shakedown run --shard i/n` and `shakedown merge`: the shards together are exactly the unsharded run, and the
/// merge refuses anything that is not a complete set of shards of one run.
final class ShardMergeTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shakedown-shard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Fails (exit 1) in about a fifth of the repetitions, decided by the repetition's seed alone: the same
        // repetitions fail however the run is cut.
        let program = directory + "/my-race-test"
        try "#!/bin/sh\ncase $SHAKEDOWN_SEED in *[05]) exit 1;; esac\n".write(toFile: program, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(program, 0o755), 0)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `command` with /bin/sh in the test folder, `shakedown` first on PATH, SHAKEDOWN_SEED as given (unset
    /// when nil).
    private func shell(_ command: String, environment extra: [String: String] = [:],
                       seed: String? = nil) throws -> CLI.Result {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = CLI.buildDirectory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["SHAKEDOWN_SEED"] = seed
        environment.merge(extra) { $1 }
        process.environment = environment
        let out = Foundation.Pipe()
        let err = Foundation.Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }

    private func json(_ path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + path))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], path)
    }

    /// What must be equal between the merge and the unsharded run.
    private func totals(_ report: [String: Any]) -> String {
        let failures = (report["failures"] as? [[String: Any]] ?? []).map {
            "\($0["repetition"] ?? "?")@\($0["seed"] ?? "?"):\($0["exitCode"] ?? "?")"
        }
        let tally = report["tally"] as? [String: Any] ?? [:]
        // Dictionaries print in no fixed order: sorted entries compare.
        func sorted(_ value: Any?) -> String {
            ((value as? [String: Int]) ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                .joined(separator: ", ")
        }
        return "repetitions \(report["repetitions"] ?? "?"), checkFailures \(report["checkFailures"] ?? "?"), "
            + "exit \(report["exitCode"] ?? "?"), failures \(failures), verdicts [\(sorted(tally["verdicts"]))], "
            + "copies [\(sorted(tally["copies"]))]"
    }

    /// The `run:` lines of docs/ci.md's workflow that call `shakedown`, as written.
    private func documentedLines() throws -> (shard: String, merge: String) {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("docs/ci.md"), encoding: .utf8)
        let runs = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.hasPrefix("- run: shakedown ") }.map { String($0.dropFirst("- run: ".count)) }
        let shard = try XCTUnwrap(runs.first { $0.hasPrefix("shakedown run ") }, "docs/ci.md has a shard line")
        let merge = try XCTUnwrap(runs.first { $0.hasPrefix("shakedown merge ") }, "docs/ci.md has a merge line")
        XCTAssertTrue(shard.contains("--shard ${{ matrix.shard }}/3") && shard.contains("--json")
                      && shard.contains("-- ./.build/release/my-race-test"), shard)
        return (shard, merge)
    }

    func testTheDocumentedMatrixMergesToTheUnshardedRunsTotals() throws {
        let (shardLine, mergeLine) = try documentedLines()
        let local = shardLine.replacingOccurrences(of: "./.build/release/my-race-test", with: directory + "/my-race-test")
        let environment = ["REPEAT": "30"]
        var shardCodes: [Int32] = []
        for index in 1...3 {
            let line = local.replacingOccurrences(of: "${{ matrix.shard }}", with: String(index))
            let result = try shell(line, environment: environment, seed: "0x5eed")
            XCTAssertTrue([0, 1].contains(result.status), "shard \(index): \(result.stderr)")
            shardCodes.append(result.status)
            XCTAssertEqual(try XMLLint.validate(directory + "/junit-\(index).xml", schema: JUnitReportTests.schema).status, 0)
        }
        let whole = local.replacingOccurrences(of: "--shard ${{ matrix.shard }}/3 ", with: "")
            .replacingOccurrences(of: "--junit junit-${{ matrix.shard }}.xml ", with: "")
            .replacingOccurrences(of: "shard-${{ matrix.shard }}.json", with: "whole.json")
        XCTAssertFalse(whole.contains("matrix"), whole)
        let unsharded = try shell(whole, environment: environment, seed: "0x5eed")

        let merged = try shell(mergeLine, seed: nil)
        XCTAssertEqual(merged.status, unsharded.status, merged.stdout + merged.stderr)
        XCTAssertEqual(merged.status, shardCodes.max(), "the merge's verdict is the shards' worst")
        let mergedJSON = try shell(mergeLine + " --json > merged.json", seed: nil)
        XCTAssertEqual(mergedJSON.status, unsharded.status, mergedJSON.stderr)

        let expected = try json("whole.json")
        let actual = try json("merged.json")
        XCTAssertEqual(totals(actual), totals(expected))
        XCTAssertTrue(totals(expected).contains("verdicts [clean: "), totals(expected))
        XCTAssertEqual(expected["repetitions"] as? Int, 30)
        let failures = try XCTUnwrap(expected["failures"] as? [[String: Any]])
        XCTAssertFalse(failures.isEmpty, "the program fails for some seeds of 30: \(totals(expected))")
        // Every failing seed is in the text too, with a replay line that names it.
        for failure in failures {
            let seed = try XCTUnwrap(Seed(parsing: failure["seed"] as? String ?? ""))
            XCTAssertEqual(seed, Seed(0x5eed).repetition(failure["repetition"] as? Int ?? -1))
            XCTAssertTrue(merged.stdout.contains("replay: shakedown run -n 4 --seed \(seed.hexadecimal) --repeat 1"),
                          merged.stdout)
        }
        XCTAssertTrue(merged.stdout.contains("repetitions: 30 of 30 ran; \(failures.count) failed"), merged.stdout)
        XCTAssertTrue(merged.stdout.contains("failure rate: "), merged.stdout)
        // The shape of run --json: every key of the unsharded report is there, and `merge` besides.
        XCTAssertEqual(Set(expected.keys).subtracting(actual.keys), [], "keys missing from the merge")
        XCTAssertEqual((actual["merge"] as? [String: Any])?["shards"] as? Int, 3)
        XCTAssertNil(actual["shard"])
    }

    func testFailedChecksAndFailingSeedsAddUpAcrossShards() throws {
        let check = "case $SHAKEDOWN_SEED in *[27]) exit 1;; esac"
        let run = "shakedown run -n 2 --seed 77 --repeat 20 --keep-going --check '\(check)' --json"
        for index in 1...3 {
            _ = try shell(run + " --shard \(index)/3 -- /bin/true > s\(index).json")
        }
        let unsharded = try shell(run + " -- /bin/true > whole.json")
        let merged = try shell("shakedown merge --json s3.json s1.json s2.json > merged.json")
        XCTAssertEqual(merged.status, unsharded.status, merged.stderr)
        let expected = try json("whole.json")
        XCTAssertGreaterThan(expected["checkFailures"] as? Int ?? 0, 0, "some of the 20 seeds end in 2 or 7")
        XCTAssertEqual(totals(try json("merged.json")), totals(expected))
    }

    func testCounterHistogramsOfEveryRepetitionAreSummedAcrossShards() throws {
        // A cooperative command: 2 copies × 100 rounds add 1 each per round to the run's counter (racy).
        let run = "shakedown run -n 2 --rounds 100 --counters 1 --seed 3 --repeat 6 --keep-going --json"
        for index in 1...3 {
            let result = try shell(run + " --shard \(index)/3 -- \(CLI.path("racy-counter")) > s\(index).json")
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let merged = try shell("shakedown merge --json s1.json s2.json s3.json > merged.json")
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let counters = try XCTUnwrap((try json("merged.json")["tally"] as? [String: Any])?["counters"] as? [String: [String: Int]])
        let histogram = try XCTUnwrap(counters.values.first, "\(counters)")
        XCTAssertEqual(counters.count, 1)
        // Every round of every repetition is in exactly one bucket: 6 repetitions × 100 rounds.
        XCTAssertEqual(histogram.values.reduce(0, +), 600, "\(histogram)")
        XCTAssertTrue(Set(histogram.keys).isSubset(of: ["+0", "+1", "+2"]), "\(histogram)")
        let perShard = try (1...3).map { index -> Int in
            let tally = try XCTUnwrap(try json("s\(index).json")["tally"] as? [String: Any])
            return ((tally["counters"] as? [String: [String: Int]])?.values.first ?? [:]).values.reduce(0, +)
        }
        XCTAssertEqual(perShard, [200, 200, 200])
        let text = try shell("shakedown merge s1.json s2.json s3.json")
        XCTAssertTrue(text.stdout.contains("per round: +2 × "), text.stdout)
    }

    func testAShardRunsExactlyItsBlockWithTheUnshardedSeeds() throws {
        // 7 repetitions in 3 shards: 0..<3, 3..<5, 5..<7.
        let blocks = [1: [0, 1, 2], 2: [3, 4], 3: [5, 6]]
        for (index, repetitions) in blocks {
            let log = "log-\(index)"
            let result = try shell("shakedown run --seed 1234 --repeat 7 --shard \(index)/3 "
                + "--before 'echo $SHAKEDOWN_REPETITION $SHAKEDOWN_SEED >> \(log)' -- /bin/true")
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            let lines = try String(contentsOfFile: directory + "/" + log, encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.map(String.init), repetitions.map { "\($0) \(Seed(1234).repetition($0).value)" })
        }
        // SHAKEDOWN_SEED is a seed base every shard shares as well.
        let fromEnvironment = try shell("shakedown run --repeat 7 --shard 2/3 --json -- /bin/true", seed: "1234")
        XCTAssertEqual(fromEnvironment.status, 0, fromEnvironment.stderr)
        XCTAssertTrue(fromEnvironment.stdout.contains(#""seedBase" : "1234""#), fromEnvironment.stdout)
        XCTAssertTrue(fromEnvironment.stdout.contains(#""repetitions" : 2"#), fromEnvironment.stdout)
    }

    func testBadShardsAreUsageErrorsNamingTheRange() throws {
        let cases: [(String, String)] = [
            ("0/3", "within 1...3 (1 ≤ i ≤ n), got 0"), ("4/3", "within 1...3 (1 ≤ i ≤ n), got 4"),
            ("1/0", "count must be within 1...1000000, got 0"), ("-1/3", "got -1"), ("2", "must be i/n"),
            ("a/b", "must be i/n"), ("1/99999999999999999999", "must be i/n"), ("", "must be i/n"),
        ]
        for (value, message) in cases {
            let result = try shell("shakedown run --seed 1 --repeat 10 --shard '\(value)' -- /bin/true")
            XCTAssertEqual(result.status, 64, "\(value): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("--shard") && result.stderr.contains(message),
                          "\(value): expected \(message) in \(result.stderr)")
        }
        let tooMany = try shell("shakedown run --seed 1 --repeat 2 --shard 1/3 -- /bin/true")
        XCTAssertEqual(tooMany.status, 64)
        XCTAssertTrue(tooMany.stderr.contains("3 shards need at least 3 repetitions"), tooMany.stderr)
        let seedless = try shell("shakedown run --repeat 9 --shard 1/3 -- /bin/true", seed: nil)
        XCTAssertEqual(seedless.status, 64)
        XCTAssertTrue(seedless.stderr.contains("needs a seed every shard shares"), seedless.stderr)
        let badSeed = try shell("shakedown run --repeat 9 --shard 1/3 -- /bin/true", seed: "nope")
        XCTAssertEqual(badSeed.status, 64)
        XCTAssertTrue(badSeed.stderr.contains("SHAKEDOWN_SEED"), badSeed.stderr)
    }

    /// Three good shards of 12 repetitions (s1, s2, s3.json), and what the refusals are tested against.
    private func makeShards(seed: Int = 5, command: String = "/bin/true", prefix: String = "s",
                            status: Int32 = 0) throws {
        for index in 1...3 {
            let result = try shell("shakedown run --seed \(seed) --repeat 12 --keep-going --shard \(index)/3 --json -- "
                + "\(command) > \(prefix)\(index).json")
            XCTAssertEqual(result.status, status, result.stderr)
        }
    }

    private func assertRefused(_ files: String, status: Int32 = 65, mentions message: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        for json in ["", " --json"] {
            let result = try shell("shakedown merge\(json) \(files)")
            XCTAssertEqual(result.status, status, "\(files): \(result.stdout) \(result.stderr)", file: file, line: line)
            XCTAssertTrue(result.stderr.contains(message), "\(files): expected \(message) in \(result.stderr)",
                          file: file, line: line)
            XCTAssertEqual(result.stdout, "", "nothing merged is printed", file: file, line: line)
        }
    }

    func testMergeRefusesGarbageTruncatedMismatchedDuplicateAndMissingShards() throws {
        try makeShards()
        let good = try shell("shakedown merge s1.json s2.json s3.json")
        XCTAssertEqual(good.status, 0, good.stderr)
        XCTAssertTrue(good.stdout.contains("repetitions: 12 of 12 ran; 0 failed"), good.stdout)

        try "hello\u{1B}[2J".write(toFile: directory + "/garbage.json", atomically: true, encoding: .utf8)
        try assertRefused("s1.json garbage.json s3.json", mentions: "garbage.json: not JSON (it begins `hello\\u{1B}[2J`): "
            + "`shakedown merge` takes the shards' `run --json` output, not their text reports; run that shard again")
        let whole = try String(contentsOfFile: directory + "/s2.json", encoding: .utf8)
        try String(whole.prefix(whole.count / 2)).write(toFile: directory + "/truncated.json", atomically: true, encoding: .utf8)
        try assertRefused("s1.json truncated.json s3.json", mentions: "truncated.json: not a whole JSON object (")
        // Before, an empty file was "not a JSON object, or truncated", not what it is.
        try "".write(toFile: directory + "/empty.json", atomically: true, encoding: .utf8)
        try assertRefused("s1.json empty.json s3.json", mentions: "empty.json: empty (0 bytes): no report was written to it; "
            + "run that shard again with `shakedown run --shard i/n --json > FILE`")
        try #"{"copies": []}"#.write(toFile: directory + "/other.json", atomically: true, encoding: .utf8)
        try assertRefused("s1.json other.json s3.json", mentions: "field `command` is missing")

        try assertRefused("s1.json s2.json s2.json s3.json", mentions: "shard 2/3 is given twice")
        try assertRefused("s1.json s3.json", mentions: "shard 2/3 missing (given: s1.json is 1/3, s3.json is 3/3): without "
            + "it the merge is not the whole run; add its report, or run it with the same --seed, --repeat and options")
        try assertRefused("s1.json s2.json s3.json no-such.json", status: 66, mentions: "no-such.json: cannot read")
        try assertRefused("s1.json . s3.json", status: 66, mentions: ".: cannot read: Is a directory")
        // An endless input is refused at the size limit, not read until memory runs out.
        try assertRefused("s1.json /dev/zero s3.json", mentions: "/dev/zero: larger than 256 MiB")

        try makeShards(seed: 6, prefix: "seed6-")
        try assertRefused("s1.json seed6-2.json s3.json", mentions: "the seed bases differ (0x5 vs 0x6)")
        try makeShards(command: "/bin/echo", prefix: "echo-")
        try assertRefused("s1.json echo-2.json s3.json", mentions: "the commands differ (/bin/true vs /bin/echo); merge the shards of one run only")
        let four = try shell("shakedown run --seed 5 --repeat 12 --keep-going --shard 2/4 --json -- /bin/true > four.json")
        XCTAssertEqual(four.status, 0, four.stderr)
        try assertRefused("s1.json four.json s3.json", mentions: "the shard counts differ (1/3 vs 2/4)")
        // Before: the settings were dumped as a Swift struct, leaving the reader to find the difference.
        let rounds = try shell("shakedown run --seed 5 --repeat 12 --keep-going --shard 2/3 --rounds 2 --before true "
            + "--json -- /bin/true > rounds.json")
        XCTAssertEqual(rounds.status, 0, rounds.stderr)
        try assertRefused("s1.json rounds.json s3.json", mentions: "s1.json and rounds.json are not shards of one run: "
            + "--rounds differs (1 vs 2), --before differs (none vs true); run every shard with the same options")

        // Forged numbers that do not add up are refused, not merged into a plausible total.
        let forged = whole.replacingOccurrences(of: #""repetitions" : 4"#, with: #""repetitions" : 9"#)
        XCTAssertNotEqual(forged, whole)
        try forged.write(toFile: directory + "/forged.json", atomically: true, encoding: .utf8)
        try assertRefused("s1.json forged.json s3.json", mentions: "9 repetitions ran, but shard 2/3 has 4")
        try assertRefused("", status: 64, mentions: "give the shards' run --json reports")
    }

    func testMergeRefusesAFailingSeedThatIsNotItsRepetitionsSeed() throws {
        try makeShards(command: "/bin/false", status: 1)
        let text = try String(contentsOfFile: directory + "/s1.json", encoding: .utf8)
        let real = String(Seed(5).repetition(0).value)
        XCTAssertTrue(text.contains(#""seed" : "\#(real)""#), text)
        try text.replacingOccurrences(of: #""seed" : "\#(real)""#, with: #""seed" : "42""#)
            .write(toFile: directory + "/forged.json", atomically: true, encoding: .utf8)
        try assertRefused("forged.json s2.json s3.json", mentions: "repetition 0's seed 42 is not the one seed base 0x5 gives it")
        // A failing shard that claims exit 0 would make the merge say clean.
        let cleanClaim = text.replacingOccurrences(of: #""exitCode" : 1,\#n  "failures""#, with: #""exitCode" : 0,\#n  "failures""#)
        XCTAssertNotEqual(cleanClaim, text)
        try cleanClaim.write(toFile: directory + "/clean-claim.json", atomically: true, encoding: .utf8)
        try assertRefused("clean-claim.json s2.json s3.json", mentions: "exitCode 0, but its failing repetitions make it 1")
    }

    func testCleanMergeStatesTheWilsonBoundForZeroFailures() throws {
        try makeShards()
        let merged = try shell("shakedown merge --json s1.json s2.json s3.json > merged.json")
        XCTAssertEqual(merged.status, 0, merged.stderr)
        let rate = try XCTUnwrap((try json("merged.json")["merge"] as? [String: Any])?["failureRate"] as? [String: Any])
        // 0 of n: Wilson's upper bound is z² / (n + z²), z = 1.96 for 95 %.
        let z2 = 1.959963984540054 * 1.959963984540054
        XCTAssertEqual(rate["failures"] as? Int, 0)
        XCTAssertEqual(rate["repetitions"] as? Int, 12)
        XCTAssertEqual(rate["high"] as? Double ?? -1, z2 / (12 + z2), accuracy: 1e-9)
        XCTAssertEqual(rate["low"] as? Double, 0)
        XCTAssertNil(rate["expectedRunsToReproduce"])
        let text = try shell("shakedown merge s1.json s2.json s3.json")
        XCTAssertTrue(text.stdout.contains("expected runs to reproduce: not reproduced in 12; at 95 % confidence more "
            + "than \(FailureRateText.decimal(1 / (z2 / (12 + z2)))) runs per failure"), text.stdout)
    }
}

/// The one-decimal format the merge prints, for the expected text.
private enum FailureRateText {
    static func decimal(_ value: Double) -> String {
        let tenths = Int64((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
