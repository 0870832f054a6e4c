// The fixed twin of racy-counter: the same unlocked read-modify-write, but under the run's robust process
// mutex, so no update is ever lost whatever the jitter.
//   shakedown run -n 4 --rounds 1000 --counters 1 -- locked-counter
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

func addOneUnderLock(_ counter: SharedCounter, _ lock: ProcessMutex) throws {
    try lock.withLock { counter.racyIncrement() }
}

do {
    guard let worker = try Worker.attach() else {
        complain("locked-counter: start me with `shakedown run --counters 1 -- locked-counter`\n")
        exit(2)
    }
    guard worker.runCounterCount >= 1 else {
        complain("locked-counter: the run has no shared counter: start me with `shakedown run --counters 1 -- locked-counter`\n")
        exit(2)
    }
    let counter = worker.counter(0)
    let lock = worker.runLock
    exit(worker.runAllRounds { _ in try addOneUnderLock(counter, lock) })
} catch {
    complain("locked-counter: \(error)\n")
    exit(2)
}

func complain(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
