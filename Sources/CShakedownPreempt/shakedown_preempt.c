// libShakedownPreempt.so: preemption jitter for exec'd commands, loaded with LD_PRELOAD.
//
// SHAKEDOWN_PREEMPT="seed,max_interval_ns,yield,sleep,spin,max_sleep_ns,max_spin[,signal]" turns it on; without it
// the library does nothing at all. The constructor installs the timer handler and arms the main thread; every thread
// started with pthread_create is armed before its start routine runs; a fork child is re-armed. When the command
// installs its own handler for the timer signal (sigaction or signal), every timer is disarmed first and the
// command's handler goes in unchanged: Shakedown steps aside. The blocking calls Linux never restarts after a handler
// (sleeps, poll/select/epoll waits, System V IPC waits, signal waits, timed semaphore waits; the list is at the
// bottom) run with the timer's signal blocked, so the timer never makes them return early or fail with EINTR, and so
// do calls on sockets with a timeout of their own. Signal waits (sigwait, sigwaitinfo, sigtimedwait) never return the
// timer's expiries; a signalfd for its signal, a PTRACE_TRACEME, or a process started traced (gdb, strace) makes the
// library step aside; a signal on its number that no timer sent gets the default action (the command has no handler).
// SHAKEDOWN_PREEMPT_REPORT=PATH appends one line per process at exit:
// "pid fired=N blocked=N threads=N status=armed|stepped-aside|signal-taken|traced|failed:ERRNO".
//
// SHAKEDOWN_PREEMPT_GATE="fd,parties" (independent of SHAKEDOWN_PREEMPT) is a start gate: an inherited descriptor of
// a shared 4 KiB file whose first word counts arrivals. Each copy arrives in the constructor, after the dynamic
// loader's work, and waits (futex, at most 2 s) until `parties` copies arrived, so copies of a short program run
// their main() at the same time instead of milliseconds apart; then each counts itself out on a second word and yields
// until all have woken (at most 2 ms more), so they leave the gate together. The descriptor is closed and the variable removed
// before main(), so the command and its children never see them.
#define _GNU_SOURCE
#include "../CShakedown/shakedown_preempt_core.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <poll.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <stdarg.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/uio.h>

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef sighandler_t (*signal_fn)(int, sighandler_t);

static pthread_create_fn real_pthread_create;
static signal_fn real_signal;
static const char *status = "off";
#define SP_ENOSYS_LONG ((errno = ENOSYS), -1L)
static int failure;

// The definition of `name` after this library's (the libc function it wraps), looked up once into `slot`: a racing
// first call stores the same pointer.
static void *sp_next_symbol(void **slot, const char *name) {
    void *found = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (!found) {
        found = dlsym(RTLD_NEXT, name);
        __atomic_store_n(slot, found, __ATOMIC_RELAXED);
    }
    return found;
}

