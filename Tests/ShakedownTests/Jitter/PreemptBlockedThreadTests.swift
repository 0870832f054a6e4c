#if canImport(Glibc)
import Glibc
#endif
import XCTest
@testable import Shakedown

/// Preemption must not storm threads that wait in the kernel: with a timer every 1-10 µs on CLOCK_MONOTONIC, a thread
/// blocked in a futex or poll was woken (and put to sleep again by the handler) tens of thousands of times a second,
/// which starved the threads holding the locks and made lock-heavy runs take 100-1,000× as long.
final class PreemptBlockedThreadTests: XCTestCase {
    /// Milliseconds since an arbitrary start.
    private static func nowMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000 + Int64(now.tv_nsec) / 1_000_000
    }

    func testABlockedThreadIsBackedOffNotStormed() throws {
        let run = try Shake.fork(processes: 1, jitter: .none, seed: Seed(5)) { worker in
            let installation = JitterRuntime.installInWorker(plan: .preempt, seed: worker.seed)
            worker.check(installation == .armed, "preemption not armed: \(installation)")
            // 200 ms blocked in poll, retried on EINTR as careful code does. Counted from here, so a plan from
            // SHAKEDOWN_JITTER that armed the worker already does not matter.
            let (firedBefore, blockedBefore) = (JitterRuntime.preemptions, JitterRuntime.preemptionsWhileBlocked)
            let end = Self.nowMilliseconds() + 200
            while case let left = end - Self.nowMilliseconds(), left > 0 {
                _ = poll(nil, 0, Int32(left))
            }
            let fired = JitterRuntime.preemptions - firedBefore
            let blocked = JitterRuntime.preemptionsWhileBlocked - blockedBefore
            JitterRuntime.stop()
            // Without the back-off this bound fails (every 1-10 µs expiry wakes the thread); with it, one expiry per
            // 16-320 µs once backed off.
            worker.check(fired < 4_000, "a thread blocked for 200 ms took \(fired) preemption signals (\(blocked) while blocked)")
            // Most, not all: each EINTR return runs the retry loop briefly (855 of 1,033 in one loaded CI run).
            worker.check(blocked * 2 >= fired, "only \(blocked) of \(fired) signals were seen as blocked")
        }
        XCTAssertTrue(run.isClean, run.summary)
    }

    func testARunningThreadIsStillPreemptedAtTheFullRate() throws {
        let run = try Shake.fork(processes: 1, jitter: .none, seed: Seed(6)) { worker in
            let installation = JitterRuntime.installInWorker(plan: .preempt, seed: worker.seed)
            worker.check(installation == .armed, "preemption not armed: \(installation)")
            let (firedBefore, blockedBefore) = (JitterRuntime.preemptions, JitterRuntime.preemptionsWhileBlocked)
            var spins: UInt64 = 0
            let end = Self.nowMilliseconds() + 200
            while Self.nowMilliseconds() < end { spins &+= 1 }  // clock_gettime is the vDSO: no system call
            let fired = JitterRuntime.preemptions - firedBefore
            let blocked = JitterRuntime.preemptionsWhileBlocked - blockedBefore
            JitterRuntime.stop()
            // Running user code, every expiry acts: hundreds in 200 ms, and next to none taken for blocked.
            worker.check(fired >= 100, "a running thread took only \(fired) preemption signals in 200 ms (\(spins) spins)")
            worker.check(blocked * 10 < fired, "\(blocked) of \(fired) signals were taken for blocked")
        }
        XCTAssertTrue(run.isClean, run.summary)
    }
}
