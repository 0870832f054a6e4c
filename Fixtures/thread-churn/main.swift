// Threads are created and end all the time: 4 at once, each living a few microseconds, joined, again, forever.
// A capture of this process meets threads that exit between being listed and being seized (ESRCH, or EPERM while
// the kernel marks them exiting); neither may be reported as "permission denied".
// Prints its pid on the first line once churning. Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

func shortLife(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    var spin = 0
    for value in 0..<200 { spin &+= value }
    return UnsafeMutableRawPointer(bitPattern: spin | 1)
}

_ = shakedown_set_parent_death_signal(SIGKILL)
print(getpid())
fflush(nil)
while true {
    var threads: [pthread_t] = []
    for _ in 0..<4 {
        var thread = pthread_t()
        if pthread_create(&thread, nil, shortLife, nil) == 0 { threads.append(thread) }
    }
    for thread in threads { pthread_join(thread, nil) }
}
