#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// The `syscalls` mode: plain programs under a seccomp filter, their controlled calls released one at a time by a
/// seeded scheduler.
final class SyscallSchedulerTests: XCTestCase {
    private struct Outcome {
        let events: [SyscallScheduler.Event]
        let fallbacks: Int
        let directory: String
        let statuses: [Int32]
        let milliseconds: Double
    }

    /// 4 copies of `fixture` under the filter, scheduled with `seed`; the caller removes `directory`.
    private func schedule(_ fixture: String, fixed: Bool = false, iterations: Int, seed: UInt64,
                          strategy: SyscallScheduler.Strategy = .random) throws -> Outcome {
        var template = Array("/tmp/shakedown-sys-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        let directory = String(cString: made)
        let scheduler = try SyscallScheduler(seed: Seed(seed), strategy: strategy)
        var pids: [pid_t] = []
        let start = monotonicNanoseconds()
        for _ in 0..<4 {
            let arguments = ["\(RaceCatalogue.buildDirectory)/\(fixture)"] + (fixed ? ["--fixed"] : [])
                + ["\(directory)/counter", "\(iterations)"]
            let (pid, listener) = try SyscallControl.spawn(arguments, environment: RaceCatalogue.currentEnvironment())
            scheduler.add(pid: pid, listener: listener)
            pids.append(pid)
        }
        let finished = scheduler.run(until: monotonicNanoseconds() + 60_000_000_000)
        if !finished { for pid in pids { kill(pid, SIGKILL) } }
        var statuses: [Int32] = []
        for pid in pids {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            statuses.append(status)
        }
        XCTAssertTrue(finished, "the scheduler wedged")
        return Outcome(events: scheduler.events, fallbacks: scheduler.fallbacks, directory: directory,
                       statuses: statuses, milliseconds: Double(monotonicNanoseconds() - start) / 1e6)
    }

    private func count(in outcome: Outcome) -> Int64? { RaceCatalogue.readInt64(at: "\(outcome.directory)/counter") }

    func testTheSameSeedGivesTheSameOrderOfControlledCallsAndTheSameLoss() throws {
        let first = try schedule("race-file-counter", iterations: 50, seed: 1)
        defer { RaceCatalogue.removeTree(first.directory) }
        let second = try schedule("race-file-counter", iterations: 50, seed: 1)
        defer { RaceCatalogue.removeTree(second.directory) }
        let other = try schedule("race-file-counter", iterations: 50, seed: 2)
        defer { RaceCatalogue.removeTree(other.directory) }
        print("syscalls: \(first.events.count) controlled calls in \(first.milliseconds) ms (\(first.fallbacks) fallbacks); counts \(String(describing: count(in: first))), \(String(describing: count(in: second))), seed 2: \(String(describing: count(in: other)))")
        XCTAssertEqual(first.statuses, [0, 0, 0, 0])
        XCTAssertEqual(first.fallbacks, 0)
        XCTAssertEqual(second.fallbacks, 0)
        XCTAssertGreaterThan(first.events.count, 400, "every pread and pwrite of 4 × 50 is controlled")
        XCTAssertEqual(first.events, second.events, "same seed, same order")
        XCTAssertEqual(count(in: first), count(in: second))
        XCTAssertNotEqual(first.events, other.events, "another seed, another order")
    }

    func testSyscallsFindTheFileRaceEveryTimeAndTheTwinNever() throws {
        var lossy = 0
        for seed in 0..<10 {
            let outcome = try schedule("race-file-counter", iterations: 50, seed: UInt64(seed))
            defer { RaceCatalogue.removeTree(outcome.directory) }
            if count(in: outcome) != 200 { lossy += 1 }
        }
        XCTAssertGreaterThanOrEqual(lossy, 9)
        for seed in 0..<3 {
            let outcome = try schedule("race-file-counter", fixed: true, iterations: 50, seed: UInt64(seed))
            defer { RaceCatalogue.removeTree(outcome.directory) }
            XCTAssertEqual(count(in: outcome), 200, "the flock twin lost updates")
            XCTAssertEqual(outcome.statuses, [0, 0, 0, 0])
            print("flock twin: \(outcome.events.count) controlled calls, \(outcome.fallbacks) bounded-wait releases, \(outcome.milliseconds) ms")
        }
    }

    func testPCTIsReplayableAndFindsTheFileRaceWithChangePoints() throws {
        let pct = SyscallScheduler.Strategy.pct(depth: 3, expectedSteps: 700)
        let first = try schedule("race-file-counter", iterations: 50, seed: 7, strategy: pct)
        defer { RaceCatalogue.removeTree(first.directory) }
        let second = try schedule("race-file-counter", iterations: 50, seed: 7, strategy: pct)
        defer { RaceCatalogue.removeTree(second.directory) }
        XCTAssertEqual(first.fallbacks, 0)
        XCTAssertEqual(first.events, second.events, "same seed, same PCT order")
        var found = [1: 0, 2: 0, 3: 0]
        for depth in [1, 2, 3] {
            for seed in 0..<20 {
                let outcome = try schedule("race-file-counter", iterations: 50, seed: UInt64(seed),
                                           strategy: .pct(depth: depth, expectedSteps: 700))
                defer { RaceCatalogue.removeTree(outcome.directory) }
                if count(in: outcome) != 200 { found[depth, default: 0] += 1 }
            }
        }
        print("pct on the file counter, 20 seeds each: depth 1 found it \(found[1] ?? 0) times, depth 2 \(found[2] ?? 0), depth 3 \(found[3] ?? 0)")
        XCTAssertEqual(found[1], 0, "depth 1 runs one copy at a time to completion: no interleaving, no lost update")
        XCTAssertGreaterThan((found[2] ?? 0) + (found[3] ?? 0), 0, "change points interleave the copies")
    }

    func testBadArgumentsAreRefused() {
        XCTAssertThrowsError(try SyscallScheduler(seed: Seed(1), strategy: .pct(depth: 0, expectedSteps: 10)))
        XCTAssertThrowsError(try SyscallScheduler(seed: Seed(1), boundedWait: .zero))
        XCTAssertThrowsError(try SyscallControl.spawn([], environment: []))
        XCTAssertThrowsError(try SyscallControl.spawn(["/bin/true"], environment: [], syscalls: ["no-such-call"]))
    }
}
