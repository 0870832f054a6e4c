// The fixed twin of abba-deadlock: both processes take `accounts` before `ledger`, so they cannot deadlock.
//
// Prints "PARENT_PID CHILD_PID", runs 1,000 transfers in each process, prints "done" and exits 0.
// With --wait it stays alive after "done" (both processes holding nothing) until killed, so a test can inspect
// the idle mutexes. Dies with its parent.
#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Shakedown

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

let transfers = 1_000
let waitAfterwards = CommandLine.arguments.contains("--wait")

func fail(_ message: String) -> Never {
    let text = "ordered-locks: \(message)\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(2)
}

@inline(never)
func transferFromAccountsToLedger(_ accounts: ProcessMutex, _ ledger: ProcessMutex) throws {
    try accounts.lock()
    try ledger.lock()
    try ledger.unlock()
    try accounts.unlock()
}

/// Money moves the other way, but the lock order stays the same: accounts first, always.
@inline(never)
func transferFromLedgerToAccounts(_ accounts: ProcessMutex, _ ledger: ProcessMutex) throws {
    try accounts.lock()
    try ledger.lock()
    try ledger.unlock()
    try accounts.unlock()
}

func idleUntilKilled() -> Never {
    while true { pause() }
}

do {
    let accounts = try ProcessMutex(name: "accounts")
    let ledger = try ProcessMutex(name: "ledger")
    _ = shakedown_set_parent_death_signal(SIGKILL)
    let parent = getpid()
    fflush(nil)
    let child = fork()
    if child < 0 { fail("fork failed (errno \(errno))") }
    if child == 0 {
        _ = shakedown_set_parent_death_signal(SIGKILL)
        if getppid() != parent { _exit(1) }
        for _ in 0..<transfers { try transferFromLedgerToAccounts(accounts, ledger) }
        if waitAfterwards { idleUntilKilled() }
        _exit(0)
    }
    print("\(parent) \(child)")
    fflush(nil)
    for _ in 0..<transfers { try transferFromAccountsToLedger(accounts, ledger) }
    if waitAfterwards {
        // Let the child finish its transfers before saying "done", without waiting for it to exit.
        while accounts.acquisitions < 2 * transfers { usleep(1_000) }
        print("done")
        fflush(nil)
        idleUntilKilled()
    }
    var status: CInt = 0
    while waitpid(child, &status, 0) == -1 && errno == EINTR {}
    let childSucceeded = (status & 0x7f) == 0 && (status >> 8) & 0xff == 0
    print("done")
    exit(childSucceeded ? 0 : 1)
} catch {
    fail("\(error)")
}
