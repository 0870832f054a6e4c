/// Gives each thread its ``ThreadSnapshot/waitsFor`` after symbolization: names locks that are globals after their
/// symbol, and drops futex "mutexes" that the thread's own stack shows to be something else.
enum LockNaming {
    /// Functions that sleep on a futex without it being a mutex: seeing one among the innermost frames means the
    /// thread waits for a signal (condition variable, semaphore, barrier), which nobody "holds".
    static let nonLockWaits = ["pthread_cond_", "__pthread_cond", "sem_wait", "sem_timedwait", "__new_sem", "pthread_barrier_wait",
                               "pthread_join", "__pthread_clockjoin", "shakedown_barrier", "shakedown_futex_wait"]

    /// How many innermost frames are searched for the waiting function.
    static let framesSearched = 8

    /// Attaches `waits` (by tid) to `threads`. Costs one ELF symbol-table read per lock in a file-backed module.
    static func attach(
        _ waits: [Int32: LockWait], probes: [Int32: FutexLock.Probe], pid: Int32, to threads: inout [ThreadSnapshot],
        maps: ProcessMaps?
    ) {
        var names: [UInt64: String?] = [:]
        for index in threads.indices {
            guard var wait = waits[threads[index].tid] else { continue }
            let functions = threads[index].frames.prefix(framesSearched).compactMap(\.function)
            if let probe = probes[threads[index].tid], functions.contains(where: { $0.contains("pthread_rwlock_") }) {
                wait = rwlockWait(probe, pid: pid, maps: maps)
            } else if wait.kind == .pthreadMutex || wait.kind == .piFutex,
               let waiter = functions.first(where: { function in nonLockWaits.contains { function.contains($0) } }) {
                wait = LockWait(kind: .futexWait, identity: wait.identity, address: wait.address, owners: [],
                                detail: "the thread waits in \(waiter), which is a wait for a signal, not for a lock")
            }
            if wait.symbol == nil, let address = wait.address, let maps, wait.kind != .futexWait {
                if names[address] == nil { names[address] = .some(DataSymbol.name(of: address, maps: maps)) }
                wait.symbol = names[address] ?? nil
            }
            threads[index].waitsFor = wait
        }
    }

    /// A rwlock wait: its writer if glibc recorded one, else "held by readers".
    private static func rwlockWait(_ probe: FutexLock.Probe, pid: Int32, maps: ProcessMaps?) -> LockWait {
        let (address, writer) = FutexLock.rwlockWriter(probe)
        let identity = LockWaitReader.identity(pid: pid, address: address, isPrivate: probe.isPrivate, maps: maps)
        guard let writer else {
            return LockWait(kind: .rwlock, identity: identity, address: address, owners: [],
                            detail: "held by readers (or being released): glibc does not record which threads read-hold a rwlock")
        }
        return LockWait(kind: .rwlock, identity: identity, address: address, owners: [LockWaitReader.owner(tid: writer)],
                        detail: "held for writing")
    }
}
