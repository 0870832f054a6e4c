#ifndef SHAKEDOWN_PROCESS_H
#define SHAKEDOWN_PROCESS_H

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

/// fork(2) + execve(2) for a command worker: the child only makes async-signal-safe calls (setpgid is not
/// made: the command stays in its shepherd's group), arms PR_SET_PDEATHSIG(SIGKILL), unblocks all signals,
/// and leaves with _exit(127) when exec fails. Returns the pid, or -1 with errno.
pid_t shakedown_spawn(const char *path, char *const argv[], char *const envp[]);

#ifdef __cplusplus
}
#endif
#endif
