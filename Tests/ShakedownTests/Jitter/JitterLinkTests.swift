import Shakedown
import XCTest

/// ShakedownJitter is what production code imports: the `jitter-only` fixture depends on it alone, as such code
/// would, and must link none of Shakedown's heavy parts (libunwind, lzma, Foundation) nor its C shim.
final class JitterLinkTests: XCTestCase {
    private func run(_ arguments: [String]) throws -> CommandResult {
        let result = try CommandRunner.run(arguments, timeout: .seconds(60))
        XCTAssertEqual(result.exit, .exited(code: 0), "\(arguments): \(result.errorText)")
        return result
    }

    /// Every shared library the binary needs, directly (`readelf -d`) and transitively (`ldd`).
    private func neededLibraries(_ path: String) throws -> (direct: [String], resolved: [String]) {
        let direct = try run(["readelf", "-d", "--wide", path]).outputText.split(separator: "\n")
            .filter { $0.contains("(NEEDED)") }
            .compactMap { line in line.split(separator: "[").last.map { String($0.dropLast()) } }
        let resolved = try run(["ldd", path]).outputText.split(separator: "\n")
            .compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) }
        return (direct, resolved)
    }

    func testProductionCodeImportingOnlyShakedownJitterLinksNoLibunwindLzmaOrFoundation() throws {
        let (direct, resolved) = try neededLibraries(Fixtures.path("jitter-only"))
        XCTAssertTrue(direct.contains("libswiftCore.so"), "the NEEDED list was not read: \(direct)")
        XCTAssertTrue(resolved.contains("libc.so.6"), "the ldd list was not read: \(resolved)")
        for library in direct + resolved {
            XCTAssertFalse(library.contains("unwind"), "jitter-only needs \(library)")
            XCTAssertFalse(library.contains("lzma"), "jitter-only needs \(library)")
            XCTAssertFalse(library.contains("Foundation"), "jitter-only needs \(library)")
        }
        // The same check on a fixture that imports Shakedown finds libunwind, so the check can fail.
        let (fullDirect, _) = try neededLibraries(Fixtures.path("racy-counter"))
        XCTAssertTrue(fullDirect.contains { $0.hasPrefix("libunwind") }, "\(fullDirect)")
        XCTAssertTrue(fullDirect.contains { $0.hasPrefix("liblzma") }, "\(fullDirect)")
    }

    func testProductionCodeImportingOnlyShakedownJitterCarriesOnlyThePointsCode() throws {
        let symbols = try run(["nm", Fixtures.path("jitter-only")]).outputText
        XCTAssertTrue(symbols.contains("shakedown_jitter_ambient_root"), "the point's state is linked in")
        XCTAssertTrue(symbols.contains("shakedown_jitter_point"), "the point's slow path is linked in")
        XCTAssertFalse(symbols.contains("shakedown_ptrace"), "the C shim's ptrace code came along")
        XCTAssertFalse(symbols.contains("shakedown_preempt"), "the C shim's preemption code came along")
    }

    func testOutsideARunEveryPointIsDisarmed() throws {
        let result = try run([Fixtures.path("jitter-only"), "1000"])
        XCTAssertEqual(result.outputText, "jitter-only: 1000 points, armed: false\n")
    }
}
