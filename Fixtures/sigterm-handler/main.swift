// The fixed twin of sigterm-ignorer: runs until SIGTERM, then exits cleanly with code 0.
//   sigterm-handler [MILLISECONDS]   (default 200; 0 = until SIGTERM)
#if canImport(Glibc)
import Glibc
#endif

signal(SIGTERM) { _ in _exit(0) }
let milliseconds = CommandLine.arguments.count > 1 ? UInt32(CommandLine.arguments[1]) ?? 200 : 200
print("sigterm-handler \(getpid()): will exit on SIGTERM")
fflush(nil)
if milliseconds > 0 { usleep(milliseconds * 1000) } else { while true { pause() } }
