// Lookup of the Swift concurrency runtime's hook variables (exported globals without a header), and the status
// block a worker's executor keeps for hang reports.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "shakedown_async.h"

void *shakedown_async_symbol(const char *name) {
    return dlsym(RTLD_DEFAULT, name);
}

static shakedown_async_status status_block;

shakedown_async_status *shakedown_async_status_block(void) {
    return &status_block;
}

int shakedown_async_read_status(int32_t pid, shakedown_async_status *out) {
    struct iovec local = {.iov_base = out, .iov_len = sizeof *out};
    struct iovec remote = {.iov_base = &status_block, .iov_len = sizeof status_block};
    ssize_t copied = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (copied < 0) return errno;
    return copied == (ssize_t)sizeof *out ? 0 : EIO;
}

int shakedown_async_read_word(int32_t pid, uint64_t address, uint64_t *out) {
    struct iovec local = {.iov_base = out, .iov_len = sizeof *out};
    struct iovec remote = {.iov_base = (void *)(uintptr_t)address, .iov_len = sizeof *out};
    ssize_t copied = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (copied < 0) return errno;
    return copied == (ssize_t)sizeof *out ? 0 : EIO;
}

int32_t shakedown_async_gettid(void) {
    return (int32_t)syscall(SYS_gettid);
}
