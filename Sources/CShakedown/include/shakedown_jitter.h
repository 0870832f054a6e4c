#ifndef SHAKEDOWN_JITTER_H
#define SHAKEDOWN_JITTER_H
#include "shakedown_platform.h"

#include <stdint.h>
// Jitter streams and the ambient point live in CShakedownJitter (the ShakedownJitter library); re-exported here.
#include <CShakedownJitter.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

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
/// How many times the preemption interval is doubled `elapsed_ns` after a process's first armed interval: 0 for the
/// first 0.5 s (the full rate), then one more every 0.5 s, at most 6 (so that a long CPU-bound command keeps most of
/// its speed instead of under 10 %).
uint32_t shakedown_preempt_decay_shift(uint64_t elapsed_ns);
/// Timer signals handled so far in this process.
uint64_t shakedown_preempt_fired(void);
/// Of those, the ones that found their thread blocked in a system call: no action, the next interval doubled.
uint64_t shakedown_preempt_fired_blocked(void);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
