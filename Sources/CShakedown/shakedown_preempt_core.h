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
#include <ucontext.h>
#include <unistd.h>

#define SP_MAX_TIMERS 4096
// A thread found blocked in the kernel is not preempted again before 2^k intervals (k consecutive blocked
// expiries), at most SP_MAX_BACKOFF_SHIFT doublings: a timer on CLOCK_MONOTONIC keeps firing while its thread sleeps
// in a futex, poll or read, and at 1-10 µs that was a signal storm (hundreds of thousands of wake-ups a second per
// waiting thread, each a VM exit here) that starved the threads that held the locks. 2^5 was not far enough for
// programs with many idle threads: 25 per JVM, 4 `java` copies took 24 s instead of 0.6 s and 8 copies ran past the
// 60 s deadline ("hung", 1 s without preemption); with 2^10 (an idle thread woken every 1-30 ms) 8 copies took 9 s
// (Fixtures/idle-threads: 16 threads waiting 500 ms took 14,820 expiries, now some 700). A thread woken after a long
// wait is preempted again once its backed-off timer fires (at most ~30 ms), at the full rate from then on.
#define SP_MAX_BACKOFF_SHIFT 10
// The full rate lasts SP_FULL_RATE_NS from a process's first timer; then the intervals double every SP_DECAY_STEP_NS,
// at most SP_MAX_DECAY_SHIFT times (64 × 30 µs ≈ 2 ms). At the full rate a CPU-bound loop keeps under 10 % of its
// speed (scripts/benchmark-preempt-cost.sh), so a command with 5 s of work took over a minute, ran into the run's
// timeout and was judged hung. The race catalogue's trials last 7-250 ms, inside the full-rate window, and most races
// of short programs happen while the copies start together; a long command is still preempted, less densely.
#define SP_FULL_RATE_NS 500000000ull
#define SP_DECAY_STEP_NS 500000000ull
#define SP_MAX_DECAY_SHIFT 6

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
static uint64_t sp_fired_blocked;      // atomic: of those, found the thread blocked in a system call (no action)
static pthread_key_t sp_key;
// Called by the handler for a signal on the timer's number that no timer sent (kill, sigqueue, tgkill), or NULL to
// ignore those. The preload library applies the default action the command would have met without it.
static void (*sp_foreign_signal)(int signal, siginfo_t *info);
static int sp_defer_first;             // 1: arming creates the timer but does not start it (the preload's start gate)
static uint64_t sp_started_ns;         // atomic: CLOCK_MONOTONIC of the process's first armed interval, 0 before

