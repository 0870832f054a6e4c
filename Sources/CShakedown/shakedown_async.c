// Lookup of the Swift concurrency runtime's hook variables: they are exported globals without a header.
#define _GNU_SOURCE
#include <dlfcn.h>
#include "shakedown_async.h"

void *shakedown_async_symbol(const char *name) {
    return dlsym(RTLD_DEFAULT, name);
}
