import Foundation
import Shakedown
import Synchronization
import Testing

/// Runs `body` under Shakedown from an `async` Swift Testing test, and records every issue a worker recorded
/// (`#expect`, `#require`, `Issue.record`, `Worker.fail(_:file:line:)`) on the current test at the
/// worker's own source location, with the worker, round, seed and replay line.
///
/// The seed is `seed` if given, else `SHAKEDOWN_SEED` from the environment, else a random one; it is printed in
/// every message so a failure can be replayed with `SHAKEDOWN_SEED=N swift test`.
///
/// The run (fork, wait, teardown) blocks for its whole duration, so it runs on a thread of its own and this
/// function suspends until it ends: no cooperative thread is held. Runs started through this module are taken
/// one at a time in a process (Swift Testing runs tests in parallel, and a run forked while another run's pipes
/// are open would keep them open in its processes).
///
/// Crashes, hangs and leaks stay findings in the returned report: check them with ``expectClean(_:_:sourceLocation:)``.
///
/// - Throws: `ShakedownError` for a bad argument (before anything is forked) or a failed system call.
/// - Cost: a thread start (tens of µs) on top of `Shake.fork(processes:…)`.
public func shakedown(
    processes: Int,
    rounds: Int = 1,
    timeout: Duration = .seconds(60),
    jitter: JitterPlan = .default,
    seed: Seed? = nil,
    observing: [SharedCounter] = [],
    body: @escaping @Sendable (Worker) throws -> Void
) async throws -> RunReport {
    let configuration = RunConfiguration(processes: processes, rounds: rounds, timeout: timeout, jitter: jitter,
                                         seed: seed)
    let run = try await onRunThread {
        try Shake.fork(configuration, observing: observing) { worker in
            try runCapturingIssues(body, in: worker)
        }
    }
    recordWorkerIssues(of: run)
    return run
}

/// ``shakedown(processes:rounds:timeout:jitter:seed:observing:body:)-2d12b`` for a synchronous test: the run blocks the
/// calling thread for its duration.
///
/// - Throws: `ShakedownError` for a bad argument (before anything is forked) or a failed system call.
/// - Cost: that of `Shake.fork(processes:…)`.
public func shakedown(
    processes: Int,
    rounds: Int = 1,
    timeout: Duration = .seconds(60),
    jitter: JitterPlan = .default,
    seed: Seed? = nil,
    observing: [SharedCounter] = [],
    body: (Worker) throws -> Void
) throws -> RunReport {
    let run = try runLock.withLock { _ in
        try Shake.fork(processes: processes, rounds: rounds, timeout: timeout, jitter: jitter, seed: seed,
                           observing: observing) { worker in
            try runCapturingIssues(body, in: worker)
        }
    }
    recordWorkerIssues(of: run)
    return run
}

/// Records each failure of `run`'s workers on the current test at its own source location, with the worker,
/// round, seed and replay line (the text `XCTestCase.recordWorkerFailures(of:)` uses).
///
/// - Cost: one `Issue` per failure.
public func recordWorkerIssues(of run: RunReport) {
    for worker in run.workers {
        for failure in worker.failures {
            let round = failure.round.map { ", round \($0)" } ?? ""
            let text = "in worker \(worker.index) (pid \(worker.pid)\(round)): \(failure.message) — seed \(run.seed), replay with \(run.seed.replayHint)"
            Issue.record(Comment(rawValue: text), sourceLocation: sourceLocation(of: failure))
        }
    }
}

/// A `SourceLocation` for a failure known by path and line. Its module is a guess (the file's folder, which
/// SwiftPM names after the target); the path and line are exact.
func sourceLocation(of failure: RecordedFailure) -> SourceLocation {
    let parts = failure.file.split(separator: "/")
    let fileName = parts.last.map(String.init) ?? failure.file
    let module = parts.count >= 2 ? String(parts[parts.count - 2]) : "Worker"
    return SourceLocation(fileID: "\(module)/\(fileName)", filePath: failure.file, line: max(1, failure.line), column: 1)
}

/// Keeps runs started by this module one at a time in the process.
private let runLock = Mutex<Void>(())

/// Runs `work` on a new thread (holding ``runLock``) and suspends the caller until it returns.
private func onRunThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread {
            let result = runLock.withLock { _ in Result { try work() } }
            continuation.resume(with: result)
        }
        thread.name = "shakedown run"
        thread.start()
    }
}
