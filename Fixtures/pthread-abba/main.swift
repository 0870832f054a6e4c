// Two threads of one process take two global pthread mutexes in opposite order: an ABBA deadlock in plain
// pthreads, with no Shakedown lock involved. A barrier makes sure each holds its first mutex before asking for
// its second, so it deadlocks every time. The main thread waits in pthread_join.
// Prints "PID" once both threads have started. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

nonisolated(unsafe) var ledger = pthread_mutex_t()
nonisolated(unsafe) var accounts = pthread_mutex_t()
nonisolated(unsafe) var bothHoldTheirFirst = pthread_barrier_t()

@inline(never)
func moveLedgerToAccounts(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_mutex_lock(&ledger)
    pthread_barrier_wait(&bothHoldTheirFirst)
    pthread_mutex_lock(&accounts)  // held by the other thread, which waits for `ledger`: never returns
    pthread_mutex_unlock(&accounts)
    pthread_mutex_unlock(&ledger)
    return nil
}

@inline(never)
func moveAccountsToLedger(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_mutex_lock(&accounts)
    pthread_barrier_wait(&bothHoldTheirFirst)
    pthread_mutex_lock(&ledger)  // held by the other thread, which waits for `accounts`: never returns
    pthread_mutex_unlock(&ledger)
    pthread_mutex_unlock(&accounts)
    return nil
}

_ = shakedown_set_parent_death_signal(SIGKILL)
pthread_mutex_init(&ledger, nil)
pthread_mutex_init(&accounts, nil)
pthread_barrier_init(&bothHoldTheirFirst, nil, 2)
var first = pthread_t()
var second = pthread_t()
pthread_create(&first, nil, moveLedgerToAccounts, nil)
pthread_create(&second, nil, moveAccountsToLedger, nil)
print(getpid())
fflush(nil)
pthread_join(first, nil)
