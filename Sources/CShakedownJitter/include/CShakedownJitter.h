#ifndef CSHAKEDOWN_JITTER_H
#define CSHAKEDOWN_JITTER_H

// The C half of ShakedownJitter: per-thread decision streams and the ambient root `Jitter.point()` reads. Plain C11
// (atomics, thread-locals, sched_yield, nanosleep): nothing here needs Linux, libunwind or ptrace.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

// MARK: jitter points: one decision stream per thread

/// A jitter source's shared part: the plan, the seed, and the list of per-thread streams. Thread-safe: each thread
/// that reaches a point gets its own stream (seeded from the root's seed and the thread's order of first use), so no
/// two threads ever touch the same generator.
typedef struct shakedown_jitter_root shakedown_jitter_root;

/// Creates a root. `threshold`: a point acts when a draw is <= it (UINT64_MAX: always). Weights pick yield, sleep
/// or spin; `max_sleep_us` >= 1, `max_spin` >= 1. Returns NULL when out of memory.
shakedown_jitter_root *_Nullable shakedown_jitter_root_create(uint64_t seed, uint64_t threshold, uint32_t yield_weight,
                                                              uint32_t sleep_weight, uint32_t spin_weight,
                                                              uint64_t max_sleep_us, uint64_t max_spin);
/// Frees the root and its streams. No thread may be inside a point of this root.
void shakedown_jitter_root_destroy(shakedown_jitter_root *root);
/// A point: the calling thread's stream decides whether to yield, sleep or spin.
void shakedown_jitter_point(shakedown_jitter_root *root);
/// Points reached, points that acted, summed over threads (exact once the threads are done).
uint64_t shakedown_jitter_points(const shakedown_jitter_root *root);
uint64_t shakedown_jitter_actions(const shakedown_jitter_root *root);
/// Threads that reached a point of this root.
uint32_t shakedown_jitter_threads(const shakedown_jitter_root *root);
/// The digest of every decision: thread 0's digest when one thread ran, else an FNV-1a fold of each thread's digest
/// in order of first use.
uint64_t shakedown_jitter_digest(const shakedown_jitter_root *root);
/// Spins `iterations` times; the loop has a compiler barrier in it, so no optimizer can fold it away.
void shakedown_jitter_spin(uint64_t iterations);

// MARK: the ambient point (what `Jitter.point()` reads): one relaxed load and one branch when disabled

extern shakedown_jitter_root *_Nullable shakedown_jitter_ambient_root;

static inline __attribute__((always_inline)) void shakedown_jitter_ambient_point(void) {
    shakedown_jitter_root *root = __atomic_load_n(&shakedown_jitter_ambient_root, __ATOMIC_RELAXED);
    if (__builtin_expect(root != 0, 0)) shakedown_jitter_point(root);
}

/// Whether ambient points act in this process.
static inline int shakedown_jitter_ambient_is_set(void) {
    return __atomic_load_n(&shakedown_jitter_ambient_root, __ATOMIC_RELAXED) != 0;
}

/// Sets (or clears, with NULL) the root ambient points draw from in this process.
void shakedown_jitter_set_ambient(shakedown_jitter_root *_Nullable root);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
