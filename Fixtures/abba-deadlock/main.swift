// Two processes take two process mutexes in opposite order: the textbook ABBA deadlock.
//
// The parent runs transferFromAccountsToLedger (accounts, then ledger); the forked child runs
// transferFromLedgerToAccounts (ledger, then accounts). A barrier makes sure each holds its first mutex before
// either asks for its second, so the deadlock happens every time, not by chance.
// Prints "PARENT_PID CHILD_PID" on the first line, then blocks forever. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

/// memfd_create is not in Swift's Glibc module; look it up at run time.
func memfdCreate(_ name: String) -> CInt {
    typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, CUnsignedInt) -> CInt
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") else { fail("memfd_create not found") }
    return unsafeBitCast(symbol, to: MemfdCreate.self)(name, 0)
}

func fail(_ message: String) -> Never {
    let text = "abba-deadlock: \(message) (errno \(errno))\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

/// A process mutex at offset 0 of its own memfd named "shakedown-mutex", where `shakedown diagnose` finds it.
func makeMutex(_ name: String) -> UnsafeMutablePointer<shakedown_mutex_record> {
    let descriptor = memfdCreate("shakedown-mutex")
    if descriptor < 0 { fail("memfd_create") }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let size = (MemoryLayout<shakedown_mutex_record>.size + page - 1) / page * page
    if ftruncate(descriptor, off_t(size)) != 0 { fail("ftruncate") }
    guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0), memory != MAP_FAILED else {
        fail("mmap")
    }
    close(descriptor)
    let record = memory.bindMemory(to: shakedown_mutex_record.self, capacity: 1)
    if shakedown_mutex_init(record, name) != 0 { fail("shakedown_mutex_init") }
    return record
}

func makeBarrier() -> UnsafeMutablePointer<shakedown_barrier> {
    let size = MemoryLayout<shakedown_barrier>.size
    guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), memory != MAP_FAILED else {
        fail("mmap")
    }
    let barrier = memory.bindMemory(to: shakedown_barrier.self, capacity: 1)
    shakedown_barrier_init(barrier, 2, 1_000)
    return barrier
}

nonisolated(unsafe) let accounts = makeMutex("accounts")
nonisolated(unsafe) let ledger = makeMutex("ledger")
nonisolated(unsafe) let bothHoldTheirFirst = makeBarrier()

func waitForTheOther() {
    if shakedown_barrier_arrive(bothHoldTheirFirst, -1) == CInt(SHAKEDOWN_BARRIER_LAST) {
        shakedown_barrier_release(bothHoldTheirFirst)
    }
}

@inline(never)
func transferFromAccountsToLedger() {
    if shakedown_mutex_lock(accounts, -1) < 0 { fail("lock accounts") }
    waitForTheOther()
    // `ledger` is held by the other process, which waits for `accounts`: this never returns.
    if shakedown_mutex_lock(ledger, -1) < 0 { fail("lock ledger") }
    _ = shakedown_mutex_unlock(ledger)
    _ = shakedown_mutex_unlock(accounts)
}

@inline(never)
func transferFromLedgerToAccounts() {
    if shakedown_mutex_lock(ledger, -1) < 0 { fail("lock ledger") }
    waitForTheOther()
    // `accounts` is held by the other process, which waits for `ledger`: this never returns.
    if shakedown_mutex_lock(accounts, -1) < 0 { fail("lock accounts") }
    _ = shakedown_mutex_unlock(accounts)
    _ = shakedown_mutex_unlock(ledger)
}

_ = shakedown_set_parent_death_signal(SIGKILL)
let parent = getpid()
fflush(nil)
let child = fork()
if child < 0 { fail("fork") }
if child == 0 {
    _ = shakedown_set_parent_death_signal(SIGKILL)
    if getppid() != parent { _exit(1) }
    transferFromLedgerToAccounts()
    _exit(0)
}
print("\(parent) \(child)")
fflush(nil)
transferFromAccountsToLedger()
var status: CInt = 0
waitpid(child, &status, 0)
