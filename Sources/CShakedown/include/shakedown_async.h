#ifndef SHAKEDOWN_ASYNC_H
#define SHAKEDOWN_ASYNC_H
#include "shakedown_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The address of `name` in any loaded object (dlsym with RTLD_DEFAULT), or NULL when no loaded object defines it.
/// Used to find the Swift concurrency runtime's hook variables (swift_task_enqueueGlobal_hook and friends), which
/// no header declares.
void *_Nullable shakedown_async_symbol(const char *_Nonnull name);

#ifdef __cplusplus
}
#endif
#endif