static int resolve_real_functions(void) {
    if (!sp_real_sigaction) sp_real_sigaction = (sp_sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
    if (!real_pthread_create) real_pthread_create = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    if (!real_signal) real_signal = (signal_fn)dlsym(RTLD_NEXT, "signal");
    return sp_real_sigaction && real_pthread_create && real_signal;
}

static int parse_config(const char *text, sp_config *config) {
    unsigned long long v[8] = {0};
    int count = sscanf(text, "%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                       &v[6], &v[7]);
    if (count < 7 || v[1] < 2000 || v[1] > 1000000000ull || v[5] < 1000 || v[5] > 1000000000ull) return 0;
    config->seed = v[0];
    config->max_interval_ns = v[1];
    config->yield_weight = (uint32_t)v[2];
    config->sleep_weight = (uint32_t)v[3];
    config->spin_weight = (uint32_t)v[4];
    config->max_sleep_ns = v[5];
    config->max_spin = v[6] ? v[6] : 1;
    config->signal = count == 8 ? (int)v[7] : SIGRTMAX - 2;
    return config->signal >= SIGRTMIN && config->signal <= SIGRTMAX;
}

static void child_after_fork(void) { sp_after_fork_in_child(); }

static void arm_preemption(void);
static void resolve_timed_calls(void);

static int64_t elapsed_ns(const struct timespec *start) {
    struct timespec current;
    clock_gettime(CLOCK_MONOTONIC, &current);
    return (int64_t)(current.tv_sec - start->tv_sec) * 1000000000 + (current.tv_nsec - start->tv_nsec);
}

// The futex wake-up releases the copies one by one: the waker runs on at once, a woken copy only after the kernel
// scheduled it (tens of microseconds on this VM), so a racy loop of 10,000 iterations (≈ 20 µs) was over before the
// next copy began, and the copies ran one after the other. Each copy therefore counts itself out on a second word
// (its own cache line) and yields until every copy has, at most 2 ms: they leave the gate within a scheduler pass of
// each other, as many at once as there are CPUs.
static void leave_together(uint32_t *departed, unsigned parties) {
    __atomic_add_fetch(departed, 1, __ATOMIC_ACQ_REL);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (__atomic_load_n(departed, __ATOMIC_ACQUIRE) < parties && elapsed_ns(&start) < 2000000) {
        syscall(SYS_sched_yield);
    }
}

static void pass_start_gate(void) {
    const char *text = getenv("SHAKEDOWN_PREEMPT_GATE");
    if (!text) return;
    int fd = -1;
    unsigned parties = 0;
    int parsed = sscanf(text, "%d,%u", &fd, &parties);
    unsetenv("SHAKEDOWN_PREEMPT_GATE");
    if (parsed != 2 || fd < 0 || parties < 1 || parties > 100000) return;
    uint32_t *arrived = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (arrived == MAP_FAILED) return;
    uint32_t now = __atomic_add_fetch(arrived, 1, __ATOMIC_ACQ_REL);
    if (now >= parties) {
        syscall(SYS_futex, arrived, FUTEX_WAKE, INT32_MAX, 0, 0, 0);
    } else {
        struct timespec start, current;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
            uint32_t seen = __atomic_load_n(arrived, __ATOMIC_ACQUIRE);
            if (seen >= parties) break;
            clock_gettime(CLOCK_MONOTONIC, &current);
            int64_t waited = (int64_t)(current.tv_sec - start.tv_sec) * 1000000000 + (current.tv_nsec - start.tv_nsec);
            if (waited >= 2000000000) break;  // a copy that never comes must not hold the others forever
            struct timespec remaining = {(time_t)((2000000000 - waited) / 1000000000), (long)((2000000000 - waited) % 1000000000)};
            syscall(SYS_futex, arrived, FUTEX_WAIT, seen, &remaining, 0, 0);
        }
    }
    leave_together(arrived + 16, parties);
    munmap(arrived, 4096);
}

// The handler and the timer are set up before the gate (tens of microseconds, longer than a short racy loop, which
// would skew the start the gate aligned), but the timer starts only after it: a copy must not be asleep in the
// handler at the moment the gate opens.
// MARK: the Swift runtime this library brings along

// SwiftPM links every dynamic library product with the Swift driver, so this library needs libswiftCore.so, and
// preloading it loads the Swift runtime into every command. Its crash backtracer installs handlers for SIGSEGV,
// SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT and SIGQUIT when it loads: a plain C command that crashed printed a Swift
// crash report and was judged as one. When the command itself is not a Swift program (its executable does not need
// libswiftCore), the handlers that live in libswiftCore go back to the default action the command started with.
static int main_program_needs(const char *library) {
    struct link_map *main_map = 0;
    void *self = dlopen(0, RTLD_NOW | RTLD_NOLOAD);
    if (!self || dlinfo(self, RTLD_DI_LINKMAP, &main_map) != 0 || !main_map) return 1;  // unsure: leave all alone
    const char *strings = 0;
    for (const ElfW(Dyn) *entry = main_map->l_ld; entry->d_tag != DT_NULL; entry++) {
        if (entry->d_tag == DT_STRTAB) {
            ElfW(Addr) address = entry->d_un.d_ptr;
            // glibc's loader rewrites it to an absolute address; an offset below the load address was not rewritten.
            if (address < main_map->l_addr) address += main_map->l_addr;
            strings = (const char *)address;
        }
    }
    if (!strings) return 1;
    for (const ElfW(Dyn) *entry = main_map->l_ld; entry->d_tag != DT_NULL; entry++) {
        if (entry->d_tag == DT_NEEDED && strstr(strings + entry->d_un.d_val, library)) return 1;
    }
    return 0;
}

static void drop_swift_crash_handlers(void) {
    if (!sp_real_sigaction || main_program_needs("libswiftCore")) return;
    static const int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGQUIT};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction current;
        if (sp_real_sigaction(signals[i], 0, &current) != 0) continue;
        void *handler = (current.sa_flags & SA_SIGINFO) ? (void *)current.sa_sigaction : (void *)current.sa_handler;
        if (handler == (void *)SIG_DFL || handler == (void *)SIG_IGN) continue;
        Dl_info where;
        if (!dladdr(handler, &where) || !where.dli_fname || !strstr(where.dli_fname, "libswiftCore")) continue;
        struct sigaction restored;
        memset(&restored, 0, sizeof restored);
        restored.sa_handler = SIG_DFL;
        sigemptyset(&restored.sa_mask);
        sp_real_sigaction(signals[i], &restored, 0);
    }
}

