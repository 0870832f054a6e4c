// fork-safety-probe: which kinds of worker body complete after fork while the parent is busy taking locks; the
// table "What a worker body may do after fork" in docs/guide.md is its output.
// Usage: swift build -c release --product fork-safety-probe && .build/release/fork-safety-probe [--runs N]
// Each case is N runs of `Shake.fork(processes: 2)` (default 50; a fifth of that, at least 5, for the cases that
// wait for work handed to a thread pool, which may never run). Meanwhile another thread of this process runs
// `DispatchQueue.concurrentPerform` allocation loops the whole time, so locks (malloc, Dispatch) are being taken
// while the forks happen. Prints a Markdown table with the exact command; progress goes to stderr.
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Shakedown

func progress(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

var runs = 50
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--runs", let text = arguments.popFirst(), let value = Int(text), value > 0, value <= 100_000 {
        runs = value
    } else {
        progress("usage: fork-safety-probe [--runs N]   (N: 1...100000, default 50)\n")
        exit(2)
    }
}
let poolRuns = max(5, runs / 5)

/// The result of one case: workers that completed cleanly, of how many, and the median wall time per run.
struct CaseResult {
    let name: String
    var completed = 0
    var workers = 0
    var otherOutcomes: [String: Int] = [:]
    var runMilliseconds: [Double] = []

    var median: Double {
        let sorted = runMilliseconds.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

/// Runs `body` in `count` runs of 2 workers and counts the workers that completed with no recorded failure.
func probe(_ name: String, count: Int, _ body: @escaping (Worker) throws -> Void) -> CaseResult {
    progress("\(name)…\n")
    var result = CaseResult(name: name)
    for _ in 0..<count {
        let start = DispatchTime.now().uptimeNanoseconds
        do {
            let report = try Shake.fork(processes: 2, timeout: .seconds(10), jitter: .none, body: body)
            result.runMilliseconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            for worker in report.workers {
                result.workers += 1
                if worker.outcome == .completed && worker.failures.isEmpty {
                    result.completed += 1
                } else {
                    let what = worker.failures.first?.message ?? worker.outcome.description
                    if result.otherOutcomes[what] == nil {
                        progress("  first \(what): \(worker.crashMessage ?? "")\n\(worker.outputTail.suffix(1_500))\n")
                    }
                    result.otherOutcomes[what, default: 0] += 1
                }
            }
        } catch {
            progress("fork-safety-probe: \(name): \(error)\n")
            exit(1)
        }
    }
    return result
}

/// The bodies, outside top-level code: that is main-actor isolated, and Swift 6 checks the isolation of a closure
/// formed there when another thread calls it (a new pthread's start routine would trap in that check).
enum Bodies {
    static func plainSwift(_ worker: Worker) {
        let numbers = (0..<1_000).map { $0 * 2 }
        print(numbers.map(String.init).joined(separator: ",").count)
    }

    static func foundation(_ worker: Worker) throws {
        _ = try JSONEncoder().encode(["answer": 42])
        _ = Date().timeIntervalSince1970
        _ = String(format: "%05d", 42)
    }

    static func serialQueue(_ worker: Worker) { DispatchQueue(label: "worker").sync {} }

    static func thread(_ worker: Worker) {
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { _ in nil }, nil) == 0 else {
            worker.fail("pthread_create failed")
            return
        }
        pthread_join(thread, nil)
    }

    /// Hands a block to `submit`, then waits for it at most 200 ms; records a failure if it never ran.
    static func handOff(_ worker: Worker, _ submit: (@escaping @Sendable () -> Void) -> Void) {
        let done = DispatchSemaphore(value: 0)
        submit { done.signal() }
        if done.wait(timeout: .now() + .milliseconds(200)) == .timedOut { worker.fail("the block never ran") }
    }

    static func globalQueue(_ worker: Worker) {
        handOff(worker) { signal in DispatchQueue.global().async { signal() } }
    }

    static func task(_ worker: Worker) {
        handOff(worker) { signal in Task { signal() } }
    }
}
let plainSwift = Bodies.plainSwift
let foundation = Bodies.foundation
let serialQueue = Bodies.serialQueue
let thread = Bodies.thread
let globalQueue = Bodies.globalQueue
let taskBody = Bodies.task

// Phase 1: a quiet parent that has not used Dispatch's thread pool or Swift concurrency (as a fresh test process).
var results: [CaseResult] = []
let quiet = " — quiet parent: no Dispatch pool, no Swift concurrency yet"
results.append(probe("`pthread_create` + `pthread_join`" + quiet, count: runs, thread))
results.append(probe("`DispatchQueue.global().async`, waited for with a semaphore" + quiet, count: poolRuns, globalQueue))
results.append(probe("A Swift concurrency `Task { … }`, waited for with a semaphore" + quiet, count: poolRuns, taskBody))

// Phase 2: the churn, another thread taking malloc and Dispatch locks the whole time (Dispatch's pool starts).
let churning = ManagedAtomicFlag()
let churn = Thread {
    while !churning.stopped {
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            var scratch = [Int](repeating: index, count: 1_000)
            scratch.append(index)
            _ = String(scratch.count)
        }
    }
}
churn.start()
let busy = " — busy parent: another thread in `concurrentPerform` the whole time"
results.append(probe("Plain Swift: arrays, strings, `print`" + busy, count: runs, plainSwift))
results.append(probe("Foundation: `JSONEncoder`, `Date`, `String(format:)`" + busy, count: runs, foundation))
results.append(probe("A serial `DispatchQueue(label:).sync {}` (runs on the calling thread)" + busy, count: runs, serialQueue))
results.append(probe("`pthread_create` + `pthread_join`" + busy, count: runs, thread))
results.append(probe("`DispatchQueue.global().async`, waited for with a semaphore" + busy, count: poolRuns, globalQueue))
// The parent runs async work, as an async test would (a task group whose tasks sleep, so the cooperative pool
// grows), then the Task case again.
let warmed = DispatchSemaphore(value: 0)
Task.detached {
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<4 { group.addTask { try? await Task.sleep(for: .milliseconds(5)) } }
    }
    warmed.signal()
}
warmed.wait()
results.append(probe("A Swift concurrency `Task { … }`, waited for with a semaphore" + busy + ", after the parent ran a task group of 4 sleeping tasks", count: poolRuns, taskBody))
churning.stop()

var load = "?"
if let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) { load = String(text.split(separator: " ").first ?? "?") }
print("""
Produced by: `\(CommandLine.arguments.joined(separator: " "))`: each case is \(runs) runs × 2 workers (\(poolRuns) \
for the cases that hand a block to a thread pool; a worker waits 200 ms for it, then records that it never ran), \
first with a quiet parent, then while another thread of the parent churns malloc and Dispatch \
(`concurrentPerform`). Load average (1 min) at the end: \(load).

| In the body | Workers that completed | Median per run of 2 workers |
|---|---|---:|
""")
for result in results {
    var cell = "\(result.completed) of \(result.workers)"
    if !result.otherOutcomes.isEmpty {
        cell += "; " + result.otherOutcomes.sorted { $0.key < $1.key }.map { "\($0.value): \($0.key)" }.joined(separator: "; ")
    }
    print("| \(result.name) | \(cell) | \(String(format: "%.1f", result.median)) ms |")
}

/// A stop flag shared with the churn thread.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var stopped: Bool { lock.withLock { value } }
    func stop() { lock.withLock { value = true } }
}
