#ifndef SHAKEDOWN_PROCESS_H
#define SHAKEDOWN_PROCESS_H
#include "shakedown_platform.h"

#include <stdint.h>
#include <signal.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// _exit(2), without lazy symbol binding in the calling (freshly forked) process: see shakedown_process.c.
__attribute__((noreturn)) void shakedown_exit_now(int status);
/// prctl(PR_SET_CHILD_SUBREAPER). Returns 0 or -1 with errno.
int shakedown_set_child_subreaper(int enabled);
/// prctl(PR_GET_CHILD_SUBREAPER). Returns 0/1, or -1 with errno.
int shakedown_get_child_subreaper(void);
/// prctl(PR_SET_PDEATHSIG). Returns 0 or -1 with errno.
int shakedown_set_parent_death_signal(int signal);
/// prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY): under Yama ptrace_scope=1, lets any process of the same user
/// trace this one, not only its ancestors. Returns 0, or -1 with errno (EINVAL: no Yama, nothing to allow).
int shakedown_allow_any_tracer(void);
/// pidfd_open(2). Returns a descriptor or -1 with errno.
int shakedown_pidfd_open(pid_t pid);
/// pidfd_send_signal(2) with no siginfo and no flags. Returns 0 or -1 with errno (ESRCH once the process has
/// exited, even when its pid was reused since).
int shakedown_pidfd_send_signal(int pidfd, int signal);
/// setvbuf(stdout, NULL, _IOLBF, 0): Swift 6 cannot touch the `stdout` global.
void shakedown_line_buffer_stdout(void);
/// pipe2(2) with O_CLOEXEC (glibc declares pipe2 only under _GNU_SOURCE). Returns 0 or -1 with errno.
int shakedown_pipe(int fds[2]);
/// memfd_create(2) with MFD_CLOEXEC. Returns a descriptor or -1 with errno.
int shakedown_memfd_create(const char *name);
/// gettid(2).
pid_t shakedown_gettid(void);

/// Blocks SIGCHLD in the calling thread and returns a non-blocking, close-on-exec signalfd that reports it;
/// `previous` receives the mask as it was. Returns -1 with errno on failure.
int shakedown_sigchld_descriptor(sigset_t *previous);
/// Reads and discards every pending signal record from a signalfd. Returns how many were read.
int shakedown_drain_signal_descriptor(int fd);
/// Sets the calling thread's signal mask.
int shakedown_set_signal_mask(const sigset_t *mask);
/// Blocks SIGTERM, SIGINT, SIGHUP and SIGQUIT in the calling thread (a shepherd lets its command take them).
int shakedown_block_termination_signals(void);

/// memmem(3) and memrchr(3): glibc declares them only under _GNU_SOURCE. Used to scan worker output at memory
/// speed.
const void *shakedown_memmem(const void *haystack, size_t length, const void *needle, size_t needle_length);
const void *shakedown_memrchr(const void *bytes, int byte, size_t length);

/// The step of `shakedown_spawn` that failed.
enum {
    SHAKEDOWN_SPAWN_FORK = 1,
    SHAKEDOWN_SPAWN_PIPE = 2,
    SHAKEDOWN_SPAWN_PDEATHSIG = 3,
    SHAKEDOWN_SPAWN_SIGMASK = 4,
    SHAKEDOWN_SPAWN_EXEC = 5,
};

/// fork(2) + execve(2) for a command worker: the child only makes async-signal-safe calls (setpgid is not
/// made: the command stays in its shepherd's group), arms PR_SET_PDEATHSIG(SIGKILL), unblocks all signals,
/// and execs. Returns the pid once exec has succeeded; -1 with `*failure_step` and `*failure_errno` set when a
/// step failed (a child that could not exec reports its errno through a close-on-exec pipe, and is reaped).
pid_t shakedown_spawn(const char *path, char *const argv[], char *const envp[], int *failure_errno,
                      int *failure_step);

#ifdef __cplusplus
}
#endif
#endif
