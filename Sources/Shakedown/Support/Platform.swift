// The one platform check of this module: a clear message at compile time instead of missing symbols at link time.
#if !os(Linux)
#error("Shakedown runs on Linux only: it forks, ptraces, maps shared memory and reads /proc. ShakedownJitter alone builds elsewhere, for production code.")
#endif
