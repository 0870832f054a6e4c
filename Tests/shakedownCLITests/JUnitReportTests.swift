#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shakedown
import XCTest

/// `shakedown run --junit FILE`: every report it writes validates against docs/junit.xsd with xmllint, whatever
/// the command printed; failures carry the seed and the replay line; hangs and crashes land in system-out.
final class JUnitReportTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("shakedown-junit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    /// docs/junit.xsd, found from this file: Tests/shakedownCLITests/ → the repository.
    static let schema = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/junit.xsd").path

    /// Runs `shakedown run --junit FILE ARGUMENTS`, then validates FILE; returns the run and the XML.
    private func junitRun(_ arguments: [String], file: StaticString = #filePath,
                          line: UInt = #line) throws -> (result: CLI.Result, xml: String) {
        let path = directory + "/junit-\(UUID().uuidString).xml"
        let result = try CLI.shakedown(["run", "--junit", path] + arguments)
        let xml = try String(contentsOfFile: path, encoding: .utf8)
        let validation = try XMLLint.validate(path, schema: Self.schema)
        XCTAssertEqual(validation.status, 0, "not valid JUnit XML: \(validation.output)\n\(xml)", file: file, line: line)
        return (result, xml)
    }

    func testRepeatedRunIsOneCasePerRepetitionAndTheFailingOneCarriesSeedAndReplay() throws {
        // The check fails in repetition 2 only, and every repetition runs (--keep-going).
        let check = #"test "$SHAKEDOWN_REPETITION" != 2"#
        let (result, xml) = try junitRun(["-n", "2", "--repeat", "4", "--seed", "99", "--keep-going",
                                          "--check", check, "--", "/bin/true"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        XCTAssertEqual(xml.components(separatedBy: "<testcase ").count - 1, 4, xml)
        XCTAssertTrue(xml.contains(#"tests="4" failures="1" errors="0" skipped="0""#), xml)
        let failing = Seed(99).repetition(2)
        XCTAssertTrue(xml.contains("<testcase name=\"repetition 2 (seed \(failing.hexadecimal))\""), xml)
        let failure = try XCTUnwrap(xml.range(of: "<failure type=\"check failed\"").map { String(xml[$0.lowerBound...]) })
        XCTAssertTrue(failure.contains("seed \(failing.hexadecimal)"), failure)
        XCTAssertTrue(failure.contains("replay: shakedown run -n 2 --seed \(failing.hexadecimal) --repeat 1"), failure)
        for clean in [0, 1, 3] {
            XCTAssertTrue(xml.contains("<testcase name=\"repetition \(clean) (seed \(Seed(99).repetition(clean).hexadecimal))\" "
                                       + "classname=\"shakedown.run.true\" time=\""), xml)
        }
    }

    func testStoppedLoopShowsTheRepetitionsItDidNotRunAsSkipped() throws {
        let (result, xml) = try junitRun(["-n", "1", "--repeat", "5", "--check", #"test "$SHAKEDOWN_REPETITION" != 1"#,
                                          "--", "/bin/true"])
        XCTAssertEqual(result.status, 5, result.stdout + result.stderr)
        XCTAssertTrue(xml.contains(#"<testcase name="repetitions 2..&lt;5""#), xml)
        XCTAssertTrue(xml.contains(#"tests="3" failures="1" errors="0" skipped="1""#), xml)
    }

    func testHungCopyCarriesTheHangCaptureAndACrashedCopyItsSignal() throws {
        let marker = "29.\(UInt32.random(in: 100_000...999_999))"
        let (result, xml) = try junitRun(["-n", "3", "--timeout", "1", "--", "/bin/sh", "-c",
            "case $SHAKEDOWN_WORKER in 1) exec sleep \(marker);; 2) kill -SEGV $$;; esac; true"])
        XCTAssertEqual(result.status, 3, result.stdout + result.stderr)
        XCTAssertEqual(xml.components(separatedBy: "<testcase ").count - 1, 3, "a case per copy: \(xml)")
        XCTAssertTrue(xml.contains(#"<testcase name="copy 0" classname="shakedown.run.sh" time=""#), xml)
        let hung = try XCTUnwrap(xml.components(separatedBy: "<testcase ").first { $0.hasPrefix(#"name="copy 1""#) })
        XCTAssertTrue(hung.contains(#"<failure type="hung""#), hung)
        XCTAssertTrue(hung.contains("<system-out>") && hung.contains("hang diagnosis") && hung.contains("nanosleep"), hung)
        XCTAssertTrue(hung.contains("replay: shakedown run -n 3 --seed 0x"), hung)
        let crashed = try XCTUnwrap(xml.components(separatedBy: "<testcase ").first { $0.hasPrefix(#"name="copy 2""#) })
        XCTAssertTrue(crashed.contains(#"<failure type="crashed""#) && crashed.contains("SIGSEGV"), crashed)
        XCTAssertEqual(CLI.processes(containing: "sleep\u{0}\(marker)"), [], "the hung copy was torn down")
    }

    func testEscapeCodesControlCharactersAndInvalidBytesStayValidXML() throws {
        // ESC sequences, NUL, other C0 controls, DEL, C1, a bidi override, bytes that are not UTF-8, and XML's own
        // markup (a fake closing tag, a CDATA end, entities) in the output of a failing copy.
        let printed = #"printf '\033[2J\033]0;title\007\000\001\010\177\302\233\342\200\256 \377\376 </system-out></testcase>]]> &amp; <x a="1">\r\n'; exit 1"#
        // U+FFFE and U+FFFF are valid UTF-8 but not XML characters; the check's raw bytes keep their \x{FF} form.
        let (result, xml) = try junitRun(["-n", "1", "--check", #"printf '\357\277\276\357\277\277 \377 bad'"#,
                                          "--", "/bin/sh", "-c", printed])
        XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
        let bytes = Array(xml.utf8)
        let forbidden = bytes.filter { $0 < 0x20 && $0 != 0x0A && $0 != 0x09 }
        XCTAssertEqual(forbidden, [], "no raw control byte in the file")
        XCTAssertFalse(xml.unicodeScalars.contains { TerminalText.needsEscape($0) && $0 != "\n" }, xml)
        let output = try XCTUnwrap(xml.range(of: "<system-out>").map { String(xml[$0.upperBound...]) })
        XCTAssertTrue(output.hasPrefix(#"\u{1B}[2J\u{1B}]0;title\u{7}\u{0}\u{1}\u{8}\u{7F}\u{9B}\u{202E} "#), output)
        XCTAssertTrue(output.contains("&lt;/system-out&gt;&lt;/testcase&gt;]]&gt; &amp;amp; &lt;x a=&quot;1&quot;&gt;\\u{D}"),
                      output)
        XCTAssertEqual(xml.components(separatedBy: "</system-out>").count - 1, 2, "the fake closing tag stayed text")
        XCTAssertTrue(xml.contains(#"<system-out>\u{FFFE}\u{FFFF} \x{FF} bad</system-out>"#), xml)
    }

    func testTheSchemaRejectsWhatCIServersWouldNot() throws {
        // The validation above means something: a test case without a name, a negative count and a malformed
        // time all fail it.
        let bad = [
            #"<testsuites><testsuite name="s" tests="1"><testcase classname="c"/></testsuite></testsuites>"#,
            #"<testsuites><testsuite name="s" tests="-1"/></testsuites>"#,
            #"<testsuites><testsuite name="s" tests="1"><testcase name="t" time="1e3"/></testsuite></testsuites>"#,
            #"<testsuites><testsuite name="s" tests="1"><testcase name="t"><failure/><skipped/></testcase></testsuite></testsuites>"#,
        ]
        for (index, document) in bad.enumerated() {
            let path = directory + "/bad-\(index).xml"
            try document.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertNotEqual(try XMLLint.validate(path, schema: Self.schema).status, 0, document)
        }
        let good = directory + "/good.xml"
        try #"<testsuites><testsuite name="s" tests="1"><testcase name="t" time="0.5"><failure message="m">x</failure><system-out>o</system-out></testcase></testsuite></testsuites>"#
            .write(toFile: good, atomically: true, encoding: .utf8)
        XCTAssertEqual(try XMLLint.validate(good, schema: Self.schema).status, 0)
    }

    func testMoreRepetitionsThanAReportTakesIsAUsageErrorSuggestingShards() throws {
        let result = try CLI.shakedown(["run", "--junit", directory + "/j.xml", "--repeat", "1000001", "--", "/bin/true"])
        XCTAssertEqual(result.status, 64, result.stderr)
        XCTAssertTrue(result.stderr.contains("at most 1000000 per report (split the run with --shard)"), result.stderr)
    }

    func testUnwritableJUnitFileFailsACleanRunWith73() throws {
        let result = try CLI.shakedown(["run", "--junit", directory + "/no-such-folder/junit.xml", "--", "/bin/true"])
        XCTAssertEqual(result.status, 73, result.stdout + result.stderr)
        XCTAssertTrue(result.stderr.contains("cannot write --junit"), result.stderr)
        XCTAssertTrue(result.stdout.contains("clean"), "the run's own report is still printed: \(result.stdout)")
    }
}

/// xmllint (Debian's libxml2-utils), which scripts/ensure-dependencies installs. Missing, the tests fail saying so:
/// a JUnit report nobody validated must not pass.
enum XMLLint {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static var path: String? {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/xmllint" }.first { access($0, X_OK) == 0 }
    }

    /// `xmllint --noout --schema SCHEMA FILE`: its exit status and output.
    static func validate(_ file: String, schema: String) throws -> (status: Int32, output: String) {
        guard let path else {
            throw Failure(description: "xmllint not found on PATH: install libxml2-utils "
                + "(bash scripts/ensure-dependencies installs it) to validate JUnit reports")
        }
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--noout", "--schema", schema, file]
        let pipe = Foundation.Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
