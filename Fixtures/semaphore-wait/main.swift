// The main thread waits on a DispatchSemaphore that nobody signals, in waitForSignal(), while background threads
// sleep in a loop in napForever(). --sleepers N sets the number of sleeping threads (default 1).
// Prints its pid on the first line once every sleeper has started. Dies with its parent.
import CShakedown
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

@inline(never)
func napForever() -> Never {
    while true { usleep(100_000) }
}

@inline(never)
func waitForSignal(_ semaphore: DispatchSemaphore) {
    semaphore.wait()
}

/// pthread_setname_np is not in Swift's Glibc module; /proc/thread-self/comm is the same thing.
func nameThisThread(_ name: String) {
    let descriptor = open("/proc/thread-self/comm", O_WRONLY)
    guard descriptor >= 0 else { return }
    _ = name.withCString { write(descriptor, $0, strlen($0)) }
    close(descriptor)
}

/// A sleeper's entry point. A named function, not a closure: a closure written in top-level code would be
/// isolated to the main actor, and running it on another thread traps.
func sleeperThread(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    nameThisThread("sleeper")
    if let context { Unmanaged<DispatchSemaphore>.fromOpaque(context).takeUnretainedValue().signal() }
    napForever()
}

_ = shakedown_set_parent_death_signal(SIGKILL)
var sleepers = 1
if let index = CommandLine.arguments.firstIndex(of: "--sleepers"), index + 1 < CommandLine.arguments.count {
    sleepers = Int(CommandLine.arguments[index + 1]) ?? 1
}
let started = DispatchSemaphore(value: 0)
let startedPointer = Unmanaged.passRetained(started).toOpaque()
for _ in 0..<sleepers {
    var thread = pthread_t()
    if pthread_create(&thread, nil, sleeperThread, startedPointer) != 0 { exit(2) }
}
for _ in 0..<sleepers { started.wait() }
print(getpid())
fflush(nil)
let never = DispatchSemaphore(value: 0)
waitForSignal(never)
