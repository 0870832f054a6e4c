#ifndef SHAKEDOWN_SYNC_H
#define SHAKEDOWN_SYNC_H

#include <stdint.h>
#include <pthread.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: futex

/// Sleeps while `*address == expected`, at most `timeout_ns` nanoseconds (negative: no limit).
/// Returns 0 when woken, or -1 with errno (EAGAIN: value differed, ETIMEDOUT, EINTR).
int shakedown_futex_wait(uint32_t *address, uint32_t expected, int64_t timeout_ns);
/// Wakes up to `count` waiters on `address`. Returns the number woken, or -1 with errno.
int shakedown_futex_wake(uint32_t *address, int count);

// MARK: barrier (lives in MAP_SHARED memory; spins, then sleeps on a futex)

typedef struct shakedown_barrier {
    uint32_t parties;
    uint32_t arrived;     // atomic
    uint32_t generation;  // atomic; the futex word
    uint32_t broken;      // atomic; nonzero: 1 + index of the worker that broke it
    uint32_t sleepers;    // atomic; waiters currently in futex_wait
    uint32_t spin_limit;
} shakedown_barrier;

enum {
    SHAKEDOWN_BARRIER_RELEASED = 0,  ///< everyone arrived; go on
    SHAKEDOWN_BARRIER_LAST = 1,      ///< caller arrived last: run the round action, then call release
    SHAKEDOWN_BARRIER_BROKEN = 2,    ///< a party left for good; nobody will release this generation
    SHAKEDOWN_BARRIER_TIMED_OUT = 3,
};

void shakedown_barrier_init(shakedown_barrier *barrier, uint32_t parties, uint32_t spin_limit);
/// Arrives; waits (spinning first) until the last party releases or the barrier breaks.
int shakedown_barrier_arrive(shakedown_barrier *barrier, int64_t timeout_ns);
/// Called by the party that got SHAKEDOWN_BARRIER_LAST, after its round action.
void shakedown_barrier_release(shakedown_barrier *barrier);
/// Marks the barrier broken by `worker_index` and wakes every waiter. Idempotent; the first breaker is kept.
void shakedown_barrier_break(shakedown_barrier *barrier, uint32_t worker_index);

// MARK: the deliberately racy access (opaque: the optimizer cannot fold load+store into an atomic add)

int64_t shakedown_racy_load(const volatile int64_t *address);
void shakedown_racy_store(volatile int64_t *address, int64_t value);

// MARK: robust process-shared mutex with an owner record another process can read

#define SHAKEDOWN_MUTEX_MAGIC 0x5348414B4D555458ULL  // "SHAKMUTX"
#define SHAKEDOWN_MUTEX_NAME_CAPACITY 64
#define SHAKEDOWN_MUTEX_WAITER_CAPACITY 32

typedef struct shakedown_mutex_waiter {
    int32_t pid;   // 0: free slot
    int32_t tid;
} shakedown_mutex_waiter;

/// Layout shared by the process that locks and the one that diagnoses (through /proc/PID/mem).
/// It sits at the start of a memfd mapping named "shakedown-mutex" so `diagnose` can find it in /proc/PID/maps.
typedef struct shakedown_mutex_record {
    uint64_t magic;
    uint32_t version;          // 1
    uint32_t owner_died_count; // atomic; times a locker found the previous owner dead
    int32_t owner_pid;         // atomic; 0 when unlocked
    int32_t owner_tid;         // atomic
    uint64_t acquisitions;     // atomic
    char name[SHAKEDOWN_MUTEX_NAME_CAPACITY];
    shakedown_mutex_waiter waiters[SHAKEDOWN_MUTEX_WAITER_CAPACITY];
    pthread_mutex_t mutex;
} shakedown_mutex_record;

enum {
    SHAKEDOWN_MUTEX_ACQUIRED = 0,
    SHAKEDOWN_MUTEX_ACQUIRED_OWNER_DIED = 1,  ///< previous owner died holding it; state made consistent
};

/// Initializes a robust, process-shared, error-checking mutex. Returns 0 or an errno value.
int shakedown_mutex_init(shakedown_mutex_record *record, const char *name);
/// Locks; while blocked the caller is listed in `waiters` (that is what the deadlock analysis reads).
/// `timeout_ns` < 0 waits forever. Returns SHAKEDOWN_MUTEX_ACQUIRED(_OWNER_DIED) or -errno.
int shakedown_mutex_lock(shakedown_mutex_record *record, int64_t timeout_ns);
/// Returns 0 or -errno (EPERM: the caller does not own it).
int shakedown_mutex_unlock(shakedown_mutex_record *record);
void shakedown_mutex_destroy(shakedown_mutex_record *record);

#ifdef __cplusplus
}
#endif
#endif
