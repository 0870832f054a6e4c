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

// Breaking bumps the generation too, so a waiter that checked `broken` just before it was set still wakes.
static inline int released_or_broken(shakedown_barrier *barrier) {
    return LOAD(&barrier->broken) ? SHAKEDOWN_BARRIER_BROKEN : SHAKEDOWN_BARRIER_RELEASED;
}

void shakedown_barrier_init(shakedown_barrier *barrier, uint32_t parties, uint32_t spin_limit) {
    memset(barrier, 0, sizeof(*barrier));
    barrier->parties = parties;
    // Spinning pays only while every party can hold a CPU at once. With more parties than CPUs a spinner takes
    // the CPU from a party still on its way (or from the run leader still forking it): sleep at once instead.
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    barrier->spin_limit = (cpus > 0 && parties > (uint32_t)cpus) ? 0 : spin_limit;
}

int shakedown_barrier_arrive(shakedown_barrier *barrier, int64_t timeout_ns) {
    if (LOAD(&barrier->broken)) return SHAKEDOWN_BARRIER_BROKEN;
    uint32_t generation = LOAD(&barrier->generation);
    uint32_t arrived = __atomic_add_fetch(&barrier->arrived, 1, __ATOMIC_ACQ_REL);
    if (arrived == barrier->parties) return SHAKEDOWN_BARRIER_LAST;

    // Spin first: on an idle core the other party usually arrives within a few hundred nanoseconds,
    // and a futex round trip costs tens of microseconds.
    for (uint32_t spin = 0; spin < barrier->spin_limit; spin++) {
        if (LOAD(&barrier->generation) != generation) return released_or_broken(barrier);
        cpu_relax();
    }
    // Then yield a few times: with more parties than cores the releaser may need this core. Not when the spin
    // limit is 0 ("sleep at once", also what init picks when the parties outnumber the CPUs): each yield is a
    // context switch into a party that may itself only yield back, and it takes the CPU from the run leader
    // while it is still forking workers.
    int yields = barrier->spin_limit > 0 ? 16 : 0;
    for (int round = 0; round < yields; round++) {
        if (LOAD(&barrier->generation) != generation) return released_or_broken(barrier);
        sched_yield();
    }
    int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
    __atomic_add_fetch(&barrier->sleepers, 1, __ATOMIC_ACQ_REL);
    int result = SHAKEDOWN_BARRIER_RELEASED;
    for (;;) {
        if (LOAD(&barrier->generation) != generation) { result = released_or_broken(barrier); break; }
        int64_t remaining = -1;
        if (deadline >= 0) {
            remaining = deadline - monotonic_ns();
            if (remaining <= 0) { result = SHAKEDOWN_BARRIER_TIMED_OUT; break; }
        }
        shakedown_futex_wait(&barrier->generation, generation, remaining);
    }
    __atomic_sub_fetch(&barrier->sleepers, 1, __ATOMIC_ACQ_REL);
    return result;
}

void shakedown_barrier_release(shakedown_barrier *barrier) {
    STORE(&barrier->arrived, 0);
    __atomic_add_fetch(&barrier->generation, 1, __ATOMIC_ACQ_REL);
    // Waking costs a syscall; skip it when everyone is still spinning.
    if (LOAD(&barrier->sleepers) != 0) shakedown_futex_wake(&barrier->generation, INT32_MAX);
}

void shakedown_barrier_break(shakedown_barrier *barrier, uint32_t worker_index) {
    uint32_t none = 0;
    __atomic_compare_exchange_n(&barrier->broken, &none, worker_index + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    __atomic_add_fetch(&barrier->generation, 1, __ATOMIC_ACQ_REL);
    shakedown_futex_wake(&barrier->generation, INT32_MAX);
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
        pthread_mutex_consistent(&record->mutex);
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
