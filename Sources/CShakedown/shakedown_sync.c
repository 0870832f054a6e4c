#define _GNU_SOURCE
#include "shakedown_sync.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// MARK: futex

int shakedown_futex_wait(uint32_t *address, uint32_t expected, int64_t timeout_ns) {
    struct timespec relative;
    struct timespec *timeout = NULL;
    if (timeout_ns >= 0) {
        relative.tv_sec = (time_t)(timeout_ns / 1000000000);
        relative.tv_nsec = (long)(timeout_ns % 1000000000);
        timeout = &relative;
    }
    // Not FUTEX_PRIVATE: the word lives in MAP_SHARED memory seen by several processes.
    return (int)syscall(SYS_futex, address, FUTEX_WAIT, expected, timeout, NULL, 0);
}

int shakedown_futex_wake(uint32_t *address, int count) {
    return (int)syscall(SYS_futex, address, FUTEX_WAKE, count, NULL, NULL, 0);
}

// MARK: barrier

#define LOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

#define BROKEN_BIT 0x80000000u
#define GENERATION_MASK 0x7FFFFFFFu
#define ONE_ARRIVAL ((uint64_t)1 << 32)

static inline uint32_t generation_of(uint64_t state) { return (uint32_t)state; }
static inline uint32_t arrived_of(uint64_t state) { return (uint32_t)(state >> 32); }

// The futex word is the generation half of `state`.
static inline uint32_t *generation_word(shakedown_barrier *barrier) {
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint32_t *)&barrier->state + 1;
#else
    return (uint32_t *)&barrier->state;
#endif
}

// What a waiter of generation `mine` was told: a newer generation means it was released (even if the barrier
// broke afterwards: a party that left after a normal release must not undo it); the same generation with the
// broken bit means it broke while this generation was waiting.
static inline int outcome_for(uint32_t word, uint32_t mine) {
    return (word & GENERATION_MASK) != mine ? SHAKEDOWN_BARRIER_RELEASED : SHAKEDOWN_BARRIER_BROKEN;
}

// The number of CPUs this process may run on (affinity), not the machine's: spinning pays only while every
// party can hold one at once.
static long usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
    return sysconf(_SC_NPROCESSORS_ONLN);
}

void shakedown_barrier_init(shakedown_barrier *barrier, uint32_t parties, uint32_t spin_limit) {
    memset(barrier, 0, sizeof(*barrier));
    barrier->parties = parties;
    // With more parties than CPUs a spinner takes the CPU from a party still on its way (or from the run leader
    // still forking it): sleep at once instead.
    long cpus = usable_cpus();
    barrier->spin_limit = (cpus > 0 && parties > (uint32_t)cpus) ? 0 : spin_limit;
}