// A traced process (gdb or strace started it) stops at every signal it receives, and its tracer reports each one: gdb
// stopped the program at the first expiry ("Program received signal SIG62") and the batch run went on with the next
// command, strace printed some 200,000 "--- SIGRT_30 ---" lines for `python3 -c pass`. The preemption would be the
// tracer's output, not the program's, so a process traced when it starts is left alone (status "traced").
static int started_traced(void) {
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char text[4096];
    ssize_t length = read(fd, text, sizeof text - 1);
    close(fd);
    if (length <= 0) return 0;
    text[length] = 0;
    const char *field = strstr(text, "\nTracerPid:");
    return field && strtol(field + strlen("\nTracerPid:"), 0, 10) != 0;
}

// The other half: a fork child of an armed process (gdb's, strace's) that asks to be traced before it executes the
// program. Its re-armed timer could fire between PTRACE_TRACEME and execve, a signal stop the tracer reported as the
// program's; the library steps aside before the request.
long ptrace(enum __ptrace_request request, ...) {
    typedef long (*ptrace_fn)(enum __ptrace_request, ...);
    static void *real;
    ptrace_fn call = (ptrace_fn)sp_next_symbol(&real, "ptrace");
    if (!call) return SP_ENOSYS_LONG;
    va_list arguments;
    va_start(arguments, request);
    pid_t pid = va_arg(arguments, pid_t);
    void *address = va_arg(arguments, void *);
    void *data = va_arg(arguments, void *);
    va_end(arguments);
    if (request == PTRACE_TRACEME && __atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) {
        sp_step_aside();
        status = "traced";
    }
    return call(request, pid, address, data);
}

__attribute__((constructor)) static void shakedown_preempt_start(void) {
    resolve_timed_calls();
    if (resolve_real_functions()) drop_swift_crash_handlers();
    sp_defer_first = 1;
    if (started_traced()) {
        if (getenv("SHAKEDOWN_PREEMPT")) status = "traced";
    } else {
        arm_preemption();
    }
    pass_start_gate();
    sp_defer_first = 0;
    if (sp_thread.armed && __atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) sp_rearm();
}

// Without the library the command has the default action on the timer's signal (a handler or SIG_IGN of its own makes
// the library step aside), which for a real-time signal is to terminate: `kill -62` killed it, and under the library's
// handler it lived on, a crash judged clean. The library steps aside, restores the default action and queues the same
// signal again to this thread; it is blocked while this handler runs and ends the process as it returns.
static void apply_default_action(int signal, siginfo_t *info) {
    sp_step_aside();
    status = "stepped-aside";
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    if (sp_real_sigaction) sp_real_sigaction(signal, &default_action, 0);
    syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), signal, info);
}

static void arm_preemption(void) {
    const char *text = getenv("SHAKEDOWN_PREEMPT");
    if (!text || !resolve_real_functions()) return;
    sp_config config;
    if (!parse_config(text, &config)) {
        status = "bad-config";
        return;
    }
    sp_foreign_signal = apply_default_action;
    switch (sp_install(&config, &failure)) {
    case SP_ARMED:
        status = "armed";
        pthread_atfork(0, 0, child_after_fork);
        break;
    case SP_SIGNAL_TAKEN: status = "signal-taken"; break;
    default: status = "failed"; break;
    }
}

__attribute__((destructor)) static void shakedown_preempt_finish(void) {
    const char *path = getenv("SHAKEDOWN_PREEMPT_REPORT");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    char line[160];
    int length = snprintf(line, sizeof line, "%d fired=%llu blocked=%llu threads=%u status=%s", (int)getpid(),
                          (unsigned long long)__atomic_load_n(&sp_fired, __ATOMIC_RELAXED),
                          (unsigned long long)__atomic_load_n(&sp_fired_blocked, __ATOMIC_RELAXED),
                          __atomic_load_n(&sp_thread_order, __ATOMIC_RELAXED), status);
    if (failure && length > 0 && length < (int)sizeof line)
        length += snprintf(line + length, sizeof line - (size_t)length, ":%d", failure);
    if (length > 0 && length < (int)sizeof line - 1) {
        line[length++] = '\n';
        ssize_t ignored = write(fd, line, (size_t)length);
        (void)ignored;
    }
    close(fd);
}

// MARK: threads

typedef struct start_record {
    void *(*start)(void *);
    void *argument;
} start_record;

static void *armed_start(void *raw) {
    start_record record = *(start_record *)raw;
    free(raw);
    sp_arm_thread();
    return record.start(record.argument);
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attributes, void *(*start)(void *), void *argument) {
    if (!real_pthread_create && !resolve_real_functions()) return EAGAIN;
    if (!__atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) return real_pthread_create(thread, attributes, start, argument);
    start_record *record = malloc(sizeof *record);
    if (!record) return real_pthread_create(thread, attributes, start, argument);
    record->start = start;
    record->argument = argument;
    int result = real_pthread_create(thread, attributes, armed_start, record);
    if (result != 0) free(record);
    return result;
}

