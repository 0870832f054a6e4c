// The fixed twin of abba-deadlock: both processes take `accounts` before `ledger`, so they cannot deadlock.
//
// Prints "PARENT_PID CHILD_PID", runs 1,000 transfers in each process, prints "done" and exits 0.
// With --wait it stays alive after "done" (both processes holding nothing) until killed, so a test can inspect
// the idle mutexes. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

func memfdCreate(_ name: String) -> CInt {
    typealias MemfdCreate = @convention(c) (UnsafePointer<CChar>, CUnsignedInt) -> CInt
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") else { fail("memfd_create not found") }
    return unsafeBitCast(symbol, to: MemfdCreate.self)(name, 0)
}

func fail(_ message: String) -> Never {
    let text = "ordered-locks: \(message) (errno \(errno))\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

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

nonisolated(unsafe) let accounts = makeMutex("accounts")
nonisolated(unsafe) let ledger = makeMutex("ledger")
let transfers = 1_000
let waitAfterwards = CommandLine.arguments.contains("--wait")

func lock(_ mutex: UnsafeMutablePointer<shakedown_mutex_record>) {
    let result = shakedown_mutex_lock(mutex, -1)
    if result < 0 { fail("shakedown_mutex_lock: \(-result)") }
}

@inline(never)
func transferFromAccountsToLedger() {
    lock(accounts)
    lock(ledger)
    _ = shakedown_mutex_unlock(ledger)
    _ = shakedown_mutex_unlock(accounts)
}

/// Same direction of money, same lock order: accounts first, always.
@inline(never)
func transferFromLedgerToAccounts() {
    lock(accounts)
    lock(ledger)
    _ = shakedown_mutex_unlock(ledger)
    _ = shakedown_mutex_unlock(accounts)
}

func idleUntilKilled() -> Never {
    while true { pause() }
}

_ = shakedown_set_parent_death_signal(SIGKILL)
let parent = getpid()
fflush(nil)
let child = fork()
if child < 0 { fail("fork") }
if child == 0 {
    _ = shakedown_set_parent_death_signal(SIGKILL)
    if getppid() != parent { _exit(1) }
    for _ in 0..<transfers { transferFromLedgerToAccounts() }
    if waitAfterwards { idleUntilKilled() }
    _exit(0)
}
print("\(parent) \(child)")
fflush(nil)
for _ in 0..<transfers { transferFromAccountsToLedger() }
if waitAfterwards {
    // Let the child finish its transfers before saying "done", without waiting for it to exit.
    while accounts.pointee.acquisitions < UInt64(2 * transfers) { usleep(1_000) }
    print("done")
    fflush(nil)
    idleUntilKilled()
}
var status: CInt = 0
while waitpid(child, &status, 0) == -1 && errno == EINTR {}
let childSucceeded = (status & 0x7f) == 0 && (status >> 8) & 0xff == 0
print("done")
exit(childSucceeded ? 0 : 1)
