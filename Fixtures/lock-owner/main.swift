// One thread waits for a pthread mutex whose owner is not deadlocked: no deadlock may be reported.
//   running: the owner holds the mutex and spins (state R), a second thread waits for it.
//   gone:    the owner locked it and exited without unlocking; the main thread waits for it forever ("owner gone").
// Prints "PID OWNER_TID" once the owner holds the mutex. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

nonisolated(unsafe) var cache = pthread_mutex_t()
nonisolated(unsafe) var ownerTID: Int32 = 0
nonisolated(unsafe) var locked = pthread_barrier_t()

@inline(never)
func holdAndSpin(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_mutex_lock(&cache)
    ownerTID = shakedown_gettid()
    pthread_barrier_wait(&locked)
    var spins: UInt64 = 0
    while true { spins &+= 1; if spins == 0 { break } }
    return nil
}

@inline(never)
func holdAndExit(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_mutex_lock(&cache)
    ownerTID = shakedown_gettid()
    pthread_barrier_wait(&locked)
    return nil
}

@inline(never)
func waitForCache(_ unused: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    pthread_mutex_lock(&cache)
    pthread_mutex_unlock(&cache)
    return nil
}

_ = shakedown_set_parent_death_signal(SIGKILL)
let gone = CommandLine.arguments.dropFirst().first == "gone"
pthread_mutex_init(&cache, nil)
pthread_barrier_init(&locked, nil, 2)
var owner = pthread_t()
pthread_create(&owner, nil, gone ? holdAndExit : holdAndSpin, nil)
pthread_barrier_wait(&locked)
if gone {
    pthread_join(owner, nil)
    print("\(getpid()) \(ownerTID)")
    fflush(nil)
    _ = waitForCache(nil)
} else {
    var waiter = pthread_t()
    pthread_create(&waiter, nil, waitForCache, nil)
    print("\(getpid()) \(ownerTID)")
    fflush(nil)
    pthread_join(waiter, nil)
}