// MARK: the command takes the signal: step aside

static void take_signal(int signal) {
    if (signal == sp_cfg.signal && __atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) {
        sp_step_aside();
        status = "stepped-aside";
    }
}

int sigaction(int signal, const struct sigaction *action, struct sigaction *old) {
    if (!sp_real_sigaction && !resolve_real_functions()) {
        errno = ENOSYS;
        return -1;
    }
    if (action) take_signal(signal);
    return sp_real_sigaction(signal, action, old);
}

sighandler_t signal(int signal, sighandler_t handler) {
    if (!real_signal && !resolve_real_functions()) {
        errno = ENOSYS;
        return SIG_ERR;
    }
    take_signal(signal);
    return real_signal(signal, handler);
}

// MARK: blocking calls keep their semantics

// Linux never restarts some calls after any signal handler ran, SA_RESTART or not (signal(7)): the sleeps
// (nanosleep, clock_nanosleep, usleep, sleep), poll, ppoll, select, pselect, epoll_wait, epoll_pwait, epoll_pwait2,
// System V msgrcv, msgsnd, semop, semtimedop, and the signal waits pause, sigsuspend, sigtimedwait, sigwaitinfo;
// glibc's sem_timedwait and sem_clockwait fail with EINTR too. A timer signal every few microseconds made them fail
// on nearly every call (Fixtures/eintr-probe: nearly all of some 500 2 ms calls of each kind), so a command that
// treats EINTR as an error failed, and a usleep(50 ms) became almost nothing (a zombie leaker that lingers to show
// its zombies exited before they were seen).
// While an armed thread is in one of them, the timer's signal is blocked; it stays pending (the one-shot timer is not
// re-armed meanwhile) and is taken when the call returns. A call that takes its own mask gets the timer's signal
// added to a copy of it (no extra system call); a NULL mask, "unchanged", is held around the call like the others.
// The program's own signals still interrupt every one of them as before. read, write, recv, futex (sem_wait,
// pthread_cond_wait) and the rest restart under SA_RESTART and are left alone: holding costs two system calls.
// Not covered: raw syscall(2), glibc's internal calls (its resolver's poll), io_getevents (libaio's, not glibc's).
// Socket timeouts (SO_RCVTIMEO, SO_SNDTIMEO) are handled per descriptor at the end of this file.
static int hold_timer_signal(sigset_t *old) {
    if (!sp_thread.armed || !__atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) return 0;
    sigset_t timer_signal;
    sigemptyset(&timer_signal);
    sigaddset(&timer_signal, sp_cfg.signal);
    return pthread_sigmask(SIG_BLOCK, &timer_signal, old) == 0;
}

static void release_timer_signal(int held, const sigset_t *old) {
    if (!held) return;
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, old, 0);
    errno = saved;
}

// One call in progress: the mask it was given, or the mask to restore after holding the signal around it.
typedef struct sp_wait {
    sigset_t copy, old;
    int held, was_waiting;
} sp_wait;

// Returns the mask to pass on when the call takes one: the caller's plus the timer's signal on an armed thread. A NULL
// mask ("unchanged"), or a call without one, holds the signal around the call instead. The thread counts as waiting
// until end_wait, so the expiry the call held is taken as a blocked one (no action, backed off), as it was when it
// interrupted the call.
static const sigset_t *begin_wait(sp_wait *wait, const sigset_t *own_mask) {
    wait->was_waiting = sp_thread.waiting;
    sp_thread.waiting = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    wait->held = !own_mask && hold_timer_signal(&wait->old);
    if (!own_mask || !sp_thread.armed || !__atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) return own_mask;
    wait->copy = *own_mask;
    sigaddset(&wait->copy, sp_cfg.signal);
    return &wait->copy;
}

static void end_wait(sp_wait *wait) {
    release_timer_signal(wait->held, &wait->old);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    sp_thread.waiting = wait->was_waiting;
}

#define SP_ENOSYS ((errno = ENOSYS), -1)
#define SP_NO_MASK ((const sigset_t *)0)

