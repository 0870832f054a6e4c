#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown

/// `mix` for commands: per run (per repetition of `shakedown run --repeat`), `preempt` or `gate` drawn from the
/// run's seed; `default` preempts every command run and gives closure workers points. Real runs of the race catalogue
/// through the built `shakedown` binary.
final class JitterMixTests: XCTestCase {
    func testTheMixIsDeterministicPerSeed() {
        for base in [Seed(1), Seed(0xDEAD_BEEF)] {
            let modes = (0..<400).map { JitterPlan(mode: .mix).forCommandRun(seed: base.repetition($0)).mode }
            let again = (0..<400).map { JitterPlan(mode: .mix).forCommandRun(seed: base.repetition($0)).mode }
            XCTAssertEqual(modes, again, "same seed, same per-repetition modes")
            XCTAssertEqual(Set(modes), [.preempt, .gate])
            let preempting = modes.filter { $0 == .preempt }.count
            // Fixed seeds, so this is a fact about the generator, not a chance: about the configured share.
            XCTAssertEqual(Double(preempting) / 400, JitterPlan.mixPreemptShare, accuracy: 0.1)
            // A replay of repetition k runs with its seed as repetition 0 (Seed.repetition(0) keeps it): same mode.
            for k in [3, 17, 101] {
                XCTAssertEqual(JitterPlan(mode: .mix).forCommandRun(seed: base.repetition(k).repetition(0)).mode, modes[k])
            }
        }
        let other = (0..<400).map { JitterPlan(mode: .mix).forCommandRun(seed: Seed(2).repetition($0)).mode }
        XCTAssertNotEqual(other, (0..<400).map { JitterPlan(mode: .mix).forCommandRun(seed: Seed(1).repetition($0)).mode })
        // Only `mix` is drawn and `default` becomes `preempt`; the pressure settings are kept.
        for mode in JitterMode.allCases where mode != .mix && mode != .default {
            XCTAssertEqual(JitterPlan(mode: mode).forCommandRun(seed: Seed(7)), JitterPlan(mode: mode))
        }
        for seed in [Seed(1), Seed(7), Seed(0xDEAD_BEEF)] {
            var expected = JitterPlan(mode: .default)
            expected.mode = .preempt
            XCTAssertEqual(JitterPlan(mode: .default).forCommandRun(seed: seed), expected)
        }
        var custom = JitterPlan(mode: .mix)
        custom.preemptInterval = .microseconds(40)
        XCTAssertEqual(custom.forCommandRun(seed: Seed(7)).preemptInterval, .microseconds(40))
    }

    /// A command run under `mix` reports the drawn mode and runs with it: the preload library's exit line says
    /// "armed" (timers) for `preempt` and "off" (loaded for the gate, no timers) for `gate`. Closure runs keep `mix`
    /// (points); a command under `default` is preempted whatever its seed, closure workers under `default` get points.
    func testACommandRunUsesTheModeItsSeedDraws() throws {
        let seeds = (0..<64).map { Seed(UInt64($0)) }
        let preemptSeed = try XCTUnwrap(seeds.first { JitterPlan.mixPreempts(seed: $0) })
        let gateSeed = try XCTUnwrap(seeds.first { !JitterPlan.mixPreempts(seed: $0) })
        for (seed, mode, status) in [(preemptSeed, JitterMode.preempt, "status=armed"), (gateSeed, .gate, "status=off")] {
            let reportFile = NSTemporaryDirectory() + "shakedown-mix-\(getpid())-\(seed.value)"
            defer { unlink(reportFile) }
            setenv("SHAKEDOWN_PREEMPT_REPORT", reportFile, 1)
            defer { unsetenv("SHAKEDOWN_PREEMPT_REPORT") }
            let report = try Shake.run(command: ["/bin/sleep", "0.02"],  // exits through exit(3), so the library's destructor writes
                                       RunConfiguration(processes: 2, timeout: .seconds(60), jitter: JitterPlan(mode: .mix), seed: seed))
            XCTAssertEqual(report.configuration.jitter.mode, mode)
            XCTAssertTrue(report.workers.allSatisfy { $0.outcome.isSuccess }, "\(report)")
            let lines = (try? String(contentsOfFile: reportFile, encoding: .utf8))?.split(separator: "\n") ?? []
            XCTAssertEqual(lines.count, 2, "one line per copy from the preload library: \(lines)")
            XCTAssertTrue(lines.allSatisfy { $0.hasSuffix(status) }, "\(mode): \(lines)")
        }
        for plan in [JitterPlan(mode: .mix), .default] {
            let closures = try Shake.fork(RunConfiguration(processes: 2, jitter: plan, seed: preemptSeed)) { _ in }
            XCTAssertEqual(closures.configuration.jitter.mode, plan.mode, "closure workers are not drawn: points")
            XCTAssertFalse(closures.configuration.jitter.preempts)
        }
        for seed in [preemptSeed, gateSeed] {
            let reportFile = NSTemporaryDirectory() + "shakedown-mix-\(getpid())-default-\(seed.value)"
            defer { unlink(reportFile) }
            setenv("SHAKEDOWN_PREEMPT_REPORT", reportFile, 1)
            defer { unsetenv("SHAKEDOWN_PREEMPT_REPORT") }
            let plain = try Shake.run(command: ["/bin/sleep", "0.01"],
                                      RunConfiguration(processes: 2, timeout: .seconds(60), jitter: .default, seed: seed))
            XCTAssertEqual(plain.configuration.jitter.mode, .preempt, "default preempts a command whatever its seed")
            let lines = (try? String(contentsOfFile: reportFile, encoding: .utf8))?.split(separator: "\n") ?? []
            XCTAssertEqual(lines.count, 2, "one line per copy from the preload library: \(lines)")
            XCTAssertTrue(lines.allSatisfy { $0.hasSuffix("status=armed") }, "default: \(lines)")
        }
    }

