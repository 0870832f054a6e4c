#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CShakedown
import XCTest
@testable import Shakedown

/// `syscalls` and `pct` inside runs: `Shake.run(command:)` (what `shakedown run --jitter syscalls|pct` does) and
/// `Shake.fork` put every copy under the seccomp filter, and the run leader's scheduler releases their calls.
final class SyscallRunTests: XCTestCase {
    override func setUpWithError() throws {
        if let reason = SyscallRunControl.unavailableReason() { throw XCTSkip(reason) }
    }

    private struct Trial {
        let report: RunReport
        let count: Int64?
        let expected: Int64
        var found: Bool { count != expected }
    }

    /// 4 copies of the race-file-counter fixture (or its flock twin) in one run.
    private func fileCounter(_ mode: JitterMode, iterations: Int = 50, seed: UInt64, fixed: Bool = false,
                             schedule: ScheduleOptions = ScheduleOptions(),
                             file: StaticString = #filePath, line: UInt = #line) throws -> Trial {
        var template = Array("/tmp/shakedown-sysrun-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw ShakedownError.systemCall("mkdtemp") }
        let directory = String(cString: made)
        defer { RaceCatalogue.removeTree(directory) }
        var configuration = RunConfiguration(processes: 4, timeout: .seconds(60), jitter: JitterPlan(mode: mode),
                                             seed: Seed(seed))
        configuration.schedule = schedule
        let command = ["\(RaceCatalogue.buildDirectory)/race-file-counter"] + (fixed ? ["--fixed"] : [])
            + ["\(directory)/counter", "\(iterations)"]
        let report = try Shake.run(command: command, configuration)
        XCTAssertEqual(report.unsuccessfulWorkers.map(\.outcome), [], "\(report.notes)", file: file, line: line)
        return Trial(report: report, count: RaceCatalogue.readInt64(at: "\(directory)/counter"),
                     expected: Int64(4 * iterations))
    }

    private func detections(_ mode: JitterMode, trials: Int, iterations: Int,
                            schedule: ScheduleOptions = ScheduleOptions()) throws -> Int {
        var found = 0
        for seed in 0..<trials
        where try fileCounter(mode, iterations: iterations, seed: UInt64(1000 + seed), schedule: schedule).found {
            found += 1
        }
        return found
    }

    // 20 iterations per copy: short enough that plain stress rarely overlaps two read-modify-writes. Measured before
    // choosing the counts (2 cores, others building), 40 runs each: syscalls 40, none 1-2. A false failure needs
    // syscalls to miss 11 of 40 or none to find it in 20.
    func testSyscallsFindTheFileRaceFarMoreOftenThanNone() throws {
        let syscalls = try detections(.syscalls, trials: 40, iterations: 20)
        let none = try detections(.none, trials: 40, iterations: 20)
        print("race-file-counter × 20 under shakedown run: syscalls found it in \(syscalls) of 40 runs, none in \(none)")
        XCTAssertGreaterThanOrEqual(syscalls, 30)
        XCTAssertLessThanOrEqual(none, syscalls - 20)
    }

    // A lost update has depth 2: one change point between a copy's pread and its pwrite finds it. Depth 10 gives 9
    // change points; ~19 % of a copy's controlled calls here are a pread (the rest are the loader's and pwrites).
    // Measured, 40 runs: pct 30, none 1-2 (20 runs at depth 3: 7). A false failure needs pct below 14 (6 standard
    // deviations under 30) or none within 10 of it.
    func testPCTFindsTheFileRaceFarMoreOftenThanNone() throws {
        let pct = try detections(.pct, trials: 40, iterations: 20, schedule: ScheduleOptions(pctDepth: 10))
        let none = try detections(.none, trials: 40, iterations: 20)
        print("race-file-counter × 20 under shakedown run: pct (depth 10) found it in \(pct) of 40 runs, none in \(none)")
        XCTAssertGreaterThanOrEqual(pct, 14)
        XCTAssertLessThanOrEqual(none, pct - 10)
    }

    /// The flock twin: a copy released into `flock` blocks on a parked holder; the scheduler must notice the block
    /// and go on, and no update may be lost.
    func testTheFixedTwinNeverLosesAnUpdateAndNeverWedges() throws {
        for mode in [JitterMode.syscalls, .pct] {
            for seed in 0..<4 {
                let trial = try fileCounter(mode, seed: UInt64(seed), fixed: true)
                XCTAssertFalse(trial.found, "the flock twin lost updates under \(mode): \(String(describing: trial.count))")
                XCTAssertFalse(trial.report.timedOut)
                XCTAssertTrue(trial.report.notes.contains { $0.hasPrefix("\(mode): ") && $0.contains("controlled calls") },
                              "\(trial.report.notes)")
            }
        }
    }

    private func traced(_ mode: JitterMode, seed: UInt64, replay: String? = nil) throws -> (SyscallSchedule, Trial) {
        let path = "/tmp/shakedown-trace-\(getpid())-\(mode)-\(seed)-\(replay == nil ? "t" : "r")"
        defer { unlink(path) }
        let trial = try fileCounter(mode, seed: seed, schedule: ScheduleOptions(traceFile: path, replayFile: replay))
        return (try SyscallSchedule.load(from: path), trial)
    }

    /// The order is the scheduler's decision, not a timing: compared event by event, whatever the load.
    func testTheSameSeedGivesTheSameOrderOfControlledCalls() throws {
        for mode in [JitterMode.syscalls, .pct] {
            let (first, firstTrial) = try traced(mode, seed: 11)
            let (second, secondTrial) = try traced(mode, seed: 11)
            let (other, _) = try traced(mode, seed: 12)
            print("\(mode): \(first.events.count) controlled calls; blocked releases \(first.blockedReleases), timeout releases \(first.timeoutReleases)")
            XCTAssertGreaterThan(first.events.count, 400, "every pread and pwrite of 4 × 50 is controlled")
            XCTAssertEqual(first.timeoutReleases, 0)
            XCTAssertEqual(second.timeoutReleases, 0)
            XCTAssertEqual(first.events, second.events, "\(mode): same seed, same order")
            XCTAssertEqual(firstTrial.count, secondTrial.count, "\(mode): same order, same final count")
            XCTAssertNotEqual(first.events, other.events, "\(mode): another seed, another order")
            XCTAssertEqual(first.mode, mode)
            XCTAssertEqual(first.seed, Seed(11))
        }
    }

    func testAReplayedTraceGivesTheSameOrderUnderAnotherSeed() throws {
        let path = "/tmp/shakedown-replay-\(getpid())"
        defer { unlink(path) }
        for mode in [JitterMode.syscalls, .pct] {
            let (original, originalTrial) = try traced(mode, seed: 21)
            try original.write(to: path)
            let (replayed, replayedTrial) = try traced(mode, seed: 22, replay: path)
            XCTAssertEqual(replayed.events, original.events, "\(mode): the replay follows the trace")
            XCTAssertEqual(replayedTrial.count, originalTrial.count)
            XCTAssertTrue(replayedTrial.report.notes.contains("\(mode): the replay was followed for all \(original.events.count) calls"),
                          "\(replayedTrial.report.notes)")
        }
    }

    /// Closure workers: worker 0 makes a controlled call, then waits outside any controlled call (a futex
    /// semaphore, then a spin on shared memory) for worker 1, which posts only after controlled calls of its own.
    /// Whatever priority PCT gives worker 0, the run must finish and say why it released early.
    func testAWorkerBlockedOutsideControlledCallsDoesNotWedgePCT() throws {
        let path = "/tmp/shakedown-blocked-\(getpid())"
        defer { unlink(path) }
        let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(file, 0)
        defer { close(file) }
        for seed in 0..<4 {
            let semaphore = try ProcessSemaphore(value: 0)
            let flag = try SharedValue<Int64>(0)
            var configuration = RunConfiguration(processes: 2, timeout: .seconds(60), jitter: JitterPlan(mode: .pct),
                                                 seed: Seed(UInt64(seed)))
            configuration.schedule.boundedWait = .milliseconds(5)
            let started = monotonicNanoseconds()
            let report = try Shake.fork(configuration) { worker in
                var byte: UInt8 = 1
                if worker.index == 0 {
                    // Odd seeds block before any controlled call of their own.
                    if seed % 2 == 0 { _ = pwrite(file, &byte, 1, 0) }
                    worker.check(try semaphore.wait(timeout: .seconds(30)), "worker 1 never posted")
                    while flag.value == 0 {}  // spins outside any controlled call
                    _ = pwrite(file, &byte, 1, 1)
                } else {
                    for offset in 2..<8 { _ = pwrite(file, &byte, 1, off_t(offset)) }
                    try semaphore.signal()
                    _ = pwrite(file, &byte, 1, 8)
                    flag.value = 1
                }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            XCTAssertTrue(report.isClean, "\(report)")
            XCTAssertLessThan(seconds, 2, "the scheduler waited for the blocked worker (its last resort, 100 × the 5 ms bounded wait per release, took ≈ 3 s)")
            XCTAssertTrue(report.notes.contains { $0.hasPrefix("pct: ") && $0.contains("slept outside a controlled call") },
                          "the report says the scheduler let others go on: \(report.notes)")
            print("blocked worker, seed \(seed): \(seconds) s; \(report.notes.filter { $0.hasPrefix("pct") })")
        }
    }

    func testClosureWorkersRunUnderTheScheduler() throws {
        let path = "/tmp/shakedown-closure-\(getpid())"
        defer { unlink(path) }
        let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(file, 0)
        defer { close(file) }
        var lossy = 0
        for seed in 0..<5 {
            var zero: Int64 = 0
            _ = pwrite(file, &zero, 8, 0)
            let report = try Shake.fork(processes: 4, rounds: 1, jitter: JitterPlan(mode: .syscalls), seed: Seed(UInt64(seed))) { _ in
                for _ in 0..<20 {
                    var value: Int64 = 0
                    _ = pread(file, &value, 8, 0)
                    value += 1
                    _ = pwrite(file, &value, 8, 0)
                }
            }
            XCTAssertTrue(report.isClean, "\(report)")
            XCTAssertTrue(report.notes.contains { $0.hasPrefix("syscalls: ") && $0.contains("controlled calls of 4 copies") },
                          "\(report.notes)")
            if RaceCatalogue.readInt64(at: path) != 80 { lossy += 1 }
        }
        XCTAssertGreaterThanOrEqual(lossy, 4, "uniform interleavings of 4 × 20 read-modify-writes lose updates")
    }

    /// Rounds of closure workers: between rounds every worker waits at the round barrier (a futex, outside any
    /// controlled call), which the scheduler must recognise as a block; the order still repeats with the seed.
    func testClosureRoundsRepeatTheirOrderWithTheSeed() throws {
        let path = "/tmp/shakedown-rounds-\(getpid())"
        let trace = "/tmp/shakedown-rounds-trace-\(getpid())"
        defer {
            unlink(path)
            unlink(trace)
        }
        let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(file, 0)
        defer { close(file) }
        var schedules: [SyscallSchedule] = []
        for _ in 0..<2 {
            var configuration = RunConfiguration(processes: 3, rounds: 4, jitter: JitterPlan(mode: .pct), seed: Seed(5))
            configuration.schedule.traceFile = trace
            let report = try Shake.fork(configuration) { _ in
                for _ in 0..<5 {
                    var value: Int64 = 0
                    _ = pread(file, &value, 8, 0)
                    value += 1
                    _ = pwrite(file, &value, 8, 0)
                }
            }
            XCTAssertTrue(report.isClean, "\(report)")
            schedules.append(try SyscallSchedule.load(from: trace))
        }
        print("closure rounds: \(schedules[0].events.count) calls, blocked releases \(schedules[0].blockedReleases), timeouts \(schedules[0].timeoutReleases)")
        XCTAssertGreaterThanOrEqual(schedules[0].events.count, 3 * 4 * 10)
        XCTAssertEqual(schedules[0].timeoutReleases, 0)
        XCTAssertEqual(schedules[0].events, schedules[1].events, "same seed, same order across rounds")
    }

    /// Shared memory makes no system call; in these modes each acting jitter point is a `sched_yield`, which is
    /// controlled, so the scheduler decides at the point between `racyIncrement`'s read and write.
    private func sharedMemoryLosses(_ mode: JitterMode, trials: Int, schedule: ScheduleOptions = ScheduleOptions()) throws -> Int {
        var lossy = 0
        for seed in 0..<trials {
            let counter = try SharedCounter()
            var configuration = RunConfiguration(processes: 4, jitter: JitterPlan(mode: mode), seed: Seed(UInt64(500 + seed)))
            configuration.schedule = schedule
            let report = try Shake.fork(configuration) { _ in
                for _ in 0..<10 { counter.racyIncrement() }
            }
            XCTAssertTrue(report.isClean, "\(report)")
            if counter.value != 40 { lossy += 1 }
        }
        return lossy
    }

    func testJitterPointsAreSchedulingPointsForTheSharedMemoryRace() throws {
        let syscalls = try sharedMemoryLosses(.syscalls, trials: 30)
        let pct = try sharedMemoryLosses(.pct, trials: 30, schedule: ScheduleOptions(pctDepth: 10))
        let none = try sharedMemoryLosses(.none, trials: 30)
        print("closure workers, 4 × 10 racy increments: syscalls lost updates in \(syscalls) of 30 runs, pct (depth 10) in \(pct), none in \(none)")
        XCTAssertGreaterThanOrEqual(syscalls, 20)
        XCTAssertGreaterThanOrEqual(pct, 10)
        XCTAssertLessThanOrEqual(none, min(syscalls, pct) - 8)
    }

    /// A copy that waits by yielding for a lower-priority copy: PCT's streak guard lets the other one go on.
    func testAYieldLoopDoesNotStarvePCT() throws {
        for seed in 0..<4 {
            let flag = try SharedValue<Int64>(0)
            let configuration = RunConfiguration(processes: 2, timeout: .seconds(60), jitter: JitterPlan(mode: .pct),
                                                 seed: Seed(UInt64(seed)))
            let started = monotonicNanoseconds()
            let report = try Shake.fork(configuration) { worker in
                if worker.index == 0 {
                    while flag.value == 0 { sched_yield() }
                } else {
                    for _ in 0..<5 { sched_yield() }
                    flag.value = 1
                }
            }
            let seconds = Double(monotonicNanoseconds() - started) / 1e9
            XCTAssertTrue(report.isClean, "\(report)")
            XCTAssertLessThan(seconds, 5, "seed \(seed)")
            XCTAssertTrue(report.notes.contains { $0.hasPrefix("pct: ") && !$0.contains("bounded wait") }, "\(report.notes)")
        }
    }

    /// A signal interrupts a parked call (the kernel withdraws its notification; SA_RESTART makes the call again):
    /// the stale notification must not count as a released call, so each pwrite appears exactly once. (The order
    /// need not repeat: when the withdrawal lands relative to a decision is a matter of timing.)
    func testSignalsInterruptingParkedCallsAreNotCountedAsReleases() throws {
        let path = "/tmp/shakedown-signals-\(getpid())"
        let trace = "/tmp/shakedown-signals-trace-\(getpid())"
        defer {
            unlink(path)
            unlink(trace)
        }
        let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(file, 0)
        defer { close(file) }
        let pwrite64 = shakedown_syscall_number("pwrite64")
        var schedules: [SyscallSchedule] = []
        for _ in 0..<2 {
            let target = try SharedValue<Int32>(0)
            var configuration = RunConfiguration(processes: 2, jitter: JitterPlan(mode: .syscalls), seed: Seed(9))
            configuration.schedule.traceFile = trace
            let report = try Shake.fork(configuration) { worker in
                var byte: UInt8 = 1
                if worker.index == 0 {
                    signal(SIGUSR2) { _ in }
                    target.value = getpid()
                    for offset in 0..<30 { _ = pwrite(file, &byte, 1, off_t(offset)) }
                } else {
                    for offset in 30..<60 {
                        if target.value > 0 { kill(target.value, SIGUSR2) }
                        _ = pwrite(file, &byte, 1, off_t(offset))
                    }
                }
            }
            XCTAssertTrue(report.isClean, "\(report)")
            schedules.append(try SyscallSchedule.load(from: trace))
        }
        for schedule in schedules {
            XCTAssertEqual(schedule.events.filter { $0.syscall == pwrite64 }.count, 60, "each pwrite released once")
        }
    }

    func testWithoutSeccompNotificationTheRunFallsBackAndSaysSo() throws {
        setenv(SyscallRunControl.disableVariable, "off", 1)
        defer { unsetenv(SyscallRunControl.disableVariable) }
        for mode in [JitterMode.syscalls, .pct] {
            let report = try Shake.run(command: ["/bin/true"], RunConfiguration(processes: 2, jitter: JitterPlan(mode: mode)))
            XCTAssertTrue(report.isClean, "\(report)")
            XCTAssertEqual(report.configuration.jitter.mode, .preempt)
            XCTAssertTrue(report.notes.contains { $0.hasPrefix("jitter mode \(mode) fell back to preempt: ") }, "\(report.notes)")
        }
        let (output, exitCode) = try run(Fixtures.path("shakedown"), ["run", "-n", "2", "--jitter", "pct", "--json", "--", "/bin/true"])
        XCTAssertEqual(exitCode, 0, output)
        XCTAssertTrue(output.contains("jitter mode pct fell back to preempt"), output)
    }

    /// The filter goes in before exec, so a static binary (no loader, no LD_PRELOAD) is controlled all the same.
    func testAStaticBinaryIsControlledToo() throws {
        let executable = "/sbin/ldconfig"
        try XCTSkipUnless(ElfInterpreter.isStaticallyLinked(executable), "\(executable) is not a static binary here")
        let report = try Shake.run(command: [executable, "-p"], RunConfiguration(processes: 2, jitter: JitterPlan(mode: .syscalls)))
        XCTAssertTrue(report.isClean, "\(report)")
        let note = try XCTUnwrap(report.notes.first { $0.hasPrefix("syscalls: ") }, "\(report.notes)")
        let count = Int(note.dropFirst("syscalls: ".count).prefix { $0.isNumber }) ?? 0
        XCTAssertGreaterThan(count, 10, note)
    }

    /// A failing run's replay line names everything that decides the schedule: seed, copies, mode, PCT depth.
    func testTheReplayLineNamesTheModeAndDepth() throws {
        let (output, exitCode) = try run(Fixtures.path("shakedown"),
                                         ["run", "-n", "2", "--seed", "7", "--jitter", "pct", "--pct-depth", "4", "--pct-steps", "90",
                                          "--", "/bin/false"])
        XCTAssertEqual(exitCode, 1, output)
        let replay = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("replay: ") }, output)
        XCTAssertTrue(replay.contains("-n 2 --seed 0x7"), String(replay))
        XCTAssertTrue(replay.contains("--jitter pct --pct-depth 4 --pct-steps 90"), String(replay))
    }