// Defines `name` with the libc prototype `params`: resolves the real function once (a racing first call stores the
// same pointer), passes `args` (where `masked` stands for the call's own mask) and returns its result with errno as
// it left it. `own_mask` is the call's signal mask parameter, or SP_NO_MASK. `missing` is the result when the real
// function cannot be found.
#define SP_KEEP_SEMANTICS(type, name, missing, own_mask, params, args)                                             \
    type name params {                                                                                             \
        static void *real;                                                                                         \
        type(*call) params = (type(*) params)sp_next_symbol(&real, #name);                                         \
        if (!call) return missing;                                                                                 \
        sp_wait wait;                                                                                              \
        const sigset_t *masked = begin_wait(&wait, own_mask);                                                      \
        (void)masked;                                                                                              \
        type result = call args;                                                                                   \
        end_wait(&wait);                                                                                           \
        return result;                                                                                             \
    }

typedef struct timespec sp_time;

SP_KEEP_SEMANTICS(int, nanosleep, SP_ENOSYS, SP_NO_MASK, (const sp_time *request, sp_time *remaining),
                  (request, remaining))
// clock_nanosleep returns the error number; sleep returns the seconds it did not sleep.
SP_KEEP_SEMANTICS(int, clock_nanosleep, ENOSYS, SP_NO_MASK,
                  (clockid_t clock, int flags, const sp_time *request, sp_time *remaining),
                  (clock, flags, request, remaining))
SP_KEEP_SEMANTICS(int, usleep, SP_ENOSYS, SP_NO_MASK, (useconds_t microseconds), (microseconds))
SP_KEEP_SEMANTICS(unsigned, sleep, seconds, SP_NO_MASK, (unsigned seconds), (seconds))

SP_KEEP_SEMANTICS(int, poll, SP_ENOSYS, SP_NO_MASK, (struct pollfd *fds, nfds_t count, int timeout),
                  (fds, count, timeout))
SP_KEEP_SEMANTICS(int, ppoll, SP_ENOSYS, mask,
                  (struct pollfd *fds, nfds_t count, const sp_time *timeout, const sigset_t *mask),
                  (fds, count, timeout, masked))
// What -D_FORTIFY_SOURCE makes of poll and ppoll when it knows the array's size.
SP_KEEP_SEMANTICS(int, __poll_chk, SP_ENOSYS, SP_NO_MASK,
                  (struct pollfd *fds, nfds_t count, int timeout, size_t size), (fds, count, timeout, size))
SP_KEEP_SEMANTICS(int, __ppoll_chk, SP_ENOSYS, mask,
                  (struct pollfd *fds, nfds_t count, const sp_time *timeout, const sigset_t *mask, size_t size),
                  (fds, count, timeout, masked, size))
SP_KEEP_SEMANTICS(int, select, SP_ENOSYS, SP_NO_MASK,
                  (int count, fd_set *readable, fd_set *writable, fd_set *exceptional, struct timeval *timeout),
                  (count, readable, writable, exceptional, timeout))
SP_KEEP_SEMANTICS(int, pselect, SP_ENOSYS, mask,
                  (int count, fd_set *readable, fd_set *writable, fd_set *exceptional, const sp_time *timeout,
                   const sigset_t *mask),
                  (count, readable, writable, exceptional, timeout, masked))
SP_KEEP_SEMANTICS(int, epoll_wait, SP_ENOSYS, SP_NO_MASK,
                  (int epoll, struct epoll_event *events, int most, int timeout), (epoll, events, most, timeout))
SP_KEEP_SEMANTICS(int, epoll_pwait, SP_ENOSYS, mask,
                  (int epoll, struct epoll_event *events, int most, int timeout, const sigset_t *mask),
                  (epoll, events, most, timeout, masked))
SP_KEEP_SEMANTICS(int, epoll_pwait2, SP_ENOSYS, mask,
                  (int epoll, struct epoll_event *events, int most, const sp_time *timeout, const sigset_t *mask),
                  (epoll, events, most, timeout, masked))

SP_KEEP_SEMANTICS(ssize_t, msgrcv, SP_ENOSYS, SP_NO_MASK, (int queue, void *message, size_t size, long type, int flags),
                  (queue, message, size, type, flags))
SP_KEEP_SEMANTICS(int, msgsnd, SP_ENOSYS, SP_NO_MASK, (int queue, const void *message, size_t size, int flags),
                  (queue, message, size, flags))
SP_KEEP_SEMANTICS(int, semop, SP_ENOSYS, SP_NO_MASK, (int set, struct sembuf *operations, size_t count),
                  (set, operations, count))
SP_KEEP_SEMANTICS(int, semtimedop, SP_ENOSYS, SP_NO_MASK,
                  (int set, struct sembuf *operations, size_t count, const sp_time *timeout),
                  (set, operations, count, timeout))
SP_KEEP_SEMANTICS(int, sem_timedwait, SP_ENOSYS, SP_NO_MASK, (sem_t *semaphore, const sp_time *deadline),
                  (semaphore, deadline))
SP_KEEP_SEMANTICS(int, sem_clockwait, SP_ENOSYS, SP_NO_MASK,
                  (sem_t *semaphore, clockid_t clock, const sp_time *deadline), (semaphore, clock, deadline))

SP_KEEP_SEMANTICS(int, pause, SP_ENOSYS, SP_NO_MASK, (void), ())
SP_KEEP_SEMANTICS(int, sigsuspend, SP_ENOSYS, mask, (const sigset_t *mask), (masked))

// MARK: signals taken synchronously never show the timer's expiries

// A program that blocks signals and takes them with sigwait, sigwaitinfo, sigtimedwait or a signalfd installs no
// handler for the timer's signal, so the library stays armed, and an expiry on a thread that blocks the signal stays
// pending: the wait returned it. A daemon's signal thread in sigwait on a full set got "signal 62" and exited
// (Fixtures/signal-wait-probe). The waits below drop the library's own expiries (SI_TIMER from one of its timers)
// and wait on; everything else, the program's own uses of the same signal included, comes through as before.

typedef int (*sigtimedwait_fn)(const sigset_t *, siginfo_t *, const sp_time *);

static sigtimedwait_fn real_sigtimedwait(void) {
    static void *real;
    return (sigtimedwait_fn)sp_next_symbol(&real, "sigtimedwait");
}

// Whether a dequeued signal is an expiry of one of the library's timers (not a timer the program made itself).
static int own_expiry(int number, const siginfo_t *info) {
    if (!sp_cfg.signal || number != sp_cfg.signal || info->si_code != SI_TIMER) return 0;
    uint32_t count = __atomic_load_n(&sp_timer_count, __ATOMIC_RELAXED);
    if (count > SP_MAX_TIMERS) count = SP_MAX_TIMERS;
    for (uint32_t i = 0; i < count; i++) {
        if (__atomic_load_n(&sp_timers[i], __ATOMIC_RELAXED) == info->si_timerid) return 1;
    }
    return 0;
}

// A dropped expiry of this thread's timer counts as one that found the thread blocked, and re-arms it backed off, as
// the handler would have: the thread stays preempted once it runs again.
static void drop_expiry(const siginfo_t *info) {
    __atomic_fetch_add(&sp_fired, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&sp_fired_blocked, 1, __ATOMIC_RELAXED);
    if (!sp_thread.armed || info->si_timerid != sp_thread.timer) return;
    if (sp_thread.backoff < SP_MAX_BACKOFF_SHIFT) sp_thread.backoff++;
    if (__atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) sp_rearm();
}

// sigtimedwait that never returns the library's expiries; `timeout` NULL waits without limit. The timer's signal is
// held around the call as for the other waits, so a handler run cannot end it with EINTR.
static int wait_for_signal(const sigset_t *wanted, siginfo_t *info, const sp_time *timeout) {
    sigtimedwait_fn call = real_sigtimedwait();
    if (!call) return SP_ENOSYS;
    siginfo_t local;
    siginfo_t *out = info ? info : &local;
    struct timespec deadline = {0, 0};
    if (timeout) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout->tv_sec;
        deadline.tv_nsec += timeout->tv_nsec;
        if (deadline.tv_nsec >= 1000000000) deadline.tv_sec += 1, deadline.tv_nsec -= 1000000000;
    }
    sp_wait wait;
    begin_wait(&wait, SP_NO_MASK);
    sp_time remaining = timeout ? *timeout : (sp_time){0, 0};
    int result;
    for (;;) {
        result = call(wanted, out, timeout ? &remaining : 0);
        if (!own_expiry(result, out)) break;
        drop_expiry(out);
        if (!timeout) continue;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = (int64_t)(deadline.tv_sec - now.tv_sec) * 1000000000 + (deadline.tv_nsec - now.tv_nsec);
        if (left <= 0) {
            errno = EAGAIN;
            result = -1;
            break;
        }
        remaining.tv_sec = (time_t)(left / 1000000000);
        remaining.tv_nsec = (long)(left % 1000000000);
    }
    end_wait(&wait);
    return result;
}

