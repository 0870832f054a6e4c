// The fixed twin of setsid-daemon: does its work in the foreground and exits, leaving nothing behind.
//   foreground-service [WORK_MILLISECONDS]   (default 100)
#if canImport(Glibc)
import Glibc
#endif

let milliseconds = CommandLine.arguments.count > 1 ? UInt32(CommandLine.arguments[1]) ?? 100 : 100
usleep(milliseconds * 1000)
print("foreground-service \(getpid()): done")
