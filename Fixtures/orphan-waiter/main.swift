// The fixed twin of orphan-maker: the same background helper, stopped and waited for before exiting.
//   orphan-waiter [HELPER_SECONDS]
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

let helper = startBackgroundHelper()
usleep(50_000)
kill(helper, SIGTERM)
var status: Int32 = 0
while waitpid(helper, &status, 0) < 0 && errno == EINTR {}
print("orphan-waiter \(getpid()): stopped and reaped helper \(helper)")
