#ifndef SHAKEDOWN_TOOLBOX_H
#define SHAKEDOWN_TOOLBOX_H
#include "shakedown_platform.h"
// C helpers for the multiprocessing toolbox (Sources/Shakedown/Toolbox): what Swift cannot call directly.

#include <stdint.h>
#include <sys/types.h>
#include "shakedown_sync.h"

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// Counts one more holder in `*holders` and raises `*high_water` to the new count if it is higher.
/// Both live in shared memory; returns the new holder count.
int64_t shakedown_high_water_enter(int64_t *holders, int64_t *high_water);
/// Counts one holder less. Returns the new holder count.
int64_t shakedown_high_water_leave(int64_t *holders);
/// Counts one holder less when `*holders` is positive and returns 1; otherwise leaves it and counts the release
/// in `*unmatched` instead (a signal nobody's wait accounts for: it adds a permit) and returns 0. Never lets the
/// holder count go negative, so extra permits cannot hide later holders from the high-water mark.
int shakedown_high_water_leave_held(int64_t *holders, int64_t *unmatched);
/// Undoes shakedown_high_water_leave_held (a post that failed); `counted_holder` is what it returned.
void shakedown_high_water_undo_leave(int64_t *holders, int64_t *unmatched, int counted_holder);

/// A release store: a plain store on x86, where the seq_cst store of shakedown_atomic_store is a locked exchange.
/// For progress words written once per task by a pool worker and read by the parent.
static inline void shakedown_release_store(int64_t *address, int64_t value) {
    __atomic_store_n(address, value, __ATOMIC_RELEASE);
}

/// The number of CPUs in the calling thread's affinity mask (sched_getaffinity), or -1 with errno.
int shakedown_affinity_cpu_count(void);

/// socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC). Returns 0 or -1 with errno.
int shakedown_socket_pair(int fds[_Nonnull 2]);

/// fork(2) + execve(2) for a captured command: the child makes only async-signal-safe calls. It becomes the
/// leader of a new process group (so a timeout can kill the command's whole tree with one kill(-pid)), points
/// stdin at /dev/null, stdout at `stdout_fd` and stderr at `stderr_fd`, changes to `directory` when it is not
/// NULL, resets the signal mask and dispositions, and leaves with _exit(127) when exec fails.
/// `path` is searched in PATH when it has no slash. Returns the pid, or -1 with errno.
pid_t shakedown_spawn_captured(const char *path, char *_Nullable const argv[_Nonnull],
                               char *_Nullable const envp[_Nonnull], int stdout_fd, int stderr_fd,
                               const char *_Nullable directory);

/// shakedown_spawn_captured that also says why the command did not start: when `error_fd` (the write end of a
/// close-on-exec pipe) is not -1 and a step fails, the child writes one byte naming the step ('d': dup2,
/// 'c': chdir, 'e': exec) and its errno (an int, native byte order) before _exit(127). A successful exec closes
/// the pipe unwritten, so the parent reads end of file. Returns the pid, or -1 with errno.
pid_t shakedown_spawn_captured_reporting(const char *path, char *_Nullable const argv[_Nonnull],
                                         char *_Nullable const envp[_Nonnull], int stdout_fd, int stderr_fd,
                                         const char *_Nullable directory, int error_fd);

// MARK: queue (a bounded FIFO of byte strings in MAP_SHARED memory, for ProcessQueue)

/// The header; `capacity` item slots follow it, then `held_capacity` held-item records (joinable queues).
/// Every change happens under `lock` (robust): a process that dies holding it leaves the queue consistent,
/// because indices are advanced only after the bytes are in place.
typedef struct shakedown_queue {
    shakedown_mutex_record lock;
    uint32_t items_word;      // futex: bumped when an item is put or the queue closes
    uint32_t space_word;      // futex: bumped when an item is taken or the queue closes
    uint32_t done_word;       // futex: bumped when `unfinished` drops to 0 or a held item is given back
    uint32_t closed;
    uint32_t get_waiters, put_waiters, join_waiters;
    uint32_t capacity, slot_bytes, held_capacity, slot_stride, held_stride;
    uint64_t head, tail;      // items [head, tail) are queued; slot = index % capacity
    uint64_t puts, gets, done, high_water;
    int64_t unfinished;       // joinable: put and not yet marked done
    uint64_t untracked;       // joinable: taken while the held table was full (counted, bytes not kept)
} shakedown_queue;

/// One item a consumer took from a joinable queue and has not marked done yet; a copy of its bytes is kept so
/// the item is not lost if the consumer dies.
typedef struct shakedown_queue_held {
    int32_t pid;              // 0: free record
    uint32_t length;
    uint64_t sequence;        // order of taking, to release a consumer's oldest first
} shakedown_queue_held;

enum {
    SHAKEDOWN_QUEUE_OK = 0,
    SHAKEDOWN_QUEUE_TIMED_OUT = -1,
    SHAKEDOWN_QUEUE_CLOSED = -2,   // put after close; get on a closed, empty queue
    SHAKEDOWN_QUEUE_TOO_LARGE = -3,
    SHAKEDOWN_QUEUE_NOT_HELD = -4, // task_done with nothing outstanding
};

uint64_t shakedown_queue_size(uint32_t capacity, uint32_t slot_bytes, uint32_t held_capacity);
/// Returns 0 or an errno value (from the mutex initialization).
int shakedown_queue_init(shakedown_queue *queue, uint32_t capacity, uint32_t slot_bytes, uint32_t held_capacity);
/// Appends `length` bytes, waiting at most `timeout_ns` for space. Returns SHAKEDOWN_QUEUE_* or -errno.
int shakedown_queue_put(shakedown_queue *queue, const void *_Nullable bytes, uint32_t length, int64_t timeout_ns);
/// Takes the oldest item into `out` (`out_capacity` bytes, which should be at least `slot_bytes`; never more is
/// written, whatever the shared header says), its length into `*length`, waiting at most `timeout_ns`. With
/// `holder` > 0 the item is recorded as held by that pid until task_done.
int shakedown_queue_get(shakedown_queue *queue, void *out, uint32_t out_capacity, uint32_t *length,
                        int64_t timeout_ns, int32_t holder);
/// Marks the oldest item held by `holder` done (or an untracked one). Returns SHAKEDOWN_QUEUE_OK or _NOT_HELD.
int shakedown_queue_task_done(shakedown_queue *queue, int32_t holder);
/// Waits at most `timeout_ns` for `unfinished` to reach 0 or `done_word` to change. Returns 0 when nothing is
/// unfinished, SHAKEDOWN_QUEUE_TIMED_OUT otherwise.
int shakedown_queue_wait_done(shakedown_queue *queue, int64_t timeout_ns);
void shakedown_queue_close(shakedown_queue *queue);
/// The held record `index` and its bytes (read them under the lock: see shakedown_queue_lock).
shakedown_queue_held *shakedown_queue_held_record(shakedown_queue *queue, uint32_t index);
void *shakedown_queue_held_bytes(shakedown_queue *queue, uint32_t index);
/// Gives a held item back: puts it at the front of the queue (it may exceed capacity by the items given back)
/// and frees the record; `unfinished` is unchanged. Call with the lock held.
void shakedown_queue_requeue_held_locked(shakedown_queue *queue, uint32_t index);
/// Takes the queue's lock (for reading held records); returns 0 or -errno.
int shakedown_queue_lock(shakedown_queue *queue);
void shakedown_queue_unlock(shakedown_queue *queue);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif
#endif
