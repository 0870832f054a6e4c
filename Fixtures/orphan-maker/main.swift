// A known bug: starts a background helper (a grandchild of whoever ran this) and exits without stopping or
// waiting for it. The helper keeps running after its parent is gone: an orphan. Fixed twin: orphan-waiter.
//   orphan-maker [HELPER_SECONDS]   (default 30)
#if canImport(Glibc)
import Glibc
#endif

let seconds = CommandLine.arguments.count > 1 ? UInt32(CommandLine.arguments[1]) ?? 30 : 30

func startBackgroundHelper() -> pid_t {
    let pid = fork()
    if pid == 0 {
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup(String(seconds)), nil]
        execv("/bin/sleep", argv)
        _exit(127)
    }
    return pid
}

print("orphan-maker \(getpid()): started background helper \(startBackgroundHelper()); exiting without it")
