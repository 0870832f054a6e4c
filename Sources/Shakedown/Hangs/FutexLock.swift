/// Reads a futex wait as a lock: given the futex system call a thread sleeps in and the bytes at its address,
/// says whether it is a held mutex and who owns it. Pure: capture reads the bytes, this only interprets them.
///
/// glibc's `pthread_mutex_t` (x86_64 and aarch64 alike) starts `int __lock; unsigned __count; int __owner;
/// unsigned __nusers; int __kind`: the futex word is `__lock` at byte 0, the owner's tid is `__owner` at byte 8,
/// the kind at byte 16. A thread blocked in `pthread_mutex_lock` sleeps in `FUTEX_WAIT` on `__lock` (normal,
/// recursive, error-checking, robust, process-shared kinds) or in `FUTEX_LOCK_PI` (priority-inheritance kinds).
/// A PI futex word holds the owner's tid in its low 30 bits (Swift's `Synchronization.Mutex` on Linux is one).
enum FutexLock {
    /// A futex wait as capture saw it.
    struct Probe: Hashable, Sendable {
        /// The futex word's address (argument 1).
        var address: UInt64
        /// The futex operation without FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME.
        var operation: Int
        /// FUTEX_PRIVATE_FLAG: only threads of this process use the word.
        var isPrivate: Bool
        /// The value the thread expected when it went to sleep (argument 3), for FUTEX_WAIT.
        var expected: UInt32
        /// At least 4 bytes read from `address` (24 to see a whole mutex header); fewer if unreadable.
        var bytes: [UInt8]
    }

    /// What the bytes say.
    enum Verdict: Hashable, Sendable {
        /// A held lock; `tid` owns it.
        case held(kind: LockWait.Kind, owner: Int32, detail: String?)
        /// A lock, but no owner can be named now (being unlocked, or the owner field is cleared).
        case unowned(kind: LockWait.Kind, detail: String)
        /// Not a lock: a condition variable, semaphore, barrier or other futex user.
        case notALock(detail: String)
    }

    static let wait = 0, lockPI = 6, waitBitset = 9, waitRequeuePI = 11, lockPI2 = 13
    static let tidMask: UInt32 = 0x3FFF_FFFF
    static let ownerDied: UInt32 = 0x4000_0000
    /// glibc's kind bits: type (0–3), robust 16, PI 32, PP 64, process-shared 128, elision 256 / 512.
    static let knownKindBits: Int32 = 3 | 16 | 32 | 64 | 128 | 256 | 512

    /// The probe for a futex system call's arguments; nil when it is not a wait that can belong to a lock.
    static func probe(arguments: [UInt64], read: (UInt64, Int) -> [UInt8]) -> Probe? {
        guard arguments.count >= 3 else { return nil }
        let raw = Int(truncatingIfNeeded: arguments[1])
        let operation = raw & 0x7F
        guard [wait, lockPI, waitBitset, lockPI2].contains(operation) else { return nil }
        return Probe(address: arguments[0], operation: operation, isPrivate: raw & 128 != 0,
                     expected: UInt32(truncatingIfNeeded: arguments[2]), bytes: read(arguments[0], 24))
    }

    /// Interprets a probe. Never traps on any bytes.
    static func classify(_ probe: Probe) -> Verdict {
        guard probe.bytes.count >= 4 else { return .notALock(detail: "the futex word at \(hex(probe.address)) could not be read") }
        let word = load(UInt32.self, probe.bytes, 0)
        let kindField: Int32? = probe.bytes.count >= 20 ? load(Int32.self, probe.bytes, 16) : nil
        let ownerField: Int32? = probe.bytes.count >= 12 ? load(Int32.self, probe.bytes, 8) : nil
        let looksLikeMutex = kindField.map { $0 >= 0 && $0 & ~knownKindBits == 0 } ?? false

        if probe.operation == lockPI || probe.operation == lockPI2 {
            let kind: LockWait.Kind = looksLikeMutex && (kindField ?? 0) & 32 != 0 ? .pthreadMutex : .piFutex
            let owner = word & tidMask
            guard owner != 0 else { return .unowned(kind: kind, detail: "the lock word holds no owner: it is being unlocked right now") }
            return .held(kind: kind, owner: Int32(owner), detail: word & ownerDied != 0 ? "its previous owner died" : nil)
        }

        // FUTEX_WAIT / FUTEX_WAIT_BITSET: only a glibc mutex header makes this a lock.
        guard looksLikeMutex, let kindField, let ownerField else {
            return .notALock(detail: "futex wait on \(hex(probe.address)): the memory there is not a glibc mutex "
                + "(kind field \(kindField.map { hex(UInt64(UInt32(bitPattern: $0))) } ?? "unreadable")); "
                + "a condition variable, semaphore or other futex user")
        }
        if kindField & 32 != 0 {
            return .notALock(detail: "a PI mutex is not waited for with FUTEX_WAIT: the memory at \(hex(probe.address)) is something else")
        }
        if word != probe.expected {
            // The thread slept on a value the word no longer has: it is being woken (a release is in progress).
            return .unowned(kind: .pthreadMutex, detail: "the lock word changed since the thread went to sleep: it is being released and the thread woken")
        }
        if kindField & 16 != 0 {
            // Robust: the word itself is the owner's tid, with FUTEX_WAITERS / FUTEX_OWNER_DIED on top.
            let owner = word & tidMask
            guard owner != 0 else { return .unowned(kind: .pthreadMutex, detail: "robust mutex with no owner in its word: being unlocked") }
            return .held(kind: .pthreadMutex, owner: Int32(owner), detail: word & ownerDied != 0 ? "its previous owner died" : nil)
        }
        guard word == 1 || word == 2 else {
            return .notALock(detail: "futex word \(word) at \(hex(probe.address)) is not a locked glibc mutex (1 or 2)")
        }
        guard ownerField > 0 else {
            // glibc clears __owner before it releases __lock: an unlock is under way.
            return .unowned(kind: .pthreadMutex, detail: "the mutex is locked but records no owner: it is being unlocked right now")
        }
        return .held(kind: .pthreadMutex, owner: ownerField, detail: nil)
    }

    /// A thread blocked in `pthread_rwlock_*lock` sleeps on `__wrphase_futex` (byte 8 of the rwlock) or
    /// `__writers_futex` (byte 12); glibc keeps the writing owner's tid in `__cur_writer` (byte 24), so 16 or 12 bytes
    /// past the futex. The other candidate is `__shared` (0 or 1) or padding (0), never a tid, which tells them apart.
    /// Returns the rwlock's address and its writer (nil when readers hold it: glibc does not record readers).
    static func rwlockWriter(_ probe: Probe) -> (address: UInt64, writer: Int32?) {
        if probe.bytes.count >= 16 {
            let candidate = load(Int32.self, probe.bytes, 12)
            if candidate > 1 { return (probe.address &- 12, candidate) }
        }
        if probe.bytes.count >= 20 {
            let candidate = load(Int32.self, probe.bytes, 16)
            if candidate > 1 { return (probe.address &- 8, candidate) }
        }
        return (probe.address &- 8, nil)
    }

    private static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ offset: Int) -> T {
        var value: T = 0
        for index in (0..<MemoryLayout<T>.size).reversed() { value = value << 8 | T(truncatingIfNeeded: bytes[offset + index]) }
        return value
    }
}