    /// A real sandbox, not the switch: a forked child of this test puts `seccomp(2)` itself under a filter whose
    /// listener it closes at once, so every later `seccomp` call fails with ENOSYS (as in a container whose profile
    /// lacks it). A run there must find out by itself, fall back to `preempt`, and say so.
    func testASandboxWithoutSeccompMakesTheRunFallBack() throws {
        let number = shakedown_syscall_number("seccomp")
        try XCTSkipIf(number < 0, "no seccomp system call number here")
        fflush(nil)
        let child = fork()
        if child == 0 {
            var numbers = [number]
            let listener = shakedown_seccomp_install_listener(&numbers, 1)
            guard listener >= 0 else { _exit(3) }
            close(listener)
            let report = try? Shake.run(command: ["/bin/true"], RunConfiguration(processes: 2, jitter: JitterPlan(mode: .syscalls)))
            guard let report else { _exit(4) }
            let fellBack = report.configuration.jitter.mode == .preempt
                && report.notes.contains { $0.hasPrefix("jitter mode syscalls fell back to preempt: installing a seccomp listener failed") }
            _exit(report.isClean && fellBack ? 0 : 5)
        }
        XCTAssertGreaterThan(child, 0)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        XCTAssertEqual(status, 0, "exit \((status >> 8) & 0xFF): 3 the sandbox filter failed, 4 the run threw, 5 no fallback note")
    }

