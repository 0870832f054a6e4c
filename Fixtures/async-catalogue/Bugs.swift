#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The async bug catalogue: five bugs, each with its fixed twin. One iteration starts the racing parties once and
/// says whether the bug showed (the continuation bugs show it by crashing or hanging instead).
///
/// Every bug's second party first does `gapMicroseconds` of blocking work (a thread held, as synchronous I/O or
/// CPU work holds it) before it touches the shared state: on the runtime's thread pool the first party finishes
/// its short suspension in the meantime, so the bad interleaving needs the first party's thread to stall for the
/// whole gap. On a one-thread seeded executor the gap changes nothing: the order is drawn, not timed.
enum AsyncBug: String, CaseIterable, Sendable {
    case actorReentrancy = "actor-reentrancy"
    case doubleInitialisation = "double-init"
    case unstructuredTask = "unstructured-task"
    case resumedTwice = "resumed-twice"
    case neverResumed = "never-resumed"
    case lostUpdate = "lost-update"

    /// One iteration; true when the bug showed in the state it left.
    func iteration(fixed: Bool) async -> Bool {
        switch self {
        case .actorReentrancy: await ActorReentrancy.iteration(fixed: fixed)
        case .doubleInitialisation: await DoubleInitialisation.iteration(fixed: fixed)
        case .unstructuredTask: await UnstructuredTaskRace.iteration(fixed: fixed)
        case .resumedTwice: await ResumedTwice.iteration(fixed: fixed)
        case .neverResumed: await NeverResumed.iteration(fixed: fixed)
        case .lostUpdate: await LostUpdate.iteration(fixed: fixed)
        }
    }
}

/// How long the second party works before touching the shared state (blocking its thread).
nonisolated(unsafe) var gapMicroseconds: UInt32 = 10_000

func blockingWork() { usleep(gapMicroseconds) }

/// An actor that only makes its callers suspend (a remote check, a log shipper).
actor RemoteService {
    /// A real suspension: the task goes back to its executor's queue, as it does waiting for I/O.
    func check() async { await Task.yield() }
}

// MARK: actor reentrancy: state read before an `await`, written after it

actor ReentrantAccount {
    var balance = 100
    let service = RemoteService()

    func withdraw(_ amount: Int, fixed: Bool) async -> Bool {
        guard balance >= amount else { return false }
        if fixed { balance -= amount }  // reserve before suspending
        await service.check()           // suspends: the actor takes other calls meanwhile
        if !fixed { balance -= amount }
        return true
    }
}

enum ActorReentrancy {
    static func iteration(fixed: Bool) async -> Bool {
        let account = ReentrantAccount()
        async let first = account.withdraw(60, fixed: fixed)
        async let second = { () async -> Bool in
            blockingWork()
            return await account.withdraw(60, fixed: fixed)
        }()
        _ = await (first, second)
        return await account.balance < 0
    }
}

// MARK: check-then-act across an `await`: a cache initialised twice

actor ConfigurationCache {
    private var cached: [String: Int]?
    private var loading: Task<[String: Int], Never>?
    private(set) var loads = 0
    let service = RemoteService()

    func configuration(fixed: Bool) async -> [String: Int] {
        if let cached { return cached }
        if fixed {
            // The twin shares the load in flight: the check and the claim happen without a suspension between.
            if let loading { return await loading.value }
            let task = Task { await self.load() }
            loading = task
            let value = await task.value
            cached = value
            return value
        }
        let value = await load()
        cached = value
        return value
    }

    private func load() async -> [String: Int] {
        loads += 1
        await service.check()  // reading the file, asking the server
        return ["timeout": 30]
    }
}

enum DoubleInitialisation {
    static func iteration(fixed: Bool) async -> Bool {
        let cache = ConfigurationCache()
        async let first = cache.configuration(fixed: fixed)
        async let second = { () async -> [String: Int] in
            blockingWork()
            return await cache.configuration(fixed: fixed)
        }()
        _ = await (first, second)
        return await cache.loads != 1
    }
}

// MARK: an unstructured `Task` racing its creator

actor Registry {
    private var names: Set<String> = []
    func register(_ name: String) { names.insert(name) }
    func contains(_ name: String) -> Bool { names.contains(name) }
}

enum UnstructuredTaskRace {
    /// The creator starts registration in a `Task` and, after some work of its own, relies on it having run.
    static func iteration(fixed: Bool) async -> Bool {
        let registry = Registry()
        let registration = Task { await registry.register("session") }
        blockingWork()  // the creator's own work: usually long enough for the task to have run
        if fixed { await registration.value }
        return await !registry.contains("session")
    }
}