int sigtimedwait(const sigset_t *wanted, siginfo_t *info, const sp_time *timeout) {
    return wait_for_signal(wanted, info, timeout);
}

int sigwaitinfo(const sigset_t *wanted, siginfo_t *info) { return wait_for_signal(wanted, info, 0); }

// glibc's sigwait calls its sigtimedwait internally (no interposition), retries EINTR and returns the error number.
int sigwait(const sigset_t *wanted, int *number) {
    int result;
    do result = wait_for_signal(wanted, 0, 0);
    while (result < 0 && errno == EINTR);
    if (result < 0) return errno;
    *number = result;
    return 0;
}

// A signalfd is read with read(2), where expiries cannot be told apart cheaply: a program that reads the timer's
// signal through one takes the signal, and the library steps aside as for a handler. An expiry already pending on this
// thread is dequeued; a signal of the program's own dequeued with it is queued again, unchanged.
static void drain_own_expiries(void) {
    sigtimedwait_fn call = real_sigtimedwait();
    sigset_t blocked, timer_signal;
    if (!call || pthread_sigmask(SIG_BLOCK, 0, &blocked) != 0 || sigismember(&blocked, sp_cfg.signal) != 1) return;
    sigemptyset(&timer_signal);
    sigaddset(&timer_signal, sp_cfg.signal);
    siginfo_t kept[8];
    int kept_count = 0;
    const sp_time now = {0, 0};
    siginfo_t info;
    while (kept_count < 8 && call(&timer_signal, &info, &now) == sp_cfg.signal) {
        if (!own_expiry(sp_cfg.signal, &info)) kept[kept_count++] = info;
    }
    for (int i = 0; i < kept_count; i++) {
        syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)syscall(SYS_gettid), sp_cfg.signal, &kept[i]);
    }
}

