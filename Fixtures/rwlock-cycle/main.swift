// A deadlock through a pthread rwlock and a mutex: one thread write-locks `catalog` and then wants `audit`; the
// other holds `audit` and wants to write-lock `catalog`. glibc records the writer of a rwlock, so the cycle can be
// named. A barrier makes it happen every time.
// Prints "PID" once both threads have started. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

nonisolated(unsafe) var catalog = pthread_rwlock_t()
nonisolated(unsafe) var audit = pthread_mutex_t()
nonisolated(unsafe) var bothHoldTheirFirst = pthread_barrier_t()

@inline(never)
func rebuildCatalog(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_rwlock_wrlock(&catalog)
    pthread_barrier_wait(&bothHoldTheirFirst)
    pthread_mutex_lock(&audit)  // held by the auditor, which waits to write the catalog: never returns
    return nil
}

@inline(never)
func auditCatalog(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_mutex_lock(&audit)
    pthread_barrier_wait(&bothHoldTheirFirst)
    pthread_rwlock_wrlock(&catalog)  // written by the rebuilder, which waits for `audit`: never returns
    return nil
}

_ = shakedown_set_parent_death_signal(SIGKILL)
pthread_rwlock_init(&catalog, nil)
pthread_mutex_init(&audit, nil)
pthread_barrier_init(&bothHoldTheirFirst, nil, 2)
var first = pthread_t()
var second = pthread_t()
pthread_create(&first, nil, rebuildCatalog, nil)
pthread_create(&second, nil, auditCatalog, nil)
print(getpid())
fflush(nil)
while true { pause() }