// MARK: a continuation resumed twice: the runtime's check crashes the process

/// A one-shot completion fired by the work and by a timeout; whoever comes first should resume the waiter.
/// Every single access is locked: the bug is the suspension between peeking and clearing, not a data race.
final class OneShot: Sendable {
    private let continuation = Mutex<CheckedContinuation<Int, Never>?>(nil)
    private let firers = Mutex<[Task<Void, Never>]>([])
    let service = RemoteService()

    func arm(_ waiter: CheckedContinuation<Int, Never>, fixed: Bool) {
        continuation.withLock { $0 = waiter }
        let first = Task { await self.fire(1, fixed: fixed) }
        let second = Task {
            blockingWork()
            await self.fire(2, fixed: fixed)
        }
        firers.withLock { $0 = [first, second] }
    }

    func fire(_ value: Int, fixed: Bool) async {
        if fixed {
            // The twin claims the continuation before suspending.
            guard let claimed = continuation.withLock({ waiter in defer { waiter = nil }; return waiter }) else { return }
            await service.check()
            claimed.resume(returning: value)
            return
        }
        guard let peeked = continuation.withLock({ $0 }) else { return }
        await service.check()  // e.g. recording which side won
        continuation.withLock { $0 = nil }
        peeked.resume(returning: value)
    }

    /// Waits for both firers: a double resume crashes inside `fire` (SWIFT TASK CONTINUATION MISUSE).
    func settle() async {
        for firer in firers.withLock({ $0 }) { await firer.value }
    }
}

enum ResumedTwice {
    static func iteration(fixed: Bool) async -> Bool {
        let shot = OneShot()
        _ = await withCheckedContinuation { (continuation: CheckedContinuation<Int, Never>) in
            shot.arm(continuation, fixed: fixed)
        }
        await shot.settle()
        return false
    }
}

// MARK: a continuation never resumed: the waiter hangs, the runtime reports the leak

/// A result that a producer delivers; a waiter either finds it or parks a continuation for it. Every access is
/// locked: the bug is the suspension between the waiter's check and its parking (a lost wake-up).
final class Mailbox: Sendable {
    private struct State {
        var value: Int?
        var waiter: CheckedContinuation<Int, Never>?
    }
    private let state = Mutex(State())
    let service = RemoteService()

    func deliver(_ delivered: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Int, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.value = delivered
            return nil
        }
        waiter?.resume(returning: delivered)
    }

    func receive(fixed: Bool) async -> Int {
        if fixed {
            // The twin checks and parks under one lock: nothing can be delivered in between.
            return await withCheckedContinuation { continuation in
                let found = state.withLock { state -> Int? in
                    if let value = state.value { return value }
                    state.waiter = continuation
                    return nil
                }
                if let found { continuation.resume(returning: found) }
            }
        }
        if let value = state.withLock({ $0.value }) { return value }
        await service.check()  // e.g. logging that it waits: a value delivered now is never handed over
        return await withCheckedContinuation { continuation in
            state.withLock { $0.waiter = continuation }
        }
    }
}

enum NeverResumed {
    static func iteration(fixed: Bool) async -> Bool {
        let mailbox = Mailbox()
        let producer = Task {
            blockingWork()
            mailbox.deliver(7)
        }
        _ = await mailbox.receive(fixed: fixed)
        await producer.value
        return false
    }
}

// MARK: a lost update on a class shared by two tasks without isolation

/// Not an actor: each read and write is locked, but nothing isolates the read-modify-write across the `await`.
final class HitCounter: Sendable {
    private let count = Mutex(0)
    let service = RemoteService()

    var hits: Int { count.withLock { $0 } }

    func record(fixed: Bool) async {
        if fixed {
            count.withLock { $0 += 1 }  // read and write without a suspension between
            await service.check()
            return
        }
        let seen = count.withLock { $0 }
        await service.check()  // e.g. persisting the event first
        count.withLock { $0 = seen + 1 }
    }
}

enum LostUpdate {
    static let perTask = 3

    static func iteration(fixed: Bool) async -> Bool {
        let counter = HitCounter()
        async let first: Void = { for _ in 0..<perTask { await counter.record(fixed: fixed) } }()
        async let second: Void = {
            blockingWork()
            for _ in 0..<perTask { await counter.record(fixed: fixed) }
        }()
        _ = await (first, second)
        return counter.hits != 2 * perTask
    }
}
