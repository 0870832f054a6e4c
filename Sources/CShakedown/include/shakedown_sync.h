#ifndef SHAKEDOWN_SYNC_H
#define SHAKEDOWN_SYNC_H
#include "shakedown_platform.h"

#include <stdint.h>
#include <pthread.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

// MARK: futex

/// Sleeps while `*address == expected`, at most `timeout_ns` nanoseconds (negative: no limit).
/// Returns 0 when woken, or -1 with errno (EAGAIN: value differed, ETIMEDOUT, EINTR).
int shakedown_futex_wait(uint32_t *address, uint32_t expected, int64_t timeout_ns);
/// Wakes up to `count` waiters on `address`. Returns the number woken, or -1 with errno.
int shakedown_futex_wake(uint32_t *address, int count);

// MARK: barrier (lives in MAP_SHARED memory; spins, then sleeps on a futex)

typedef struct shakedown_barrier {
    uint32_t parties;
    uint32_t spin_limit;
    // atomic; one word so that arriving, timing out and releasing are each one atomic step. Low 32 bits: the
    // generation (the futex word; bit 31 set once the barrier is broken), high 32 bits: parties arrived.
    uint64_t state;
    uint32_t broken;      // atomic; nonzero: 1 + index of the worker that broke it
    uint32_t sleepers;    // atomic; waiters currently in futex_wait
} shakedown_barrier;

enum {
    SHAKEDOWN_BARRIER_RELEASED = 0,  ///< everyone arrived; go on
    SHAKEDOWN_BARRIER_LAST = 1,      ///< caller arrived last: run the round action, then call release
    SHAKEDOWN_BARRIER_BROKEN = 2,    ///< a party left for good; nobody will release this generation
    SHAKEDOWN_BARRIER_TIMED_OUT = 3,
};

/// `spin_limit` is dropped to 0 when `parties` exceeds the online CPUs (spinners would only delay the others).
void shakedown_barrier_init(shakedown_barrier *barrier, uint32_t parties, uint32_t spin_limit);
/// Arrives; waits (spinning first) until the last party releases or the barrier breaks. A waiter whose generation
/// was released before the barrier broke gets RELEASED, never BROKEN. A waiter that times out withdraws its
/// arrival, so the next generation still needs every party.
int shakedown_barrier_arrive(shakedown_barrier *barrier, int64_t timeout_ns);
/// Called by the party that got SHAKEDOWN_BARRIER_LAST, after its round action.
void shakedown_barrier_release(shakedown_barrier *barrier);
/// Marks the barrier broken by `worker_index` and wakes every waiter. Idempotent; the first breaker is kept.
void shakedown_barrier_break(shakedown_barrier *barrier, uint32_t worker_index);

// MARK: the deliberately racy access (opaque: the optimizer cannot fold load+store into an atomic add)

int64_t shakedown_racy_load(const volatile int64_t *address);
void shakedown_racy_store(volatile int64_t *address, int64_t value);

// MARK: atomics on shared memory (inline: these are the fast path)

static inline int64_t shakedown_atomic_load(int64_t *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}
static inline void shakedown_atomic_store(int64_t *address, int64_t value) {
    __atomic_store_n(address, value, __ATOMIC_SEQ_CST);
}
static inline int64_t shakedown_atomic_fetch_add(int64_t *address, int64_t delta) {
    return __atomic_fetch_add(address, delta, __ATOMIC_SEQ_CST);
}
static inline int32_t shakedown_atomic_load32(int32_t *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}
static inline uint32_t shakedown_atomic_load_u32(uint32_t *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}
static inline void shakedown_atomic_store_u32(uint32_t *address, uint32_t value) {
    __atomic_store_n(address, value, __ATOMIC_SEQ_CST);
}
static inline uint64_t shakedown_atomic_load_u64(uint64_t *address) {
    return __atomic_load_n(address, __ATOMIC_SEQ_CST);
}
static inline void shakedown_atomic_store_u64(uint64_t *address, uint64_t value) {
    __atomic_store_n(address, value, __ATOMIC_SEQ_CST);
}

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
int shakedown_mutex_init(shakedown_mutex_record *record, const char *_Nullable name);
/// Locks; while blocked the caller is listed in `waiters` (that is what the deadlock analysis reads).
/// `timeout_ns` < 0 waits forever. Returns SHAKEDOWN_MUTEX_ACQUIRED(_OWNER_DIED) or -errno.
int shakedown_mutex_lock(shakedown_mutex_record *record, int64_t timeout_ns);
/// Returns 0 or -errno (EPERM: the caller does not own it).
int shakedown_mutex_unlock(shakedown_mutex_record *record);
void shakedown_mutex_destroy(shakedown_mutex_record *record);

