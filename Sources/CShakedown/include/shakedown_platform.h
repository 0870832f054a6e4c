#ifndef SHAKEDOWN_PLATFORM_H
#define SHAKEDOWN_PLATFORM_H
// The C shim's one platform check. Every header of the shim includes it first, so on another system the first
// diagnostic is this sentence rather than a missing <linux/futex.h> or an unresolved symbol at link time.
#if !defined(__linux__)
#error "Shakedown runs on Linux only: it forks, ptraces, maps shared memory and reads /proc. ShakedownJitter alone builds elsewhere, for production code."
#endif
#endif
