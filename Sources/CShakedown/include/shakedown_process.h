#ifndef SHAKEDOWN_PROCESS_H
#define SHAKEDOWN_PROCESS_H

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// prctl(PR_SET_CHILD_SUBREAPER). Returns 0 or -1 with errno.
int shakedown_set_child_subreaper(int enabled);
/// prctl(PR_GET_CHILD_SUBREAPER). Returns 0/1, or -1 with errno.
int shakedown_get_child_subreaper(void);
/// prctl(PR_SET_PDEATHSIG). Returns 0 or -1 with errno.
int shakedown_set_parent_death_signal(int signal);
/// pidfd_open(2). Returns a descriptor or -1 with errno.
int shakedown_pidfd_open(pid_t pid);
/// tgkill(2).
int shakedown_tgkill(pid_t tgid, pid_t tid, int signal);
/// gettid(2).
pid_t shakedown_gettid(void);

/// fork(2) + execve(2) for a command worker: the child only makes async-signal-safe calls (setpgid is not
/// made: the command stays in its shepherd's group), arms PR_SET_PDEATHSIG(SIGKILL), unblocks all signals,
/// and leaves with _exit(127) when exec fails. Returns the pid, or -1 with errno.
pid_t shakedown_spawn(const char *path, char *const argv[], char *const envp[]);

#ifdef __cplusplus
}
#endif
#endif
