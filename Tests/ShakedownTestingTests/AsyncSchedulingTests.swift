import Shakedown
import Testing

// docs/guide.md, "Async code": the examples as Swift Testing async tests. Swift Testing runs tests in parallel in
// one process, and an in-process `SeededExecutor.run` takes over the runtime's hooks for every task of the
// process; these tests therefore use forked workers, whose executors are their own.

/// A cache that checks, then loads across an `await`: two callers can both load.
actor LoadingCache {
    private var value: Int?
    private(set) var loads = 0
    func get() async -> Int {
        if let value { return value }
        loads += 1
        await Task.yield()  // reading the file
        value = 42
        return 42
    }
}

/// The fix: the load in flight is shared.
actor SharingCache {
    private var loading: Task<Int, Never>?
    private(set) var loads = 0
    func get() async -> Int {
        if let loading { return await loading.value }
        loads += 1
        let task = Task { await Task.yield(); return 42 }
        loading = task
        return await task.value
    }
}

@Suite struct AsyncSchedulingTests {
    @Test func seededWorkersFindTheDoubleLoad() async throws {
        let run = try Shake.fork(processes: 4, rounds: 10, timeout: .seconds(60), seed: Seed(3),
                                 scheduling: .seeded(Seed(3))) { worker in
            let cache = LoadingCache()
            async let first = cache.get()
            async let second = cache.get()
            _ = await (first, second)
            let loads = await cache.loads
            worker.check(loads == 1, "loaded \(loads) times")
        }
        #expect(!run.isClean)
        #expect(run.summary.contains("loaded 2 times"))
    }

    @Test(arguments: [SchedulingPolicy.seeded(Seed(3)), .pct(Seed(3), depth: 3, decisions: 16), .fifo])
    func sharedLoadHoldsUnderEveryPolicy(_ policy: SchedulingPolicy) async throws {
        let run = try Shake.fork(processes: 4, rounds: 10, timeout: .seconds(60), scheduling: policy) { worker in
            let cache = SharingCache()
            async let first = cache.get()
            async let second = cache.get()
            _ = await (first, second)
            let loads = await cache.loads
            worker.check(loads == 1, "loaded \(loads) times")
        }
        #expect(run.isClean, "\(run.summary)")
    }

    @Test func outOfRangePCTDepthIsRefusedBeforeForking() async throws {
        #expect(throws: ShakedownError.self) {
            try Shake.fork(processes: 1, scheduling: .pct(Seed(1), depth: 0)) { _ in await Task.yield() }
        }
    }
}
