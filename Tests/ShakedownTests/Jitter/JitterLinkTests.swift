import Foundation
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

    /// docs/design.md's claim, rebuilt and re-read: in a release build the point is inlined into its caller, and the
    /// path taken outside a run (up to the first `ret`) reads the ambient root, branches once and calls nothing.
    func testInAReleaseBuildThePointIsOneLoadAndOneBranchInline() throws {
        let scratch = NSTemporaryDirectory() + "jitter-release-\(getpid())"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: scratch) }
        let root = Fixtures.packageRoot
        _ = try run(["swift", "build", "-c", "release", "--package-path", root, "--scratch-path", scratch,
                     "--product", "jitter-only"])
        #if arch(x86_64)
        let syntax = ["-M", "intel"]
        #else
        let syntax: [String] = []
        #endif
        let listing = try run(["objdump", "-d", "--no-show-raw-insn"] + syntax + [scratch + "/release/jitter-only"])
            .outputText.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try XCTUnwrap(listing.firstIndex { $0.contains("stepWithJitterPoint") && $0.hasSuffix(">:") },
                                  "stepWithJitterPoint not found")
        let body = listing[(start + 1)...].prefix { !$0.isEmpty }
        let fastPath = Array(body.prefix { !$0.contains("\tret") })
        let mnemonics = fastPath.compactMap { $0.split(separator: "\t").dropFirst().first.map { String($0.split(separator: " ")[0]) } }
        let conditional = mnemonics.filter { ($0.hasPrefix("j") && $0 != "jmp") || $0.hasPrefix("b.") || $0.hasPrefix("cb") || $0.hasPrefix("tb") }
        XCTAssertEqual(conditional.count, 1, "one branch: \(fastPath.joined(separator: "\n"))")
        XCTAssertFalse(mnemonics.contains { $0 == "call" || $0 == "bl" || $0 == "jmp" || $0 == "b" }, "no call")
        XCTAssertEqual(fastPath.filter { $0.contains("shakedown_jitter_ambient_root") }.count, 1, "one ambient read")
        XCTAssertLessThanOrEqual(fastPath.count, 12, fastPath.joined(separator: "\n"))
        XCTAssertTrue(body.contains { $0.contains("shakedown_jitter_point") }, "the slow path is out of line")
    }

    func testImportShakedownAloneStillSeesTheSameJitter() throws {
        // This file imports Shakedown, not ShakedownJitter: the re-export keeps old code compiling, under both names.
        XCTAssertTrue(Shakedown.Jitter.self == ShakedownJitter.Jitter.self)
        let report = try Shake.fork(processes: 2, rounds: 20, timeout: .seconds(60), jitter: .default) { worker in
            for _ in 0..<50 { Shakedown.Jitter.point() }
            worker.check(worker.jitter.points >= 50, "the points drew from this worker's source")
        }
        XCTAssertTrue(report.isClean, report.summary)
    }

    func testOutsideARunEveryPointIsDisarmed() throws {
        let result = try run([Fixtures.path("jitter-only"), "1000"])
        XCTAssertEqual(result.outputText, "jitter-only: 1000 points, armed: false\n")
    }
}
