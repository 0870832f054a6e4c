// The async bug catalogue as a program: runs one bug (or its fixed twin) for up to N iterations on the chosen
// executor and says whether the bug showed. A fresh process per run, so the runtime's own executor works (no fork)
// and a crash (a continuation resumed twice) ends only this run.
//
// Usage: async-catalogue BUG MODE [--fixed] [--seed S] [--iterations N] [--gap-us G] [--timeout-ms T]
//   (T defaults to 1,000 for never-resumed, 10,000 for the others)
//   BUG: actor-reentrancy | double-init | unstructured-task | resumed-twice | never-resumed | lost-update
//   MODE: default (the runtime's executor) | fifo | random | pct (Shakedown's executor, in this process)
//         worker-fifo | worker-random | worker-pct (the same body in a forked worker, `Shake.fork`)
// Prints one line: `found: …` (exit 1) or `clean: …` (exit 0); exit 2 on bad arguments. A double resume crashes
// the process with the runtime's `SWIFT TASK CONTINUATION MISUSE` message (in worker modes: the worker).
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Shakedown

func usage(_ message: String) -> Never {
    print("async-catalogue: \(message)")
    exit(2)
}

var arguments = CommandLine.arguments.dropFirst()
guard let bugName = arguments.popFirst(), let bug = AsyncBug(rawValue: bugName) else {
    usage("first argument: one of \(AsyncBug.allCases.map(\.rawValue).joined(separator: ", "))")
}
guard let mode = arguments.popFirst() else { usage("second argument: the mode") }
nonisolated(unsafe) var fixed = false
nonisolated(unsafe) var seed: UInt64 = 1
nonisolated(unsafe) var iterations = 8
// A never-resumed continuation shows only as a hang, so its deadline is short; every other bug gets a long one, so
// that a slow run on a loaded host is never mistaken for a hang.
nonisolated(unsafe) var timeoutMilliseconds = bug == .neverResumed ? 1_000 : 10_000
while let flag = arguments.popFirst() {
    func number(_ range: ClosedRange<UInt64>) -> UInt64 {
        guard let text = arguments.popFirst(), let value = UInt64(text), range.contains(value) else {
            usage("\(flag) takes a number within \(range)")
        }
        return value
    }
    switch flag {
    case "--fixed": fixed = true
    case "--seed": seed = number(0...UInt64.max)
    case "--iterations": iterations = Int(number(1...10_000))
    case "--gap-us": gapMicroseconds = UInt32(number(0...1_000_000))
    case "--timeout-ms": timeoutMilliseconds = Int(number(1...600_000))
    default: usage("unknown flag \(flag)")
    }
}

/// Iterations until the bug shows; the number of the iteration that showed it.
@Sendable func body() async -> Int? {
    for iteration in 1...iterations where await bug.iteration(fixed: fixed) { return iteration }
    return nil
}

func verdict(_ found: Int?, _ detail: String) -> Never {
    if let found {
        print("found: \(bug.rawValue) in iteration \(found) (\(detail))")
        exit(1)
    }
    print("clean: \(bug.rawValue), \(iterations) iterations (\(detail))")
    exit(0)
}

func hang(_ detail: String) -> Never {
    print("found: \(bug.rawValue) hung: a task never finished within \(timeoutMilliseconds) ms — a continuation "
          + "never resumed keeps its task suspended forever (\(detail))")
    exit(1)
}

/// The runtime's own executor: the body as a plain task, waited for with a deadline.
func runOnDefaultExecutor() -> Never {
    final class Box: @unchecked Sendable { var value: Int?? }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = .some(await body())
        done.signal()
    }
    guard done.wait(timeout: .now() + .milliseconds(timeoutMilliseconds)) == .success, let value = box.value else {
        hang("the runtime's default executor")
    }
    verdict(value, "the runtime's default executor")
}

func policy(_ name: String) -> SchedulingPolicy {
    switch name {
    case "random": .seeded(Seed(seed))
    case "pct": .pct(Seed(seed))
    default: .fifo
    }
}

/// Shakedown's executor in this process.
func runInProcess(_ policy: SchedulingPolicy) -> Never {
    do {
        let run = try SeededExecutor.run(policy, timeout: .milliseconds(timeoutMilliseconds)) { await body() }
        verdict(run.value, "\(policy), \(run.decisions) decisions")
    } catch let error as AsyncExecutorError {
        if case .timedOut = error { hang("\(error)") }
        usage("\(error)")
    } catch {
        usage("\(error)")
    }
}

/// The body in one forked worker on its seeded executor; the worker fails when the bug shows.
func runInWorker(_ policy: SchedulingPolicy) -> Never {
    do {
        let report = try Shake.fork(processes: 1, timeout: .milliseconds(timeoutMilliseconds), seed: Seed(seed),
                                    scheduling: policy) { worker in
            if let found = await body() { worker.fail("bug showed in iteration \(found)") }
        }
        if report.isClean { verdict(nil, "worker, \(policy)") }
        let worker = report.workers.first
        if let crash = worker?.crashMessage ?? worker.flatMap({ $0.exit.map { "\($0)" } }),
           worker?.outcome != .hung, report.failures.isEmpty {
            let output = worker?.outputTail.split(separator: "\n").first { $0.contains("MISUSE") }.map(String.init)
            let runtimeMessage = output.flatMap { crash.contains($0) ? nil : " — \($0)" } ?? ""
            print("found: \(bug.rawValue) crashed the worker: \(crash)\(runtimeMessage)")
            exit(1)
        }
        if !report.hungWorkers.isEmpty { hang("worker, \(policy)") }
        print("found: \(bug.rawValue) (\(report.failures.first.map { "\($0)" } ?? "worker failed"); \(policy))")
        exit(1)
    } catch {
        usage("\(error)")
    }
}

switch mode {
case "default": runOnDefaultExecutor()
case "fifo", "random", "pct": runInProcess(policy(mode))
case "worker-fifo", "worker-random", "worker-pct": runInWorker(policy(String(mode.dropFirst("worker-".count))))
default: usage("unknown mode \(mode)")
}
