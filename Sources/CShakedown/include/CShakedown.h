#ifndef CSHAKEDOWN_H
#define CSHAKEDOWN_H
// The C shim: only what Swift cannot call directly. Every function is prefixed shakedown_.
#include "shakedown_sync.h"
#include "shakedown_process.h"
#include "shakedown_trace.h"
#include "shakedown_toolbox.h"
#include "shakedown_jitter.h"
#include "shakedown_syscall_control.h"
#include "shakedown_async.h"
#endif