int signalfd(int fd, const sigset_t *mask, int flags) {
    typedef int (*signalfd_fn)(int, const sigset_t *, int);
    static void *real;
    signalfd_fn call = (signalfd_fn)sp_next_symbol(&real, "signalfd");
    if (!call) return SP_ENOSYS;
    if (mask && sp_cfg.signal && sigismember(mask, sp_cfg.signal) == 1 && __atomic_load_n(&sp_active, __ATOMIC_ACQUIRE)) {
        take_signal(sp_cfg.signal);
        drain_own_expiries();
    }
    return call(fd, mask, flags);
}

// MARK: sockets with a timeout keep it

// A socket with SO_RCVTIMEO or SO_SNDTIMEO makes its blocking calls (recv, send, read, write, accept, connect on it)
// fail with EINTR after any handler ran, SA_RESTART or not (signal(7)): a recv with a 100 ms timeout returned EINTR
// within microseconds, Rust's read_exact (which retries EINTR, each time with the whole timeout again) never timed
// out. setsockopt marks such a descriptor here (accept passes the mark on, as the kernel passes the timeouts on), and
// the calls on a marked descriptor hold the timer's signal like the waits above; on any other descriptor they only
// test one bit. A mark is never cleared (close, a zero timeout): a descriptor number reused for a file costs its calls
// two system calls each and changes nothing else. Not covered: a descriptor duplicated (dup, fcntl F_DUPFD) or
// inherited across exec, descriptors from 65,536 on, glibc's internal calls (stdio on a socket).
#ifndef SO_RCVTIMEO_OLD
#define SO_RCVTIMEO_OLD 20
#define SO_SNDTIMEO_OLD 21
#endif
#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif
#define SP_TIMED_DESCRIPTORS 65536

static uint64_t timed_descriptors[SP_TIMED_DESCRIPTORS / 64];  // atomic words: one bit per descriptor

static int is_timed(int fd) {
    if (fd < 0 || fd >= SP_TIMED_DESCRIPTORS) return 0;
    return (int)((__atomic_load_n(&timed_descriptors[fd / 64], __ATOMIC_RELAXED) >> (fd % 64)) & 1);
}

static void mark_timed(int fd) {
    if (fd < 0 || fd >= SP_TIMED_DESCRIPTORS) return;
    __atomic_fetch_or(&timed_descriptors[fd / 64], 1ull << (fd % 64), __ATOMIC_RELAXED);
}

