/// What a blocked thread waits for, and who holds it: one edge of the wait-for graph.
///
/// Found without debug symbols from the thread's system call and the target's memory: a futex wait on a glibc
/// `pthread_mutex_t` (normal, recursive, error-checking, robust, process-shared; Foundation's `NSLock` and
/// `NSRecursiveLock` are such mutexes on Linux) names the owner stored in the mutex; a PI futex (`FUTEX_LOCK_PI`,
/// Swift's `Synchronization.Mutex` on Linux, PI pthread mutexes) holds the owner's tid in its word; a
/// `flock`/`fcntl(F_SETLKW)` wait names the holders listed in /proc/locks; a Shakedown `ProcessMutex` names the
/// owner in its record.
public struct LockWait: Hashable, Sendable, Codable {
    /// The family of lock.
    public enum Kind: String, Hashable, Sendable, Codable {
        /// A glibc `pthread_mutex_t` (also `NSLock`, `NSRecursiveLock`).
        case pthreadMutex
        /// A priority-inheritance futex whose word holds the owner's tid (Swift `Synchronization.Mutex`).
        case piFutex
        /// A `flock`, POSIX `fcntl` or OFD lock on a file.
        case fileLock
        /// A Shakedown `ProcessMutex`.
        case shakedownMutex
        /// A glibc `pthread_rwlock_t`; its holder is known when a writer holds it (glibc records the writer's tid).
        case rwlock
        /// A futex wait that is not on a recognisable lock (condition variable, semaphore, custom futex).
        case futexWait
    }

    /// Who holds the lock.
    public enum Owner: Hashable, Sendable, Codable {
        /// A thread that exists now.
        case thread(id: ThreadID)
        /// A process as a whole (file locks belong to processes or open files, not threads).
        case process(pid: Int32)
        /// The lock names thread `tid`, which no longer exists: nobody will ever unlock it ("owner gone").
        case gone(tid: Int32)
    }

    /// The family of lock.
    public var kind: Kind
    /// The lock's identity, equal for the same lock seen from several processes ("dev 00:01 inode 42 +0x40" for
    /// shared memory and files, "pid 4711 0x5555…" for private memory).
    public var identity: String
    /// How reports name it: the symbol of a global (`ledger`), the Shakedown mutex name, a file path, else nil.
    public var symbol: String?
    /// The lock's address in the waiter's process (nil for file locks).
    public var address: UInt64?
    /// The holders; empty when nobody holds it (the owner is unlocking, or it is not a lock).
    public var owners: [Owner]
    /// Anything a reader should know: "being unlocked right now", "not a mutex: kind field 0x…".
    public var detail: String?

    /// A lock wait as capture builds it (public for tools that assemble snapshots of their own).
    public init(kind: Kind, identity: String, symbol: String? = nil, address: UInt64? = nil, owners: [Owner], detail: String? = nil) {
        self.kind = kind
        self.identity = identity
        self.symbol = symbol
        self.address = address
        self.owners = owners
        self.detail = detail
    }

    /// "pthread mutex `ledger`", "pthread mutex 0x55d0c0a2e040", "flock on /tmp/a.lock", "Shakedown mutex `accounts`".
    public var name: String {
        let family: String
        switch kind {
        case .pthreadMutex: family = "pthread mutex"
        case .piFutex: family = "PI futex"
        case .fileLock: family = "file lock"
        case .shakedownMutex: family = "Shakedown mutex"
        case .rwlock: family = "pthread rwlock"
        case .futexWait: family = "futex"
        }
        if let symbol { return "\(family) `\(symbol)`" }
        if let address { return "\(family) \(hex(address))" }
        return "\(family) \(identity)"
    }
}