static __thread __attribute__((tls_model("initial-exec"))) struct {
    uint64_t state;
    int timer;
    int armed;
    uint32_t backoff;  // consecutive expiries that found the thread blocked in a system call
    int waiting;       // in a call the preload library holds the signal around: an expiry taken as it ends was held
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

static inline uint64_t sp_now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe (POSIX), a vDSO call on Linux
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

/// Doublings of the interval `elapsed_ns` after the process's first armed interval (SP_FULL_RATE_NS).
static inline uint32_t sp_decay_shift_after(uint64_t elapsed_ns) {
    if (elapsed_ns < SP_FULL_RATE_NS) return 0;
    uint64_t steps = 1 + (elapsed_ns - SP_FULL_RATE_NS) / SP_DECAY_STEP_NS;
    return steps < SP_MAX_DECAY_SHIFT ? (uint32_t)steps : SP_MAX_DECAY_SHIFT;
}

static inline uint32_t sp_decay_shift(void) {
    uint64_t now = sp_now_ns();
    uint64_t started = __atomic_load_n(&sp_started_ns, __ATOMIC_RELAXED);
    if (started == 0) {
        uint64_t expected = 0;
        __atomic_compare_exchange_n(&sp_started_ns, &expected, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        return 0;
    }
    return sp_decay_shift_after(now > started ? now - started : 0);
}

static inline void sp_rearm(void) {
    uint64_t span = sp_cfg.max_interval_ns > 1000 ? sp_cfg.max_interval_ns - 1000 : 1;
    uint32_t shift = sp_thread.backoff < SP_MAX_BACKOFF_SHIFT ? sp_thread.backoff : SP_MAX_BACKOFF_SHIFT;
    sp_set_timer(sp_thread.timer, (1000 + sp_next(&sp_thread.state) % span) << (shift + sp_decay_shift()));
}

/// Whether the signal interrupted a system call rather than user code: the thread was blocked (a futex, poll, read,
/// sleep) or about to enter the kernel. The kernel leaves the instruction pointer on the `syscall` instruction when it
/// restarts the call (SA_RESTART), or just past it with -EINTR in the result register when it does not (poll, futex
/// with a timeout, nanosleep). A call that completed (pread returned its bytes) is not blocked: preempting right
/// after it is what finds read-modify-write races through files, so it gets the action.
static inline int sp_interrupted_blocked(const void *context) {
#if defined(__x86_64__)
    const ucontext_t *uc = (const ucontext_t *)context;
    const unsigned char *ip = (const unsigned char *)uc->uc_mcontext.gregs[REG_RIP];
    long long result = (long long)uc->uc_mcontext.gregs[REG_RAX];
    if (!ip) return 0;
    // ip[0] is the start of a valid instruction, so when it is 0x0f its second byte is mapped too.
    if (ip[0] == 0x0f && ip[1] == 0x05) return 1;
    // ip[-2] is read only within ip's page (the bytes before a function's first page may not be mapped).
    if (((uintptr_t)ip & 4095) >= 2 && ip[-2] == 0x0f && ip[-1] == 0x05 && result == -EINTR) return 1;
    return 0;
#elif defined(__aarch64__)
    const ucontext_t *uc = (const ucontext_t *)context;
    const uint32_t *pc = (const uint32_t *)uc->uc_mcontext.pc;
    long long result = (long long)uc->uc_mcontext.regs[0];
    if (!pc || ((uintptr_t)pc & 3)) return 0;
    if (pc[0] == 0xd4000001u) return 1;  // svc #0, restarted
    if (((uintptr_t)pc & 4095) >= 4 && pc[-1] == 0xd4000001u && result == -EINTR) return 1;
    return 0;
#else
    (void)context;
    return 0;
#endif
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
    // Only our own timer's expiry acts; a signal someone sent goes to sp_foreign_signal (or is ignored), and a stale
    // expiry (a timer of a thread that ended) is ignored.
    if (info->si_code != SI_TIMER) {
        if (sp_foreign_signal) sp_foreign_signal(signal, info);
        return;
    }
    if (!sp_thread.armed || info->si_timerid != sp_thread.timer) return;
    int saved = errno;
    __atomic_fetch_add(&sp_fired, 1, __ATOMIC_RELAXED);
    // A blocked thread was off the processor already: acting (sleeping) would only delay it once it is woken, and
    // re-arming at full rate would wake it again and again. Back off instead; the first expiry that finds it running
    // user code acts and returns to the full rate. An expiry the preload library held while the thread waited in a
    // call the kernel does not restart is taken as that call returns, and counts as blocked too: acting on each one
    // (an action after every such call, at the full rate) made a poll(…, 0) loop 50-100x slower.
    if (sp_thread.waiting || sp_interrupted_blocked(context)) {
        __atomic_fetch_add(&sp_fired_blocked, 1, __ATOMIC_RELAXED);
        if (sp_thread.backoff < SP_MAX_BACKOFF_SHIFT) sp_thread.backoff++;
    } else {
        sp_thread.backoff = 0;
        sp_act();
    }
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
    if (!sp_defer_first) sp_rearm();
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
    __atomic_store_n(&sp_started_ns, 0, __ATOMIC_RELAXED);  // the full rate starts with this installation's timers
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
    __atomic_store_n(&sp_started_ns, 0, __ATOMIC_RELAXED);  // a new process: its own full-rate start
    __atomic_store_n(&sp_timer_count, 0, __ATOMIC_RELAXED);
    sp_arm_thread();
}

#endif
