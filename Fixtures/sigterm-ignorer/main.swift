// A known bug: ignores SIGTERM and never finishes, so a polite shutdown never stops it. Only SIGKILL does.
// Fixed twin: sigterm-handler.
#if canImport(Glibc)
import Glibc
#endif

signal(SIGTERM, SIG_IGN)
print("sigterm-ignorer \(getpid()): ignoring SIGTERM")
fflushAll()
while true { pause() }

func fflushAll() { fflush(nil) }