// Defines `name` like SP_KEEP_SEMANTICS, holding the timer's signal only when descriptor `fd` is marked. The real
// function is resolved in the constructor (resolve_timed_calls), so a first call from a signal handler (read and
// write are async-signal-safe) does not run dlsym.
#define SP_HOLD_WHEN_TIMED(type, name, fd, params, args)                                                           \
    static void *real_##name;                                                                                      \
    static void resolve_##name(void) { sp_next_symbol(&real_##name, #name); }                                      \
    type name params {                                                                                             \
        type(*call) params = (type(*) params)sp_next_symbol(&real_##name, #name);                                  \
        if (!call) return SP_ENOSYS;                                                                               \
        if (!is_timed(fd)) return call args;                                                                       \
        sp_wait wait;                                                                                              \
        begin_wait(&wait, SP_NO_MASK);                                                                             \
        type result = call args;                                                                                   \
        end_wait(&wait);                                                                                           \
        return result;                                                                                             \
    }

SP_HOLD_WHEN_TIMED(ssize_t, read, fd, (int fd, void *buffer, size_t size), (fd, buffer, size))
SP_HOLD_WHEN_TIMED(ssize_t, write, fd, (int fd, const void *buffer, size_t size), (fd, buffer, size))
SP_HOLD_WHEN_TIMED(ssize_t, readv, fd, (int fd, const struct iovec *vector, int count), (fd, vector, count))
SP_HOLD_WHEN_TIMED(ssize_t, writev, fd, (int fd, const struct iovec *vector, int count), (fd, vector, count))
SP_HOLD_WHEN_TIMED(ssize_t, __read_chk, fd, (int fd, void *buffer, size_t size, size_t room), (fd, buffer, size, room))
SP_HOLD_WHEN_TIMED(ssize_t, recv, fd, (int fd, void *buffer, size_t size, int flags), (fd, buffer, size, flags))
SP_HOLD_WHEN_TIMED(ssize_t, __recv_chk, fd, (int fd, void *buffer, size_t size, size_t room, int flags),
                   (fd, buffer, size, room, flags))
SP_HOLD_WHEN_TIMED(ssize_t, recvfrom, fd,
                   (int fd, void *buffer, size_t size, int flags, struct sockaddr *from, socklen_t *length),
                   (fd, buffer, size, flags, from, length))
SP_HOLD_WHEN_TIMED(ssize_t, __recvfrom_chk, fd,
                   (int fd, void *buffer, size_t size, size_t room, int flags, struct sockaddr *from,
                    socklen_t *length),
                   (fd, buffer, size, room, flags, from, length))
SP_HOLD_WHEN_TIMED(ssize_t, recvmsg, fd, (int fd, struct msghdr *message, int flags), (fd, message, flags))
SP_HOLD_WHEN_TIMED(int, recvmmsg, fd,
                   (int fd, struct mmsghdr *messages, unsigned int count, int flags, struct timespec *timeout),
                   (fd, messages, count, flags, timeout))
SP_HOLD_WHEN_TIMED(ssize_t, send, fd, (int fd, const void *buffer, size_t size, int flags), (fd, buffer, size, flags))
SP_HOLD_WHEN_TIMED(ssize_t, sendto, fd,
                   (int fd, const void *buffer, size_t size, int flags, const struct sockaddr *to, socklen_t length),
                   (fd, buffer, size, flags, to, length))
SP_HOLD_WHEN_TIMED(ssize_t, sendmsg, fd, (int fd, const struct msghdr *message, int flags), (fd, message, flags))
SP_HOLD_WHEN_TIMED(int, sendmmsg, fd, (int fd, struct mmsghdr *messages, unsigned int count, int flags),
                   (fd, messages, count, flags))
SP_HOLD_WHEN_TIMED(int, connect, fd, (int fd, const struct sockaddr *address, socklen_t length), (fd, address, length))

// accept4 by hand: the accepted socket inherits the listener's timeouts, and so its mark.
static void *real_accept4;

static void resolve_accept4(void) { sp_next_symbol(&real_accept4, "accept4"); }

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    int (*call)(int, struct sockaddr *, socklen_t *, int) =
        (int (*)(int, struct sockaddr *, socklen_t *, int))sp_next_symbol(&real_accept4, "accept4");
    if (!call) return SP_ENOSYS;
    if (!is_timed(fd)) return call(fd, address, length, flags);
    sp_wait wait;
    begin_wait(&wait, SP_NO_MASK);
    int accepted = call(fd, address, length, flags);
    end_wait(&wait);
    if (accepted >= 0) mark_timed(accepted);
    return accepted;
}

int accept(int fd, struct sockaddr *address, socklen_t *length) { return accept4(fd, address, length, 0); }

int setsockopt(int fd, int level, int option, const void *value, socklen_t length) {
    typedef int (*setsockopt_fn)(int, int, int, const void *, socklen_t);
    static void *real;
    setsockopt_fn call = (setsockopt_fn)sp_next_symbol(&real, "setsockopt");
    if (!call) return SP_ENOSYS;
    int result = call(fd, level, option, value, length);
    if (result == 0 && level == SOL_SOCKET &&
        (option == SO_RCVTIMEO_OLD || option == SO_SNDTIMEO_OLD || option == SO_RCVTIMEO_NEW ||
         option == SO_SNDTIMEO_NEW))
        mark_timed(fd);
    return result;
}

// Run from the constructor, before the command's main and before any of its signal handlers can run.
static void resolve_timed_calls(void) {
    resolve_read();
    resolve_write();
    resolve_readv();
    resolve_writev();
    resolve___read_chk();
    resolve_recv();
    resolve___recv_chk();
    resolve_recvfrom();
    resolve___recvfrom_chk();
    resolve_recvmsg();
    resolve_recvmmsg();
    resolve_send();
    resolve_sendto();
    resolve_sendmsg();
    resolve_sendmmsg();
    resolve_connect();
    resolve_accept4();
}
