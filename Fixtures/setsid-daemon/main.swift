// A known bug in a test: daemonizes the classic way — fork, setsid, fork again, exit — so the daemon is in a
// new session and process group, re-parented away from whoever started it, and outlives the test.
// Fixed twin: foreground-service.
//   setsid-daemon [DAEMON_SECONDS]   (default 30)
#if canImport(Glibc)
import Glibc
#endif

let seconds = CommandLine.arguments.count > 1 ? UInt32(CommandLine.arguments[1]) ?? 30 : 30

func daemonize() {
    let first = fork()
    if first != 0 {
        var status: Int32 = 0
        while waitpid(first, &status, 0) < 0 && errno == EINTR {}
        return
    }
    setsid()
    if fork() != 0 { _exit(0) }
    // The daemon: no parent that will wait, its own session; keeps running.
    var remaining = seconds
    while remaining > 0 { remaining = sleep(remaining) }
    _exit(0)
}

daemonize()
print("setsid-daemon \(getpid()): daemon started in its own session; exiting")
