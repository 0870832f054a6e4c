#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// A run that stops early (a failed --before, a command that cannot be run) still writes the --json and --junit
/// reports CI asked for, with the stop recorded as its repetition's failure. Before, both were missing.
final class StoppedRunReportTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shakedown-stopped-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private func run(_ arguments: [String]) throws -> (result: CLI.Result, json: [String: Any], xml: String) {
        let junit = directory + "/junit-\(UUID().uuidString).xml"
        let result = try CLI.shakedown(["run", "--json", "--junit", junit] + arguments, environment: ["SHAKEDOWN_JITTER": ""])
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        let json = try XCTUnwrap(object as? [String: Any], result.stdout)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        let validation = try XMLLint.validate(junit, schema: JUnitReportTests.schema)
        XCTAssertEqual(validation.status, 0, "not valid JUnit XML: \(validation.output)\n\(xml)")
        return (result, json, xml)
    }

    private func failures(_ json: [String: Any]) throws -> [[String: Any]] {
        try XCTUnwrap(json["failures"] as? [[String: Any]], "\(json)")
    }

    func testFailedBeforeInTheFirstRepetitionWritesBothReports() throws {
        let (result, json, xml) = try run(["-n", "2", "--seed", "11", "--before", "echo no database; exit 3",
                                           "--", "/bin/true"])
        XCTAssertEqual(result.status, 70, result.stderr)
        XCTAssertEqual(json["exitCode"] as? Int, 70)
        XCTAssertEqual(json["repetitions"] as? Int, 1)
        let failure = try XCTUnwrap(try failures(json).first)
        XCTAssertEqual(failure["repetition"] as? Int, 0)
        XCTAssertEqual(failure["seed"] as? String, "11")
        XCTAssertEqual(failure["exitCode"] as? Int, 70)
        XCTAssertTrue((failure["reason"] as? String ?? "").contains("--before `echo no database; exit 3` exited with code 3"),
                      "\(failure)")
        XCTAssertEqual((json["tally"] as? [String: Any])?["verdicts"] as? [String: Int], ["not started": 1])
        XCTAssertTrue(xml.contains(#"tests="1" failures="0" errors="1""#), xml)
        XCTAssertTrue(xml.contains("<error type=\"not started\" message=\"--before `echo no database; exit 3` exited with code 3"),
                      xml)
        XCTAssertTrue(xml.contains("seed 0xb"), xml)
    }

    /// A --before that starts a process and then fails: the process is stopped as after any repetition (before,
    /// the stop left it running).
    func testAFailedBeforesLeftoverIsKilled() throws {
        let marker = "stopped-before-\(UUID().uuidString)"
        // Its own session, so the step's process-group kill does not reach it.
        let before = "setsid sh -c 'sleep 60' \(marker) & sleep 0.3; exit 4"
        let (result, json, _) = try run(["-n", "1", "--before", before, "--", "/bin/true"])
        XCTAssertEqual(result.status, 70, result.stderr)
        XCTAssertTrue(result.stderr.contains("process(es) running in repetition 0; killed: sh -c sleep 60 \(marker)"),
                      result.stderr)
        XCTAssertEqual(CLI.processes(containing: marker), [], "the leftover is gone")
        XCTAssertEqual(json["exitCode"] as? Int, 70)
    }

    func testFailedBeforeInALaterRepetitionKeepsTheEarlierOnes() throws {
        let (result, json, xml) = try run(["-n", "1", "--seed", "11", "--repeat", "5",
                                           "--before", #"test "$SHAKEDOWN_REPETITION" != 2"#, "--", "/bin/true"])
        XCTAssertEqual(result.status, 70, result.stderr)
        XCTAssertEqual(json["repetitions"] as? Int, 3)
        let failure = try XCTUnwrap(try failures(json).first)
        XCTAssertEqual(failure["repetition"] as? Int, 2)
        XCTAssertEqual(failure["seed"] as? String, String(Seed(11).repetition(2).value))
        XCTAssertEqual((json["tally"] as? [String: Any])?["verdicts"] as? [String: Int], ["clean": 2, "not started": 1])
        XCTAssertEqual((json["copies"] as? [Any])?.count, 1, "the last repetition that ran is reported")
        XCTAssertTrue(xml.contains(#"tests="4" failures="0" errors="1" skipped="1""#), xml)
        XCTAssertTrue(xml.contains("<testcase name=\"repetition 2 (seed \(Seed(11).repetition(2).hexadecimal))\""), xml)
        XCTAssertTrue(xml.contains("the run stopped at this repetition before its copies could be judged"), xml)
    }

    func testACommandThatCannotRunWritesBothReports() throws {
        let (result, json, xml) = try run(["-n", "2", "--seed", "4", "--", directory + "/no-such-program"])
        XCTAssertEqual(result.status, 70, result.stderr)
        let failure = try XCTUnwrap(try failures(json).first)
        XCTAssertTrue((failure["reason"] as? String ?? "").contains("cannot run the command: executable not found"),
                      "\(failure)")
        XCTAssertEqual(json["command"] as? [String], [directory + "/no-such-program"])
        XCTAssertTrue(xml.contains("<error type=\"not started\" message=\"cannot run the command"), xml)
    }

    /// Shards that stopped at a failed --before still merge, the stop counted as the failure it is.
    func testStoppedShardsStillMerge() throws {
        var files: [String] = []
        for index in 1...2 {
            let path = directory + "/shard\(index).json"
            let result = try CLI.shakedown(["run", "--seed", "3", "--repeat", "4", "--shard", "\(index)/2", "--json",
                                            "--before", #"test "$SHAKEDOWN_REPETITION" != 1"#, "--", "/bin/true"],
                                           environment: ["SHAKEDOWN_JITTER": ""])
            try result.stdout.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        let merged = try CLI.shakedown(["merge"] + files)
        XCTAssertEqual(merged.status, 70, merged.stdout + merged.stderr)
        XCTAssertTrue(merged.stdout.contains("verdicts: clean: 3, not started: 1"), merged.stdout)
    }
}
