// The fixed twin of zombie-leaker: the same helpers, each waited for, so no zombie is left.
//   zombie-reaper [HELPERS] [LINGER_MS]
#if canImport(Glibc)
import Glibc
#endif

let helpers = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2 : 2
let lingerMilliseconds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 200 : 200

func startHelperAndWaitForIt() {
    let pid = fork()
    if pid == 0 { _exit(7) }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    print("zombie-reaper \(getpid()): helper \(pid) exited with \((status >> 8) & 0xFF), reaped")
}

for _ in 0..<helpers { startHelperAndWaitForIt() }
usleep(UInt32(lingerMilliseconds * 1000))
