import Foundation
import Shakedown
import XCTest

/// On another system each library stops the build with one clear sentence, not with missing Linux headers or
/// unresolved symbols at link time. Checked by compiling for macOS here (no SDK needed: the check comes first).
final class PlatformCheckTests: XCTestCase {
    private static let root = Fixtures.packageRoot
    private static let message = "Shakedown runs on Linux only"
    private static let otherSystem = "arm64-apple-macosx15.0"

    private func swiftFiles(of module: String) throws -> [String] {
        let folder = Self.root + "/Sources/" + module
        let enumerator = try XCTUnwrap(FileManager.default.enumerator(atPath: folder))
        return enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }.map { folder + "/" + $0 }
    }

    func testEachSwiftLibraryHasOnePlatformCheckThatFiresOffLinux() throws {
        for module in ["Shakedown", "ShakedownXCTest", "ShakedownTesting"] {
            let checks = try swiftFiles(of: module).filter {
                try String(contentsOfFile: $0, encoding: .utf8).contains("#error(\"\(Self.message)")
            }
            XCTAssertEqual(checks.count, 1, "\(module): \(checks)")
            guard let check = checks.first else { continue }
            let offLinux = try CommandRunner.run(["swiftc", "-typecheck", "-parse-stdlib", "-target", Self.otherSystem, check])
            XCTAssertNotEqual(offLinux.exit, .exited(code: 0), module)
            XCTAssertTrue(offLinux.errorText.contains("error: \(Self.message): "), offLinux.errorText)
            let onLinux = try CommandRunner.run(["swiftc", "-typecheck", "-parse-stdlib", check])
            XCTAssertEqual(onLinux.exit, .exited(code: 0), onLinux.errorText)
        }
    }

    func testEveryHeaderOfTheCShimReportsThePlatformFirst() throws {
        let folder = Self.root + "/Sources/CShakedown/include"
        let headers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".h") }
        XCTAssertGreaterThan(headers.count, 5)
        for header in headers where header != "shakedown_platform.h" {
            let result = try CommandRunner.run(["clang", "-fsyntax-only", "-target", Self.otherSystem, "-I", folder,
                                                "-x", "c", folder + "/" + header])
            let firstError = result.errorText.split(separator: "\n").first { $0.contains("error:") } ?? ""
            XCTAssertTrue(firstError.contains(Self.message), "\(header): \(result.errorText)")
        }
    }

    func testShakedownJitterHasNoPlatformCheck() throws {
        // Production code that also builds for other systems keeps its points; only Shakedown (Linux) arms them.
        for file in try swiftFiles(of: "ShakedownJitter") {
            XCTAssertFalse(try String(contentsOfFile: file, encoding: .utf8).contains("#error"), file)
        }
    }
}