// MARK: the run's control block (MAP_SHARED; read by forked workers and by exec'd cooperative commands)

#define SHAKEDOWN_RUN_MAGIC 0x5348414B52554E32ULL  // "SHAKRUN2"
#define SHAKEDOWN_MAX_OBSERVED 8
#define SHAKEDOWN_HISTOGRAM_BUCKETS 256

/// Per-round increments of one observed counter: buckets[d] counts rounds whose increment was d.
typedef struct shakedown_observation {
    int64_t last_value;
    uint64_t rounds;
    uint64_t below_zero;  // rounds whose delta was negative
    uint64_t overflow;    // rounds whose delta was >= SHAKEDOWN_HISTOGRAM_BUCKETS
    uint64_t buckets[SHAKEDOWN_HISTOGRAM_BUCKETS];
} shakedown_observation;

typedef struct shakedown_worker_slot {
    int32_t pid;          // the worker (or shepherd) process
    int32_t command_pid;  // for command workers: the exec'd command
    uint64_t rounds_completed;
    uint32_t children_left;  // set by the worker as it exits: 1 + children it left running; 0: it did not say
    // Set by a command's shepherd once it reaped the command. Kept here, not only on the result channel, because
    // the command writes to that channel too and garbage from it would hide the shepherd's later messages.
    uint32_t command_exited;
    int32_t command_status;  // the command's wait status, valid once command_exited is 1
    uint32_t reserved;
    // A small per-round result the body recorded (Worker.record): valid for round `result_round - 1`.
    int64_t round_result;
    uint64_t result_round;
    // 1 + the round whose judge closure (after-round outcome or before-round reset) this worker is running as the
    // barrier's last arrival; 0 when none. Tells a crash in a judge closure from a crash in the body.
    uint64_t judging_round;
} shakedown_worker_slot;

typedef struct shakedown_run_control {
    uint64_t magic;
    uint32_t processes;
    uint32_t observed_count;
    uint64_t rounds;
    uint64_t seed;
    shakedown_barrier start_gate;    // command shepherds: start the copies together
    shakedown_barrier round_barrier; // bodies: one arrival per round
    int64_t counters[SHAKEDOWN_MAX_OBSERVED];  // run-owned counters, for cooperative commands
    shakedown_mutex_record mutex;              // run-owned lock, for cooperative commands
    shakedown_observation observations[SHAKEDOWN_MAX_OBSERVED];
    // Set (to 1 + the round) by the judge when a forbidden outcome ends the run early; every worker leaves after
    // the barrier that saw it.
    uint64_t stop_after_round;
    shakedown_worker_slot workers[];
} shakedown_run_control;

/// Bytes needed for a control block with `processes` worker slots.
static inline uint64_t shakedown_run_control_size(uint32_t processes) {
    return sizeof(shakedown_run_control) + (uint64_t)processes * sizeof(shakedown_worker_slot);
}
static inline shakedown_worker_slot *shakedown_run_worker(shakedown_run_control *control, uint32_t index) {
    return &control->workers[index];
}
static inline shakedown_barrier *shakedown_run_round_barrier(shakedown_run_control *control) {
    return &control->round_barrier;
}
static inline shakedown_barrier *shakedown_run_start_gate(shakedown_run_control *control) {
    return &control->start_gate;
}
static inline shakedown_mutex_record *shakedown_run_mutex(shakedown_run_control *control) {
    return &control->mutex;
}
static inline int64_t *shakedown_run_counter(shakedown_run_control *control, uint32_t index) {
    return &control->counters[index];
}
static inline shakedown_observation *shakedown_run_observation(shakedown_run_control *control, uint32_t index) {
    return &control->observations[index];
}
/// Records one round of an observed counter whose value is now `value`; the first call only sets the baseline.
static inline void shakedown_observation_record(shakedown_observation *observation, int64_t value, int baseline) {
    if (!baseline) {
        int64_t delta = value - observation->last_value;
        observation->rounds += 1;
        if (delta < 0) observation->below_zero += 1;
        else if (delta >= SHAKEDOWN_HISTOGRAM_BUCKETS) observation->overflow += 1;
        else observation->buckets[delta] += 1;
    }
    observation->last_value = value;
}
static inline uint64_t shakedown_observation_bucket(const shakedown_observation *observation, uint32_t delta) {
    return delta < SHAKEDOWN_HISTOGRAM_BUCKETS ? observation->buckets[delta] : 0;
}

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif
#endif
