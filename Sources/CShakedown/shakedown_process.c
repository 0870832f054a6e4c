#define _GNU_SOURCE
#include "shakedown_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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

pid_t shakedown_spawn(const char *path, char *const argv[], char *const envp[], int *failure_errno,
                      int *failure_step) {
    *failure_errno = 0;
    *failure_step = SHAKEDOWN_SPAWN_FORK;
    // The child reports why it could not exec through a close-on-exec pipe: end of file means exec succeeded.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *failure_errno = errno;
        *failure_step = SHAKEDOWN_SPAWN_PIPE;
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        // Child: async-signal-safe calls only.
        close(report[0]);
        int failure[2] = {SHAKEDOWN_SPAWN_PDEATHSIG, 0};
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == 0) {
            if (getppid() != parent) _exit(127);
            sigset_t none;
            sigemptyset(&none);
            failure[0] = SHAKEDOWN_SPAWN_SIGMASK;
            if (sigprocmask(SIG_SETMASK, &none, NULL) == 0) {
                failure[0] = SHAKEDOWN_SPAWN_EXEC;
                execve(path, argv, envp);
            }
        }
        failure[1] = errno;
        ssize_t ignored = write(report[1], failure, sizeof(failure));
        (void)ignored;
        _exit(127);
    }
    int saved = errno;
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        *failure_errno = saved;
        return -1;
    }
    int failure[2] = {0, 0};
    ssize_t got;
    do {
        got = read(report[0], failure, sizeof(failure));
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof(failure)) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *failure_step = failure[0];
        *failure_errno = failure[1];
        return -1;
    }
    return pid;
}
