#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import XCTest
@testable import Shakedown

/// Preemption at the full rate (1–30 µs, yields and sleeps) leaves a CPU-bound loop under 10 % of its speed, so under
/// the default mode a command with 5 s of work took over a minute and ran into the run's timeout: a correct program
/// judged hung. The full rate now lasts the first 0.5 s of a process's timers, then the intervals double every 0.5 s
/// (at most 64 ×): the short racy programs of the catalogue run entirely at the full rate, long ones keep most of
/// their speed.
final class PreemptDecayTests: XCTestCase {
    func testTheIntervalDoublesEveryHalfSecondAfterTheFullRate() {
        let milliseconds: UInt64 = 1_000_000
        XCTAssertEqual(shakedown_preempt_decay_shift(0), 0)
        XCTAssertEqual(shakedown_preempt_decay_shift(499 * milliseconds), 0)
        XCTAssertEqual(shakedown_preempt_decay_shift(500 * milliseconds), 1)
        XCTAssertEqual(shakedown_preempt_decay_shift(999 * milliseconds), 1)
        XCTAssertEqual(shakedown_preempt_decay_shift(1_000 * milliseconds), 2)
        XCTAssertEqual(shakedown_preempt_decay_shift(3_000 * milliseconds), 6)
        XCTAssertEqual(shakedown_preempt_decay_shift(3_600_000 * milliseconds), 6, "at most 64 ×")
        XCTAssertEqual(shakedown_preempt_decay_shift(.max), 6)
    }

    /// Before: 2 copies of a release-built loop that took 1.3 s alone took 14.7 s under the default mode (11 ×). Now,
    /// this debug-built loop of 1.4–1.8 s: 2.0 × (most of it the first second, before the intervals have grown), at
    /// load 3-5; the release loop of 1.3 s took 1.1 ×. The bound of 4 × leaves room for a loaded host, where both
    /// sides slow down alike (they run interleaved), and still fails the old behaviour by far.
    func testACPUBoundCommandKeepsMostOfItsSpeedUnderTheDefaultMode() throws {
        let command = [RaceCatalogue.buildDirectory + "/busy-loop", "600000000"]
        var plain: [Duration] = []
        var preempted: [Duration] = []
        for round in 0..<2 {
            let alone = try Shake.run(command: command, RunConfiguration(processes: 2, timeout: .seconds(120),
                                                                         jitter: .none, seed: Seed(UInt64(round))))
            let shaken = try Shake.run(command: command, RunConfiguration(processes: 2, timeout: .seconds(120),
                                                                          jitter: .default, seed: Seed(UInt64(round))))
            XCTAssertTrue(alone.isClean, "\(alone.summary)")
            XCTAssertTrue(shaken.isClean, "\(shaken.summary)")
            XCTAssertEqual(shaken.configuration.jitter.mode, .preempt)
            plain.append(alone.duration)
            preempted.append(shaken.duration)
        }
        let ratio = preempted.reduce(.zero, +) / plain.reduce(.zero, +)
        print("busy-loop × 2 copies: none \(plain), default \(preempted), ratio \(ratio)")
        XCTAssertLessThan(ratio, 4, "none \(plain), default \(preempted)")
    }
}