// Takes back an arrival that timed out, unless the generation was released or is being released (everyone
// arrived: the last party is running its action), in which case the caller keeps waiting.
static int withdraw(shakedown_barrier *barrier, uint32_t mine) {
    uint64_t state = LOAD(&barrier->state);
    for (;;) {
        uint32_t word = generation_of(state);
        if (word != mine) return outcome_for(word, mine);
        if (arrived_of(state) >= barrier->parties) return -1;
        if (__atomic_compare_exchange_n(&barrier->state, &state, state - ONE_ARRIVAL, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return SHAKEDOWN_BARRIER_TIMED_OUT;
    }
}

int shakedown_barrier_arrive(shakedown_barrier *barrier, int64_t timeout_ns) {
    uint64_t state = LOAD(&barrier->state);
    uint32_t mine;
    for (;;) {
        mine = generation_of(state);
        if (mine & BROKEN_BIT) return SHAKEDOWN_BARRIER_BROKEN;
        if (__atomic_compare_exchange_n(&barrier->state, &state, state + ONE_ARRIVAL, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    if (arrived_of(state) + 1 == barrier->parties) return SHAKEDOWN_BARRIER_LAST;
    uint32_t *word = generation_word(barrier);

    // Spin first: on an idle core the other party usually arrives within a few hundred nanoseconds,
    // and a futex round trip costs tens of microseconds.
    for (uint32_t spin = 0; spin < barrier->spin_limit; spin++) {
        uint32_t now = LOAD(word);
        if (now != mine) return outcome_for(now, mine);
        cpu_relax();
    }
    // Then yield a few times: with more parties than cores the releaser may need this core. Not when the spin
    // limit is 0 ("sleep at once", also what init picks when the parties outnumber the CPUs): each yield is a
    // context switch into a party that may itself only yield back, and it takes the CPU from the run leader
    // while it is still forking workers.
    int yields = barrier->spin_limit > 0 ? 16 : 0;
    for (int round = 0; round < yields; round++) {
        uint32_t now = LOAD(word);
        if (now != mine) return outcome_for(now, mine);
        sched_yield();
    }
    int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
    __atomic_add_fetch(&barrier->sleepers, 1, __ATOMIC_ACQ_REL);
    int result;
    for (;;) {
        uint32_t now = LOAD(word);
        if (now != mine) { result = outcome_for(now, mine); break; }
        int64_t remaining = -1;
        if (deadline >= 0) {
            remaining = deadline - monotonic_ns();
            if (remaining <= 0) {
                result = withdraw(barrier, mine);
                if (result >= 0) break;
                deadline = -1;  // the release is under way: wait for it
                remaining = -1;
            }
        }
        shakedown_futex_wait(word, mine, remaining);
    }
    __atomic_sub_fetch(&barrier->sleepers, 1, __ATOMIC_ACQ_REL);
    return result;
}

void shakedown_barrier_release(shakedown_barrier *barrier) {
    uint64_t state = LOAD(&barrier->state);
    for (;;) {
        uint32_t word = generation_of(state);
        // Keep the broken bit if a party broke the barrier during the round action; the next arrival sees it.
        uint32_t next = (word & BROKEN_BIT) | (((word & GENERATION_MASK) + 1) & GENERATION_MASK);
        if (__atomic_compare_exchange_n(&barrier->state, &state, (uint64_t)next, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    // Waking costs a syscall; skip it when everyone is still spinning.
    if (LOAD(&barrier->sleepers) != 0) shakedown_futex_wake(generation_word(barrier), INT32_MAX);
}

void shakedown_barrier_break(shakedown_barrier *barrier, uint32_t worker_index) {
    uint32_t none = 0;
    __atomic_compare_exchange_n(&barrier->broken, &none, worker_index + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    __atomic_fetch_or(&barrier->state, (uint64_t)BROKEN_BIT, __ATOMIC_ACQ_REL);
    shakedown_futex_wake(generation_word(barrier), INT32_MAX);
}

// MARK: racy access

__attribute__((noinline)) int64_t shakedown_racy_load(const volatile int64_t *address) {
    return *address;
}

__attribute__((noinline)) void shakedown_racy_store(volatile int64_t *address, int64_t value) {
    *address = value;
}

// MARK: robust mutex

int shakedown_mutex_init(shakedown_mutex_record *record, const char *name) {
    memset(record, 0, sizeof(*record));
    record->magic = SHAKEDOWN_MUTEX_MAGIC;
    record->version = 1;
    if (name) strncpy(record->name, name, SHAKEDOWN_MUTEX_NAME_CAPACITY - 1);
    pthread_mutexattr_t attributes;
    int error = pthread_mutexattr_init(&attributes);
    if (error) return error;
    if (!error) error = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    if (!error) error = pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    if (!error) error = pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_ERRORCHECK);
    if (!error) error = pthread_mutex_init(&record->mutex, &attributes);
    pthread_mutexattr_destroy(&attributes);
    return error;
}

static int claim_waiter_slot(shakedown_mutex_record *record, int32_t pid, int32_t tid) {
    for (int slot = 0; slot < SHAKEDOWN_MUTEX_WAITER_CAPACITY; slot++) {
        int32_t free_pid = 0;
        if (__atomic_compare_exchange_n(&record->waiters[slot].pid, &free_pid, pid, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            STORE(&record->waiters[slot].tid, tid);
            return slot;
        }
    }
    return -1;  // table full: the wait is not recorded, the lock still works
}

int shakedown_mutex_lock(shakedown_mutex_record *record, int64_t timeout_ns) {
    int32_t pid = (int32_t)getpid();
    int32_t tid = (int32_t)gettid();
    int error = pthread_mutex_trylock(&record->mutex);
    if (error == EBUSY) {
        int slot = claim_waiter_slot(record, pid, tid);
        if (timeout_ns < 0) {
            error = pthread_mutex_lock(&record->mutex);
        } else {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            int64_t nanoseconds = deadline.tv_nsec + timeout_ns % 1000000000;
            deadline.tv_sec += (time_t)(timeout_ns / 1000000000 + nanoseconds / 1000000000);
            deadline.tv_nsec = (long)(nanoseconds % 1000000000);
            error = pthread_mutex_timedlock(&record->mutex, &deadline);
        }
        if (slot >= 0) {
            STORE(&record->waiters[slot].tid, 0);
            STORE(&record->waiters[slot].pid, 0);
        }
    }
    int result = SHAKEDOWN_MUTEX_ACQUIRED;
    if (error == EOWNERDEAD) {
        int repaired = pthread_mutex_consistent(&record->mutex);
        if (repaired != 0) {
            // Still inconsistent: hand it back rather than claim a lock that the next locker would find broken.
            pthread_mutex_unlock(&record->mutex);
            return -repaired;
        }
        __atomic_add_fetch(&record->owner_died_count, 1, __ATOMIC_ACQ_REL);
        result = SHAKEDOWN_MUTEX_ACQUIRED_OWNER_DIED;
    } else if (error != 0) {
        return -error;
    }
    STORE(&record->owner_pid, pid);
    STORE(&record->owner_tid, tid);
    __atomic_add_fetch(&record->acquisitions, 1, __ATOMIC_ACQ_REL);
    return result;
}

int shakedown_mutex_unlock(shakedown_mutex_record *record) {
    int32_t owner = LOAD(&record->owner_tid);
    if (owner != (int32_t)gettid()) return -EPERM;
    STORE(&record->owner_tid, 0);
    STORE(&record->owner_pid, 0);
    int error = pthread_mutex_unlock(&record->mutex);
    if (error) {
        // Put the record back the way it was: the caller still owns the mutex.
        STORE(&record->owner_pid, (int32_t)getpid());
        STORE(&record->owner_tid, owner);
        return -error;
    }
    return 0;
}

void shakedown_mutex_destroy(shakedown_mutex_record *record) {
    pthread_mutex_destroy(&record->mutex);
    record->magic = 0;
}
