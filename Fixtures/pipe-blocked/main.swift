// Blocks reading a pipe nobody writes to, in waitForInput().
// Prints its pid on the first line, then reads. With --stdin it reads standard input instead of its own pipe,
// so a test can unblock it (it then prints "read N bytes" and exits 0). Dies with its parent.
import CShakedown
#if canImport(Glibc)
import Glibc
#endif

// Yama ptrace_scope=1 lets only ancestors trace: the tests' `shakedown diagnose` is a sibling.
_ = shakedown_allow_any_tracer()

@inline(never)
func waitForInput(from descriptor: CInt) -> Int {
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let count = read(descriptor, &buffer, buffer.count)
        if count >= 0 { return count }
        if errno != EINTR { return -1 }
    }
}

_ = shakedown_set_parent_death_signal(SIGKILL)
var descriptor: CInt = 0
if !CommandLine.arguments.contains("--stdin") {
    var ends: [CInt] = [-1, -1]
    if pipe(&ends) != 0 { exit(2) }
    descriptor = ends[0]  // the write end stays open in this process, so the read never sees end of file
}
print(getpid())
fflush(nil)
let count = waitForInput(from: descriptor)
print("read \(count) bytes")
exit(count >= 0 ? 0 : 1)
