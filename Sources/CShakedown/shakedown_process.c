#define _GNU_SOURCE
#include "shakedown_process.h"
#include "shakedown_syscall_control.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Functions that every worker (or every run leader) calls but a test process usually never does, called
// through pointers the dynamic linker fills in when the program is loaded. A direct call goes through a lazily
// bound PLT slot: its first caller runs the symbol lookup (`_dl_fixup`), which walks the hash tables of every
// loaded library. A forked child shares no page-table entries for those file-backed pages, so in each worker
// that lookup also page-faults them in again: in profiles, the two lookups left per worker cost more than the
// rest of its page faults on libc. The pointers are `volatile` so the compiler cannot turn the calls back into
// direct (PLT) calls. Functions that can be called harmlessly are bound ahead instead (`ForkWarmUp`).
static int (*volatile resolved_setvbuf)(FILE *, char *, int, size_t) = setvbuf;
static void (*volatile resolved_exit)(int) = _exit;
static int (*volatile resolved_signalfd)(int, const sigset_t *, int) = signalfd;

void shakedown_exit_now(int status) {
    resolved_exit(status);
    __builtin_unreachable();
}

int shakedown_set_child_subreaper(int enabled) {
    return prctl(PR_SET_CHILD_SUBREAPER, (unsigned long)(enabled ? 1 : 0), 0, 0, 0);
}

int shakedown_get_child_subreaper(void) {
    int value = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&value, 0, 0, 0) != 0) return -1;
    return value;
}

int shakedown_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

int shakedown_allow_any_tracer(void) {
#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif
    return prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
}

int shakedown_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int shakedown_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

void shakedown_line_buffer_stdout(void) {
    resolved_setvbuf(stdout, NULL, _IOLBF, 0);
}

int shakedown_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int shakedown_memfd_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
}

pid_t shakedown_gettid(void) {
    return (pid_t)syscall(SYS_gettid);
}

int shakedown_sigchld_descriptor(sigset_t *previous) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, previous) != 0) return -1;
    return resolved_signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}

int shakedown_drain_signal_descriptor(int fd) {
    struct signalfd_siginfo records[16];
    int count = 0;
    for (;;) {
        ssize_t got = read(fd, records, sizeof(records));
        if (got <= 0) break;
        count += (int)(got / (ssize_t)sizeof(records[0]));
    }
    return count;
}

int shakedown_set_signal_mask(const sigset_t *mask) {
    return sigprocmask(SIG_SETMASK, mask, NULL);
}

int shakedown_block_termination_signals(void) {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    return sigprocmask(SIG_BLOCK, &mask, NULL);
}

const void *shakedown_memmem(const void *haystack, size_t length, const void *needle, size_t needle_length) {
    return memmem(haystack, length, needle, needle_length);
}

const void *shakedown_memrchr(const void *bytes, int byte, size_t length) {
    return memrchr(bytes, byte, length);
}

// What the spawned child needs and what it reports back. The child shares the parent's memory (CLONE_VM) and the
// parent is suspended until it execs or exits (CLONE_VFORK), so it can write its failure here directly.
struct spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    pid_t parent;
    int failure_step;
    int failure_errno;
};

// Runs on its own stack in the parent's address space: raw system calls only, no allocation, no locks.
static int spawn_child(void *argument) {
    struct spawn_request *request = argument;
    // The parent's signal handlers live in memory this child shares; reset every handled signal before unblocking,
    // as posix_spawn does (exec resets them too, but a signal could arrive before it).
    for (int signal = 1; signal < NSIG; signal++) {
        struct sigaction current;
        if (signal == SIGKILL || signal == SIGSTOP) continue;
        if (sigaction(signal, NULL, &current) == 0 && current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) {
            struct sigaction fallback;
            memset(&fallback, 0, sizeof(fallback));
            fallback.sa_handler = SIG_DFL;
            sigaction(signal, &fallback, NULL);
        }
    }
    request->failure_step = SHAKEDOWN_SPAWN_PDEATHSIG;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0) {
        if (getppid() != request->parent) _exit(127);
        sigset_t none;
        sigemptyset(&none);
        request->failure_step = SHAKEDOWN_SPAWN_SIGMASK;
        if (sigprocmask(SIG_SETMASK, &none, NULL) == 0) {
            request->failure_step = SHAKEDOWN_SPAWN_EXEC;
            // syscalls/pct modes: the seccomp filter goes in right before exec, its listener to the run leader.
            if ((errno = shakedown_syscall_control_enter(1)) == 0) execve(request->path, request->argv, request->envp);
        }
    }
    request->failure_errno = errno;
    _exit(127);
}

pid_t shakedown_spawn(const char *path, char *const argv[], char *const envp[], int *failure_errno,
                      int *failure_step) {
    *failure_errno = 0;
    *failure_step = SHAKEDOWN_SPAWN_FORK;
    // clone(CLONE_VM | CLONE_VFORK) instead of fork: no copy of the page tables of a process the size of a test
    // runner, which is most of what starting a command cost (docs/benchmarks.md).
    const size_t stack_size = 64 * 1024;
    void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        *failure_errno = errno;
        return -1;
    }
    struct spawn_request request = {path, argv, envp, getpid(), 0, 0};
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    pid_t pid = clone(spawn_child, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &request);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    munmap(stack, stack_size);
    if (pid < 0) {
        *failure_errno = saved;
        return -1;
    }
    if (request.failure_errno != 0 || request.failure_step != SHAKEDOWN_SPAWN_EXEC || request.failure_step == 0) {
        // The child exited without exec'ing (it is a zombie already): reap it and say why.
        if (request.failure_step == SHAKEDOWN_SPAWN_EXEC && request.failure_errno == 0) return pid;
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *failure_step = request.failure_step == 0 ? SHAKEDOWN_SPAWN_PDEATHSIG : request.failure_step;
        *failure_errno = request.failure_errno;
        return -1;
    }
    return pid;
}