    /// Before: every timer signal cut a command's `usleep` short (nanosleep returns EINTR after any handler), so the
    /// zombie leaker lingered microseconds instead of 300 ms and its zombies could go unseen.
    func testSleepsKeepTheirLengthUnderPreemption() throws {
        let report = try Shake.run(command: [RaceCatalogue.buildDirectory + "/zombie-leaker", "2", "300"],
                                   RunConfiguration(processes: 2, timeout: .seconds(60), jitter: .preempt, seed: Seed(11)))
        XCTAssertGreaterThanOrEqual(report.duration, .milliseconds(300), "\(report)")
        XCTAssertEqual(report.zombies.count, 4, "\(report)")
    }

    /// `shakedown run --repeat --jitter mix` finds the ABA slot reuse (found by preemption only: 0 of 100 under
    /// plain stress and the gate alone, 60 of 100 under preempt) and the file counter; each failing repetition names
    /// the mode it ran with, and that is the mode its seed draws, so its replay line runs it again.
    func testMixFindsCatalogueBugsUnderRepeatAndNamesEachRepetitionsMode() throws {
        let directory = try scratchDirectory()
        defer { removeScratch(directory) }
        let runs: [(name: String, extra: [String], command: [String])] = [
            // About 40 of 80 repetitions preempt; each finds the ABA bug with p ≈ 0.6 (0.3 on a loaded machine):
            // missing it in all of them is below 1e-6.
            ("race-aba", ["--before", "rm -f \(directory)/slots"], [CLI.path("race-aba"), "\(directory)/slots", "20000"]),
            // Both arms find it (gate ≈ 0.3, preempt ≈ 1.0 a repetition): 40 misses in a row is below 1e-6.
            ("race-file-counter", ["--before", "rm -f \(directory)/counter",
                                   "--check", "test \"$(od -An -t d8 \(directory)/counter | tr -d ' ')\" = 200"],
             [CLI.path("race-file-counter"), "\(directory)/counter", "50"]),
        ]
        for (index, run) in runs.enumerated() {
            let repeats = index == 0 ? "80" : "40"
            let result = try CLI.shakedown(["run", "-n", "4", "--jitter", "mix", "--repeat", repeats, "--keep-going", "--json", "--seed", "0x5eed"]
                                           + run.extra + ["--"] + run.command)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                     result.stdout + result.stderr)
            let failures = try XCTUnwrap(json["failures"] as? [[String: Any]], result.stdout)
            XCTAssertFalse(failures.isEmpty, "\(run.name) not found in \(repeats) repetitions under mix: \(result.stdout)")
            // The text output names the drawn mode next to the replay line (which redraws it from the seed).
            let text = try CLI.shakedown(["run", "-n", "4", "--jitter", "mix", "--repeat", repeats, "--seed", "0x5eed"] + run.extra + ["--"] + run.command)
            let replay = text.stdout.split(separator: "\n").drop { !$0.hasPrefix("replay: ") }.dropFirst().first
            XCTAssertTrue(replay?.hasPrefix("jitter: mix drew ") ?? false, text.stdout)
            for failure in failures {
                let seed = Seed(try XCTUnwrap(UInt64(try XCTUnwrap(failure["seed"] as? String))))
                let drawn = JitterPlan(mode: .mix).forCommandRun(seed: seed).mode
                XCTAssertEqual(failure["jitter"] as? String, drawn.rawValue, "\(failure)")
            }
        }
    }

    /// The fixed twins under the mix: every repetition clean, in both arms.
    func testFixedTwinsNeverFailUnderTheMix() throws {
        let directory = try scratchDirectory()
        defer { removeScratch(directory) }
        let twins: [(extra: [String], command: [String])] = [
            (["--before", "rm -f \(directory)/slots"], [CLI.path("race-aba"), "--fixed", "\(directory)/slots", "20000"]),
            (["--before", "rm -f \(directory)/counter",
              "--check", "test \"$(od -An -t d8 \(directory)/counter | tr -d ' ')\" = 200"],
             [CLI.path("race-file-counter"), "--fixed", "\(directory)/counter", "50"]),
            ([], [CLI.path("race-threads"), "--fixed", "5000"]),
            ([], [CLI.path("race-pipe-order"), "--fixed", "2000"]),
            ([], [CLI.path("race-lost-wakeup"), "--fixed", "2000"]),
        ]
        for twin in twins {
            let result = try CLI.shakedown(["run", "-n", "4", "--jitter", "mix", "--repeat", "16", "--keep-going", "--seed", "0x7717"]
                                           + twin.extra + ["--"] + twin.command)
            XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
            XCTAssertTrue(result.stdout.contains("clean: every copy exited 0"), result.stdout)
        }
        // Both arms ran: seeds 0x7717.repetition(0..<16) draw each at least once.
        let modes = Set((0..<16).map { JitterPlan(mode: .mix).forCommandRun(seed: Seed(0x7717).repetition($0)).mode })
        XCTAssertEqual(modes, [.preempt, .gate])
    }

    private func scratchDirectory() throws -> String {
        var template = Array("/tmp/shakedown-mix-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        return String(cString: made)
    }

    private func removeScratch(_ directory: String) {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The built `shakedown` binary and fixtures, run as real processes.
private enum CLI {
    static func path(_ name: String) -> String { RaceCatalogue.buildDirectory + "/" + name }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static func shakedown(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path("shakedown"))
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: JitterPlan.environmentVariable)  // the --jitter given is what is tested
        environment.removeValue(forKey: Seed.environmentVariable)
        process.environment = environment
        let out = Foundation.Pipe(), err = Foundation.Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}
