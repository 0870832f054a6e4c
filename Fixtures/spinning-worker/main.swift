// A worker thread that never blocks: it spins in spinForever() while the main thread waits to join it.
// Prints its pid on the first line once the worker is spinning. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

/// Written by the worker, read by nobody: keeps the loop from being optimized away.
nonisolated(unsafe) var progress: Int64 = 0

@inline(never)
func spinForever() -> Never {
    var value: Int64 = 0
    while true {
        value &+= 1
        shakedown_racy_store(&progress, value)
    }
}

/// pthread_setname_np is not in Swift's Glibc module; /proc/thread-self/comm is the same thing.
func nameThisThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY)
    guard descriptor >= 0 else { return }
    _ = name.withCString { write(descriptor, $0, strlen($0)) }
    close(descriptor)
}

/// The thread's entry point. A named function, not a closure: a closure written in top-level code would be
/// isolated to the main actor, and running it on another thread traps.
func spinnerThread(_: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    nameThisThread("spinner")
    spinForever()
}

_ = shakedown_set_parent_death_signal(SIGKILL)
var worker = pthread_t()
let created = pthread_create(&worker, nil, spinnerThread, nil)
if created != 0 { exit(2) }
while shakedown_racy_load(&progress) == 0 { sched_yield() }
print(getpid())
fflush(nil)
pthread_join(worker, nil)
