#define _GNU_SOURCE
#include "shakedown_jitter.h"
#include "shakedown_preempt_core.h"

// MARK: preemption in this process

int shakedown_preempt_signal(void) { return SIGRTMAX - 2; }

int shakedown_preempt_install(uint64_t seed, uint64_t max_interval_ns, uint32_t yield_weight, uint32_t sleep_weight,
                              uint32_t spin_weight, uint64_t max_sleep_ns, uint64_t max_spin, int *error) {
    sp_config config = {seed, max_interval_ns, yield_weight, sleep_weight, spin_weight, max_sleep_ns, max_spin,
                        shakedown_preempt_signal()};
    sp_real_sigaction = sigaction;
    return sp_install(&config, error);
}

int shakedown_preempt_arm_current_thread(void) { return sp_arm_thread(); }

void shakedown_preempt_stop(void) { sp_step_aside(); }

uint32_t shakedown_preempt_decay_shift(uint64_t elapsed_ns) { return sp_decay_shift_after(elapsed_ns); }

uint64_t shakedown_preempt_fired(void) { return __atomic_load_n(&sp_fired, __ATOMIC_RELAXED); }

uint64_t shakedown_preempt_fired_blocked(void) { return __atomic_load_n(&sp_fired_blocked, __ATOMIC_RELAXED); }
