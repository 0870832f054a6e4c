#define _GNU_SOURCE
#include "shakedown_process.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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

int shakedown_tgkill(pid_t tgid, pid_t tid, int signal) {
    return (int)syscall(SYS_tgkill, tgid, tid, signal);
}

pid_t shakedown_gettid(void) {
    return (pid_t)syscall(SYS_gettid);
}

pid_t shakedown_spawn(const char *path, char *const argv[], char *const envp[]) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    // Child: async-signal-safe calls only.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
}
