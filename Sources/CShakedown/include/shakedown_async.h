#ifndef SHAKEDOWN_ASYNC_H
#define SHAKEDOWN_ASYNC_H
#include "shakedown_platform.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The address of `name` in any loaded object (dlsym with RTLD_DEFAULT), or NULL when no loaded object defines it.
/// Used to find the Swift concurrency runtime's hook variables (swift_task_enqueueGlobal_hook and friends), which
/// no header declares.
void *_Nullable shakedown_async_symbol(const char *_Nonnull name);

/// How many waiting jobs the status block lists (the counts cover all of them).
#define SHAKEDOWN_ASYNC_LISTED 16
/// `magic` of a status block a worker's executor has written ("SHKASYNC").
#define SHAKEDOWN_ASYNC_MAGIC 0x434e595341484b53ULL

/// One job waiting in the executor.
typedef struct {
    uint64_t task;      ///< the job's task id (0: not a task, e.g. an actor's processing job)
    uint64_t priority;  ///< its task's PCT priority (0: none)
    uint64_t due_ns;    ///< 0 when ready; else CLOCK_MONOTONIC time it becomes ready (a sleep)
} shakedown_async_job_entry;

/// What a forked worker's executor is doing, kept current under the executor's lock. The block is a global at the
/// same address in every process forked from one image, so the test process reads a stuck worker's copy with
/// process_vm_readv at its own block's address (after checking `magic` and `pid`).
typedef struct {
    uint64_t magic;
    int32_t pid;             ///< the process that wrote the block
    int32_t executor_tid;    ///< the executor's (first) thread, 0 before it started
    uint32_t policy;         ///< 0 fifo, 1 seeded random, 2 PCT
    uint32_t threads;
    uint64_t seed;
    uint64_t ready;
    uint64_t delayed;
    uint64_t decisions;
    uint64_t jobs_run;
    uint64_t running;        ///< jobs running right now
    uint64_t running_task;   ///< task id of the job started last (0: not a task)
    uint64_t running_since_ns;
    uint64_t hook_address;   ///< where swift_task_enqueueGlobal_hook lives (0: not installed)
    uint64_t hook_value;     ///< the value Shakedown stored there: anything else means other code replaced it
    uint32_t listed;         ///< entries of `jobs` in use
    uint32_t reserved;
    shakedown_async_job_entry jobs[SHAKEDOWN_ASYNC_LISTED];
} shakedown_async_status;

/// This process's status block.
shakedown_async_status *_Nonnull shakedown_async_status_block(void);

/// Copies process `pid`'s status block (at this process's block address) into `out`: 0, or the errno of
/// process_vm_readv.
int shakedown_async_read_status(int32_t pid, shakedown_async_status *_Nonnull out);

/// Copies the 8 bytes at `address` in process `pid`: 0, or the errno of process_vm_readv.
int shakedown_async_read_word(int32_t pid, uint64_t address, uint64_t *_Nonnull out);

/// The calling thread's kernel id.
int32_t shakedown_async_gettid(void);

#ifdef __cplusplus
}
#endif
#endif
