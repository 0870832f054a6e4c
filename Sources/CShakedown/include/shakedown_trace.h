#ifndef SHAKEDOWN_TRACE_H
#define SHAKEDOWN_TRACE_H
// ptrace and libunwind-ptrace wrappers for hang capture (see shakedown_trace.c).
#endif
