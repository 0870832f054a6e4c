#ifndef SHAKEDOWN_JITTER_H
#define SHAKEDOWN_JITTER_H

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

// MARK: preemption in this process (closure workers); exec'd commands get the same code from the preload library

/// The real-time signal preemption timers use: SIGRTMAX - 2.
int shakedown_preempt_signal(void);
/// Installs the timer signal's handler (SA_RESTART) and arms a one-shot per-thread timer for the calling thread; each
/// expiry yields, sleeps (< max_sleep_ns) or spins (< max_spin) by weight and re-arms within max_interval_ns.
/// Returns 0 when armed, 1 when the signal already has a handler (Shakedown steps aside), 2 on failure with the
/// errno in *error.
int shakedown_preempt_install(uint64_t seed, uint64_t max_interval_ns, uint32_t yield_weight, uint32_t sleep_weight,
                              uint32_t spin_weight, uint64_t max_sleep_ns, uint64_t max_spin, int *error);
/// Arms a timer for the calling thread (after install). Returns 0 or an errno value.
int shakedown_preempt_arm_current_thread(void);
/// Disarms every timer for good (the handler stays, ignoring stray expiries).
void shakedown_preempt_stop(void);
/// Timer signals handled so far in this process.
uint64_t shakedown_preempt_fired(void);
/// Of those, the ones that found their thread blocked in a system call: no action, the next interval doubled.
uint64_t shakedown_preempt_fired_blocked(void);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
