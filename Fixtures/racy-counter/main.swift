// A known bug: every copy adds 1 to a shared counter with the unlocked `a += 1` (load, jitter point, store).
// Under jitter, concurrent copies overwrite each other's updates, and the run's histogram shows rounds that
// gained less than one per copy. Fixed twin: locked-counter.
//
// Run it under Shakedown so the copies share the run's counter and round barrier:
//   shakedown run -n 4 --rounds 1000 --counters 1 -- racy-counter
#if canImport(Glibc)
import Glibc
#endif
import Shakedown

func addOneWithoutLock(_ counter: SharedCounter) {
    counter.racyIncrement()
}

do {
    guard let worker = try Worker.attach() else {
        complain("racy-counter: start me with `shakedown run --counters 1 -- racy-counter`\n")
        exit(2)
    }
    guard worker.runCounterCount >= 1 else {
        complain("racy-counter: the run has no shared counter: start me with `shakedown run --counters 1 -- racy-counter`\n")
        exit(2)
    }
    let counter = worker.counter(0)
    exit(worker.runAllRounds { _ in addOneWithoutLock(counter) })
} catch {
    complain("racy-counter: \(error)\n")
    exit(2)
}

func complain(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