    func testBadSchedulesAreRefused() throws {
        XCTAssertThrowsError(try SyscallSchedule(parsing: "garbage"))
        XCTAssertThrowsError(try SyscallSchedule(parsing: "shakedown-schedule 1\nmode points\nseed 1\nprocesses 2\nevents 0\n"))
        XCTAssertThrowsError(try SyscallSchedule(parsing: "shakedown-schedule 1\nmode pct\nseed 1\nprocesses 2\nevents 1\n5 0\n"))
        XCTAssertThrowsError(try SyscallSchedule.load(from: "/nonexistent/schedule"))
        let schedule = SyscallSchedule(mode: .pct, seed: Seed(3), processes: 2, pct: (3, 40),
                                       events: [.init(worker: 1, syscall: 17), .init(worker: 0, syscall: 18)])
        XCTAssertEqual(try SyscallSchedule(parsing: schedule.text), schedule)
        let path = "/tmp/shakedown-bad-replay-\(getpid())"
        defer { unlink(path) }
        try schedule.write(to: path)
        var configuration = RunConfiguration(processes: 3, jitter: JitterPlan(mode: .pct))
        configuration.schedule.replayFile = path
        XCTAssertThrowsError(try Shake.run(command: ["/bin/true"], configuration), "a schedule of 2 processes for a run of 3")
        let mismatch = try run(Fixtures.path("shakedown"), ["run", "-n", "3", "--jitter", "pct", "--replay", path, "--", "/bin/true"])
        XCTAssertEqual(mismatch.exitCode, 64, "a schedule of 2 copies for a run of 3 is a usage error")
        let garbage = try run(Fixtures.path("shakedown"), ["run", "-n", "2", "--jitter", "pct", "--replay", "/etc/hostname", "--", "/bin/true"])
        XCTAssertEqual(garbage.exitCode, 65, "a file that is no schedule is bad data (65), as in shakedown merge")
        configuration.processes = 2
        configuration.schedule.pctDepth = 0
        XCTAssertThrowsError(try Shake.run(command: ["/bin/true"], configuration), "depth 0")
    }
}
