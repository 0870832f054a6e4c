import Foundation
import Shakedown
import XCTest

/// The README's Package.swift snippet, pasted into a fresh package that depends on this checkout, resolves: every
/// product it names exists under that name, and the production target builds against ShakedownJitter alone.
final class ReadmePackageSnippetTests: XCTestCase {
    private static let root = Fixtures.packageRoot

    /// The `// Package.swift` block of the README: `dependencies: [...], targets: [...]`.
    private func readmeSnippet() throws -> String {
        let readme = try String(contentsOfFile: Self.root + "/README.md", encoding: .utf8)
        let start = try XCTUnwrap(readme.range(of: "```swift\n// Package.swift\n"), "README has no Package.swift snippet")
        let end = try XCTUnwrap(readme.range(of: "```", range: start.upperBound..<readme.endIndex))
        return String(readme[start.upperBound..<end.lowerBound])
    }

    /// A package made of the snippet, with the dependency's URL pointed at this checkout (through a link named
    /// `shakedown`, the identity the snippet's `package:` arguments use). Returns its folder.
    private func makePackage(snippet: String) throws -> String {
        let folder = NSTemporaryDirectory() + "readme-snippet-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        let files = FileManager.default
        try files.createDirectory(atPath: folder + "/Sources/MyLib", withIntermediateDirectories: true)
        try files.createDirectory(atPath: folder + "/Tests/MyTests", withIntermediateDirectories: true)
        try files.createSymbolicLink(atPath: folder + "/shakedown", withDestinationPath: Self.root)
        let lines = snippet.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.contains(".package(url:") ? "    .package(path: \"\(folder)/shakedown\")," : String(line)
        }
        let manifest = """
            // swift-tools-version: 6.1
            import PackageDescription

            let package = Package(
                name: "ReadmeSnippet",
            \(lines.joined(separator: "\n"))
            )

            """
        try manifest.write(toFile: folder + "/Package.swift", atomically: true, encoding: .utf8)
        try "import ShakedownJitter\n\npublic func step(_ value: inout Int) {\n    value += 1\n    Jitter.point()\n}\n"
            .write(toFile: folder + "/Sources/MyLib/MyLib.swift", atomically: true, encoding: .utf8)
        try "import MyLib\n".write(toFile: folder + "/Tests/MyTests/MyTests.swift", atomically: true, encoding: .utf8)
        return folder
    }

    private func buildLibrary(in folder: String) throws -> CommandResult {
        try CommandRunner.run(["swift", "build", "--package-path", folder, "--scratch-path", folder + "/.build",
                               "--target", "MyLib"], timeout: .seconds(600))
    }

    func testTheSnippetsProductsExistAndProductionCodeBuildsOnShakedownJitterAlone() throws {
        let snippet = try readmeSnippet()
        for product in ["ShakedownJitter", "Shakedown", "ShakedownTesting", "ShakedownXCTest"] {
            XCTAssertTrue(snippet.contains(".product(name: \"\(product)\", package: \"shakedown\")"), product)
        }
        let result = try buildLibrary(in: makePackage(snippet: snippet))
        XCTAssertEqual(result.exit, .exited(code: 0), result.outputText + result.errorText)
        XCTAssertTrue(result.outputText.contains("Build of target: 'MyLib' complete"), result.outputText)
    }

    func testAMisnamedProductInTheSnippetFails() throws {
        let wrong = try readmeSnippet().replacingOccurrences(of: "\"ShakedownXCTest\"", with: "\"ShakedownXCTests\"")
        let result = try buildLibrary(in: makePackage(snippet: wrong))
        XCTAssertNotEqual(result.exit, .exited(code: 0))
        XCTAssertTrue(result.errorText.contains("ShakedownXCTests"), result.errorText)
    }
}
