#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest

/// `shakedown demo` needs nothing but the binary: copied alone into an empty folder and run there with a clean
/// environment, it forks its racy and locked counters itself.
final class DemoBinaryTests: XCTestCase {
    func testDemoRunsFromACopiedBinaryInAnEmptyFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shakedown-demo-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let binary = folder.appendingPathComponent("shakedown")
        try FileManager.default.copyItem(atPath: CLI.path("shakedown"), toPath: binary.path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["shakedown"])

        let process = Process()
        process.executableURL = binary
        process.arguments = ["demo", "--rounds", "300"]
        process.currentDirectoryURL = folder
        // No SHAKEDOWN_FIXTURES_DIR, no build folder on PATH: only what a fresh shell has.
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": folder.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        XCTAssertEqual(process.terminationStatus, 0, output)
        let lostLine = output.split(separator: "\n").first { $0.hasPrefix("lost updates") }
        let lost = try XCTUnwrap(lostLine, output).split(separator: " ", omittingEmptySubsequences: true)
        // "lost updates  N (P%)  0 (0.0%)": the unlocked column lost some, the locked one none.
        XCTAssertGreaterThan(Int(lost[2]) ?? 0, 0, output)
        XCTAssertEqual(lost[4], "0", output)
        XCTAssertTrue(output.contains("the locked one lost none. ✔"), output)
    }
}
