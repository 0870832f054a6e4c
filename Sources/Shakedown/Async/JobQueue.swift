#if canImport(Glibc)
import Glibc
#endif

/// The executor's jobs: those ready now, and delayed ones with the monotonic time (ns) they become ready.
struct JobQueue {
    struct Delayed {
        let due: UInt64
        let job: UnownedJob
    }

    private(set) var ready: [UnownedJob] = []
    private(set) var delayed: [Delayed] = []

    var isEmpty: Bool { ready.isEmpty && delayed.isEmpty }

    mutating func append(_ job: UnownedJob) { ready.append(job) }

    /// Keeps delayed jobs sorted by due time; equal times keep their enqueue order.
    mutating func append(_ job: UnownedJob, due: UInt64) {
        let index = delayed.firstIndex { $0.due > due } ?? delayed.endIndex
        delayed.insert(Delayed(due: due, job: job), at: index)
    }

    /// Moves every delayed job due by `now` to the ready list, earliest first.
    mutating func promote(now: UInt64) {
        let due = delayed.prefix { $0.due <= now }
        guard !due.isEmpty else { return }
        ready.append(contentsOf: due.map(\.job))
        delayed.removeFirst(due.count)
    }

    var nextDue: UInt64? { delayed.first?.due }

    mutating func take(at index: Int) -> UnownedJob { ready.remove(at: index) }

    /// Empties the queue, returning what was in it (to hand back to the runtime's own executor).
    mutating func drain() -> (ready: [UnownedJob], delayed: [Delayed]) {
        defer { ready = []; delayed = [] }
        return (ready, delayed)
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
func executorClockNow() -> UInt64 { clockNanoseconds(CLOCK_MONOTONIC) }

func clockNanoseconds(_ clock: clockid_t) -> UInt64 {
    var now = timespec()
    clock_gettime(clock, &now)
    return UInt64(max(0, now.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, now.tv_nsec))
}
