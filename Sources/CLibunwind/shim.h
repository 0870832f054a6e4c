#ifndef CLIBUNWIND_SHIM_H
#define CLIBUNWIND_SHIM_H
// Only the C shim (CShakedown) uses libunwind; its API is macros that Swift cannot call.
#include <libunwind-ptrace.h>
#endif
