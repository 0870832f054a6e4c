#if canImport(Glibc)
import Glibc
#endif
import Foundation
import XCTest
@testable import Shakedown

/// A counter kept in a file: each worker opens its own descriptor after the fork (never share one across a
/// fork: the offset and locks would be shared too).
private final class FileCounter: @unchecked Sendable {
    let path: String
    private var fd: CInt = -1

    init(path: String) { self.path = path }

    func open() throws {
        fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw ShakedownError.systemCall("open") }
    }

    func close() { if fd >= 0 { Glibc.close(fd) } }

    func read() -> Int64 {
        var value: Int64 = 0
        return pread(fd, &value, 8, 0) == 8 ? value : 0
    }

    func write(_ value: Int64) {
        var value = value
        _ = pwrite(fd, &value, 8, 0)
    }

    /// Read, add one, write back: the classic lost update when two processes interleave.
    func increment(locked: Bool) {
        if locked { flock(fd, LOCK_EX) }
        let value = read()
        Jitter.point()
        write(value + 1)
        if locked { flock(fd, LOCK_UN) }
    }

    /// The value as the judge sees it, read through a descriptor of its own.
    static func value(at path: String) throws -> Int64 {
        let counter = FileCounter(path: path)
        try counter.open()
        defer { counter.close() }
        return counter.read()
    }

    static func reset(at path: String) throws {
        let counter = FileCounter(path: path)
        try counter.open()
        defer { counter.close() }
        counter.write(0)
    }
}

final class JudgeTests: XCTestCase {
    private var path = ""

