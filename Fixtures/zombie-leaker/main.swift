// A known bug: forks helpers that exit at once and never waits for them. Until this process exits, each helper
// is a zombie holding a process-table slot. Fixed twin: zombie-reaper.
//   zombie-leaker [HELPERS] [LINGER_MS]   (default 2 helpers, linger 200 ms before exiting)
#if canImport(Glibc)
import Glibc
#endif

let helpers = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 2 : 2
let lingerMilliseconds = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 200 : 200

func startHelperAndForgetIt() -> pid_t {
    let pid = fork()
    if pid == 0 { _exit(7) }
    return pid
}

for _ in 0..<helpers { print("zombie-leaker \(getpid()): started helper \(startHelperAndForgetIt()), not waiting for it") }
usleep(UInt32(lingerMilliseconds * 1000))
