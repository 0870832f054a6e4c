import Shakedown
import XCTest

extension XCTestCase {
    /// `Shake.fork(processes:rounds:timeout:jitter:seed:observing:teardown:body:)` for a test: every
    /// failure recorded inside a worker is recorded on this test case at the worker's own file and line (with
    /// the worker, round and seed), so none is lost in the child.
    ///
    /// Crashes, hangs and leaks stay findings in the returned report: assert on them with ``XCTAssertClean(_:_:file:line:)``.
    public func shakedown(
        processes: Int,
        rounds: Int = 1,
        timeout: Duration = .seconds(60),
        jitter: JitterPlan = .default,
        seed: Seed? = nil,
        observing: [SharedCounter] = [],
        body: (Worker) throws -> Void
    ) throws -> RunReport {
        let run = try Shake.fork(processes: processes, rounds: rounds, timeout: timeout, jitter: jitter,
                                     seed: seed, observing: observing, body: body)
        recordWorkerFailures(of: run)
        return run
    }

    /// Records each failure of `run`'s workers on this test case at its own file and line.
    public func recordWorkerFailures(of run: RunReport) {
        for worker in run.workers {
            for failure in worker.failures {
                let round = failure.round.map { ", round \($0)" } ?? ""
                recordFailure(
                    withDescription: TerminalText.escaped("in worker \(worker.index) (pid \(worker.pid)\(round)): \(failure.message) — seed \(run.seed), replay with \(run.seed.replayHint)"),
                    inFile: failure.file, atLine: failure.line, expected: true)
            }
        }
    }
}