    override func setUp() {
        path = "\(NSTemporaryDirectory())/shakedown-judge-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    }

    override func tearDown() {
        unlink(path)
    }

    private func fileCounterRun(locked: Bool, rounds: Int) throws -> RunReport {
        let path = self.path
        let counter = FileCounter(path: path)
        let judge = RoundJudge<Int64>(
            reset: { _ in try FileCounter.reset(at: path) },
            outcome: { _ in try FileCounter.value(at: path) },
            grades: [4: .acceptable],
            stopsAtFirstForbidden: false)
        return try Shake.fork(
            RunConfiguration(processes: 4, rounds: rounds, timeout: .seconds(60), jitter: .default, seed: Seed(7)),
            lifecycle: WorkerLifecycle(setUp: { _ in try counter.open() }, tearDown: { _ in counter.close() }),
            judge: judge
        ) { _ in counter.increment(locked: locked) }
    }

    func testUnlockedFileCounterYieldsForbiddenOutcomes() throws {
        let run = try fileCounterRun(locked: false, rounds: 300)
        XCTAssertFalse(run.forbiddenOutcomes.isEmpty, run.summary)
        XCTAssertFalse(run.isClean)
        XCTAssertEqual(run.outcomes.reduce(0) { $0 + $1.rounds }, 300, "every round judged once: \(run.summary)")
        XCTAssertTrue(run.workers.allSatisfy { $0.outcome == .completed }, run.summary)
        XCTAssertTrue(run.summary.contains("forbidden (first in round"), run.summary)
    }

    func testLockedFileCounterNeverDoes() throws {
        let run = try fileCounterRun(locked: true, rounds: 300)
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(run.outcomes, [OutcomeCount(outcome: "4", grade: .acceptable, rounds: 300, firstRound: 0)])
    }

    func testSetUpAndTearDownRunOncePerWorker() throws {
        let setUps = try SharedCounter("setUp")
        let tearDowns = try SharedCounter("tearDown")
        let run = try Shake.fork(
            RunConfiguration(processes: 3, rounds: 20, jitter: .none),
            lifecycle: WorkerLifecycle(setUp: { _ in setUps.increment() }, tearDown: { _ in tearDowns.increment() })
        ) { worker in
            worker.check(setUps.value == 3, "every worker was set up before round 0")
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(setUps.value, 3)
        XCTAssertEqual(tearDowns.value, 3)
    }

    func testThrowingSetUpIsReportedAndRunsNoRound() throws {
        struct NoDatabase: Error {}
        let bodies = try SharedCounter()
        let run = try Shake.fork(
            RunConfiguration(processes: 2, rounds: 5, jitter: .none),
            lifecycle: WorkerLifecycle(setUp: { worker in if worker.index == 1 { throw NoDatabase() } })
        ) { _ in bodies.increment() }
        XCTAssertEqual(run.workers[1].outcome, .threw("setUp threw: NoDatabase()"), run.summary)
        XCTAssertEqual(run.workers[0].outcome, .stoppedByOtherWorker(1), run.summary)
        XCTAssertEqual(bodies.value, 0)
        XCTAssertFalse(run.isClean)
    }

    /// The judge's closures must see a quiet moment: no worker is inside a round.
    func testJudgeRunsWhileEveryWorkerIsParked() throws {
        let inRound = try SharedCounter("in round")
        let judge = RoundJudge<String>(
            reset: { _ in if inRound.value != 0 { throw ShakedownError.invalidArgument("reset", "ran mid-round") } },
            outcome: { context in inRound.value == 0 ? "quiet, \(context.results.compactMap { $0 }.count) results" : "busy" },
            grades: ["quiet, 4 results": .acceptable])
        let run = try Shake.fork(RunConfiguration(processes: 4, rounds: 200, jitter: .default), judge: judge) { worker in
            inRound.increment()
            Jitter.point()
            worker.record(Int64(worker.index))
            inRound.increment(by: -1)
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(run.outcomes.map(\.outcome), ["quiet, 4 results"])
        XCTAssertEqual(run.outcomes.first?.rounds, 200)
    }

    func testRecordedResultsReachTheJudge() throws {
        let judge = RoundJudge<[Int64?]>(outcome: { $0.results }, grade: { _ in .acceptable })
        let run = try Shake.fork(RunConfiguration(processes: 3, rounds: 4, jitter: .none), judge: judge) { worker in
            if worker.index != 2 { worker.record(Int64(worker.round * 10 + worker.index)) }
        }
        XCTAssertTrue(run.isClean, run.summary)
        XCTAssertEqual(Set(run.outcomes.map(\.outcome)),
                       ["[Optional(0), Optional(1), nil]", "[Optional(10), Optional(11), nil]",
                        "[Optional(20), Optional(21), nil]", "[Optional(30), Optional(31), nil]"])
    }

    func testFirstForbiddenOutcomeStopsTheRunUnlessKeepGoing() throws {
        for stops in [true, false] {
            let judge = RoundJudge<Int>(outcome: { $0.round }, grade: { $0 == 5 ? .forbidden : .acceptable },
                                        stopsAtFirstForbidden: stops)
            let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 50, jitter: .none), judge: judge) { _ in }
            XCTAssertEqual(run.forbiddenOutcomes, [OutcomeCount(outcome: "5", grade: .forbidden, rounds: 1, firstRound: 5)])
            XCTAssertEqual(run.outcomes.reduce(0) { $0 + $1.rounds }, stops ? 6 : 50, run.summary)
            XCTAssertEqual(run.workers.map(\.roundsCompleted), stops ? [6, 6] : [50, 50], run.summary)
            XCTAssertEqual(run.notes.contains("the judge stopped the run after round 5"), stops, run.summary)
            XCTAssertFalse(run.isClean)
        }
    }

    func testThrowingOutcomeIsReportedWithItsRound() throws {
        struct Unreadable: Error {}
        let judge = RoundJudge<Int>(outcome: { context in
            if context.round == 3 { throw Unreadable() }
            return 0
        }, grade: { _ in .acceptable })
        let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 10, jitter: .none), judge: judge) { _ in }
        let threw = run.workers.compactMap { worker -> String? in
            if case let .threw(message) = worker.outcome { return message } else { return nil }
        }
        XCTAssertEqual(threw, ["the judge's outcome closure threw after round 3: Unreadable()"], run.summary)
        XCTAssertFalse(run.isClean)
    }

    func testCrashInTheOutcomeClosureIsReportedWithItsRound() throws {
        let judge = RoundJudge<Int>(outcome: { context in
            if context.round == 2 { writeToUnmappedMemory() }
            return 0
        }, grade: { _ in .acceptable })
        let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 10, jitter: .none), judge: judge) { _ in }
        XCTAssertEqual(run.crashedWorkers.count, 1, run.summary)
        XCTAssertTrue(run.notes.contains { $0.contains("inside the judge's closures around round 2") }, run.summary)
        XCTAssertEqual(run.outcomes.reduce(0) { $0 + $1.rounds }, 2, "rounds 0 and 1 were judged: \(run.summary)")
        XCTAssertFalse(run.isClean)
    }

    func testHangingResetIsCoveredByTheDeadline() throws {
        let judge = RoundJudge<Int>(reset: { context in if context.round == 1 { while true { pause() } } },
                                    outcome: { _ in 0 }, grade: { _ in .acceptable })
        let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 10, timeout: .milliseconds(500), jitter: .none),
                                     judge: judge) { _ in }
        XCTAssertTrue(run.timedOut, run.summary)
        XCTAssertEqual(run.hungWorkers.count, 2, run.summary)
        XCTAssertFalse(run.isClean)
    }

    func testOutcomeTooLongNamesTheLimit() throws {
        let judge = RoundJudge<String>(outcome: { _ in String(repeating: "x", count: 5000) }, grade: { _ in .acceptable })
        let run = try Shake.fork(RunConfiguration(processes: 2, rounds: 3, jitter: .none), judge: judge) { _ in }
        XCTAssertTrue(run.summary.contains("5000 bytes of text, over the limit of 1000 (RoundJudge.maximumOutcomeText)"),
                      run.summary)
        XCTAssertFalse(run.isClean)
    }

    func testLostUpdatesJudgeOnASharedCounter() throws {
        let hits = try SharedCounter("hits")
        let run = try Shake.fork(RunConfiguration(processes: 4, rounds: 200, jitter: .default),
                                     judge: try .lostUpdates(on: hits, perRound: 4)) { _ in hits.racyIncrement() }
        XCTAssertFalse(run.forbiddenOutcomes.isEmpty, run.summary)
        XCTAssertEqual(run.outcomes.reduce(0) { $0 + $1.rounds }, 200)
        let locked = try SharedCounter("locked hits")
        let clean = try Shake.fork(RunConfiguration(processes: 4, rounds: 200, jitter: .default),
                                       judge: try .lostUpdates(on: locked, perRound: 4)) { _ in locked.increment() }
        XCTAssertTrue(clean.isClean, clean.summary)
    }
}
