// Two processes take two process mutexes in opposite order: the textbook ABBA deadlock.
//
// The parent runs transferFromAccountsToLedger (accounts, then ledger); the forked child runs
// transferFromLedgerToAccounts (ledger, then accounts). A barrier makes sure each holds its first mutex before
// either asks for its second, so the deadlock happens every time, not by chance. Fixed twin: ordered-locks.
// Prints "PARENT_PID CHILD_PID" on the first line, then blocks forever. Dies with its parent.
#if canImport(Glibc)
import Glibc
#endif
import CShakedown
import Shakedown

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

func fail(_ message: String) -> Never {
    let text = "abba-deadlock: \(message)\n"
    _ = text.withCString { write(STDERR_FILENO, $0, strlen($0)) }
    exit(2)
}

@inline(never)
func transferFromAccountsToLedger(_ accounts: ProcessMutex, _ ledger: ProcessMutex, _ both: ProcessBarrier) throws {
    try accounts.lock()
    both.arriveAndWait()
    // `ledger` is held by the other process, which waits for `accounts`: this never returns.
    try ledger.lock()
    try ledger.unlock()
    try accounts.unlock()
}

@inline(never)
func transferFromLedgerToAccounts(_ accounts: ProcessMutex, _ ledger: ProcessMutex, _ both: ProcessBarrier) throws {
    try ledger.lock()
    both.arriveAndWait()
    // `accounts` is held by the other process, which waits for `ledger`: this never returns.
    try accounts.lock()
    try accounts.unlock()
    try ledger.unlock()
}

do {
    let accounts = try ProcessMutex(name: "accounts")
    let ledger = try ProcessMutex(name: "ledger")
    let bothHoldTheirFirst = try ProcessBarrier(parties: 2)
    _ = shakedown_set_parent_death_signal(SIGKILL)
    let parent = getpid()
    fflush(nil)
    let child = fork()
    if child < 0 { fail("fork failed (errno \(errno))") }
    if child == 0 {
        _ = shakedown_set_parent_death_signal(SIGKILL)
        if getppid() != parent { _exit(1) }
        try transferFromLedgerToAccounts(accounts, ledger, bothHoldTheirFirst)
        _exit(0)
    }
    print("\(parent) \(child)")
    fflush(nil)
    try transferFromAccountsToLedger(accounts, ledger, bothHoldTheirFirst)
    var status: CInt = 0
    waitpid(child, &status, 0)
} catch {
    fail("\(error)")
}
