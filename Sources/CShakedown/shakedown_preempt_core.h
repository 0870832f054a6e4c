// Preemption at arbitrary instructions: a one-shot per-thread timer (CLOCK_MONOTONIC, SIGEV_THREAD_ID) on a
// real-time signal whose handler yields, sleeps or spins, then re-arms the timer with a new seeded interval.
//
// Header-only and `static`, so the in-process installer (CShakedown, closure workers) and the preload library
// (CShakedownPreempt, exec'd commands) compile the same code without sharing symbols. Everything the handler calls is
// async-signal-safe: raw syscalls, no locks, no allocation; errno is preserved.
#ifndef SHAKEDOWN_PREEMPT_CORE_H
#define SHAKEDOWN_PREEMPT_CORE_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SP_MAX_TIMERS 4096

typedef struct sp_config {
    uint64_t seed;
    uint64_t max_interval_ns;  // each interval is uniform in 1 µs ..< this
    uint32_t yield_weight, sleep_weight, spin_weight;
    uint64_t max_sleep_ns;
    uint64_t max_spin;
    int signal;
} sp_config;

typedef int (*sp_sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static sp_config sp_cfg;
static sp_sigaction_fn sp_real_sigaction;
static int sp_active;                  // atomic: 1 while timers re-arm; 0 after stepping aside
static uint32_t sp_thread_order;       // atomic: order of first arming
static int sp_timers[SP_MAX_TIMERS];   // kernel timer ids, so stepping aside can disarm every thread's timer
static uint32_t sp_timer_count;        // atomic
static uint64_t sp_fired;              // atomic: signals handled
static pthread_key_t sp_key;

static __thread __attribute__((tls_model("initial-exec"))) struct {
    uint64_t state;
    int timer;
    int armed;
} sp_thread;

static inline uint64_t sp_next(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void sp_set_timer(int timer, uint64_t ns) {
    struct itimerspec when;
    memset(&when, 0, sizeof when);
    when.it_value.tv_sec = (time_t)(ns / 1000000000ull);
    when.it_value.tv_nsec = (long)(ns % 1000000000ull);
    syscall(SYS_timer_settime, timer, 0, &when, (struct itimerspec *)0);
}

static inline void sp_rearm(void) {
    uint64_t span = sp_cfg.max_interval_ns > 1000 ? sp_cfg.max_interval_ns - 1000 : 1;
    sp_set_timer(sp_thread.timer, 1000 + sp_next(&sp_thread.state) % span);
}

static inline void sp_act(void) {
    uint64_t total = (uint64_t)sp_cfg.yield_weight + sp_cfg.sleep_weight + sp_cfg.spin_weight;
    if (total == 0) return;
    uint64_t pick = sp_next(&sp_thread.state) % total;
    uint64_t amount = sp_next(&sp_thread.state);
    if (pick < sp_cfg.yield_weight) {
        syscall(SYS_sched_yield);
    } else if (pick < (uint64_t)sp_cfg.yield_weight + sp_cfg.sleep_weight) {
        uint64_t ns = 1000 + amount % (sp_cfg.max_sleep_ns > 1000 ? sp_cfg.max_sleep_ns - 999 : 1);
        struct timespec pause = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
        syscall(SYS_nanosleep, &pause, (struct timespec *)0);
    } else {
        uint64_t spins = amount % (sp_cfg.max_spin ? sp_cfg.max_spin : 1);
        for (uint64_t i = 0; i < spins; i++) __asm__ __volatile__("" ::: "memory");
    }
}

static void sp_handler(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    // Only our own timer's expiry: anything else sent on this signal is ignored rather than misread.
    if (info->si_code != SI_TIMER || !sp_thread.armed || info->si_timerid != sp_thread.timer) return;
    int saved = errno;
    __atomic_fetch_add(&sp_fired, 1, __ATOMIC_RELAXED);
    sp_act();
    if (__atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) sp_rearm();
    errno = saved;
}

static void sp_forget_thread(void *unused) {
    (void)unused;
    if (sp_thread.armed) {
        sp_thread.armed = 0;
        syscall(SYS_timer_delete, sp_thread.timer);
    }
}

/// Arms a timer for the calling thread. Returns 0, or an errno value.
static inline int sp_arm_thread(void) {
    if (!__atomic_load_n(&sp_active, __ATOMIC_ACQUIRE) || sp_thread.armed) return 0;
    uint32_t order = __atomic_fetch_add(&sp_thread_order, 1, __ATOMIC_RELAXED);
    uint64_t mixer = sp_cfg.seed ^ (0x9E3779B97F4A7C15ull * ((uint64_t)order + 1));
    sp_thread.state = sp_next(&mixer);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = sp_cfg.signal;
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    int timer = -1;
    if (syscall(SYS_timer_create, CLOCK_MONOTONIC, &event, &timer) != 0) return errno;
    uint32_t slot = __atomic_fetch_add(&sp_timer_count, 1, __ATOMIC_RELAXED);
    if (slot < SP_MAX_TIMERS) __atomic_store_n(&sp_timers[slot], timer, __ATOMIC_RELAXED);
    sp_thread.timer = timer;
    sp_thread.armed = 1;
    pthread_setspecific(sp_key, (void *)1);  // so the destructor deletes the timer when the thread ends
    sp_rearm();
    return 0;
}

/// Stops every thread's timer for good: the code under test takes the signal.
static inline void sp_step_aside(void) {
    if (!__atomic_exchange_n(&sp_active, 0, __ATOMIC_ACQ_REL)) return;
    uint32_t count = __atomic_load_n(&sp_timer_count, __ATOMIC_RELAXED);
    if (count > SP_MAX_TIMERS) count = SP_MAX_TIMERS;
    for (uint32_t i = 0; i < count; i++) sp_set_timer(__atomic_load_n(&sp_timers[i], __ATOMIC_RELAXED), 0);
}

/// Statuses of sp_install.
enum { SP_ARMED = 0, SP_SIGNAL_TAKEN = 1, SP_FAILED = 2 };

/// Installs the handler and arms the calling thread. Steps aside (SP_SIGNAL_TAKEN) when the signal already has a
/// handler or is ignored. `*error` gets the errno of a failure.
static inline int sp_install(const sp_config *config, int *error) {
    *error = 0;
    sp_cfg = *config;
    struct sigaction existing;
    if (sp_real_sigaction(sp_cfg.signal, 0, &existing) != 0) {
        *error = errno;
        return SP_FAILED;
    }
    int has_handler = (existing.sa_flags & SA_SIGINFO) ? existing.sa_sigaction != 0
                                                       : existing.sa_handler != SIG_DFL;
    if (has_handler && existing.sa_sigaction != sp_handler) return SP_SIGNAL_TAKEN;
    static int key_made;
    if (!key_made) {
        if ((*error = pthread_key_create(&sp_key, sp_forget_thread)) != 0) return SP_FAILED;
        key_made = 1;
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = sp_handler;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sp_real_sigaction(sp_cfg.signal, &action, 0) != 0) {
        *error = errno;
        return SP_FAILED;
    }
    __atomic_store_n(&sp_active, 1, __ATOMIC_RELEASE);
    if ((*error = sp_arm_thread()) != 0) {
        __atomic_store_n(&sp_active, 0, __ATOMIC_RELEASE);
        return SP_FAILED;
    }
    return SP_ARMED;
}

/// In a fork child: timers are not inherited, so forget the parent's and arm this thread afresh.
static inline void sp_after_fork_in_child(void) {
    sp_thread.armed = 0;
    __atomic_store_n(&sp_timer_count, 0, __ATOMIC_RELAXED);
    sp_arm_thread();
}

#endif
