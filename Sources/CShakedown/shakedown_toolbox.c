#define _GNU_SOURCE
#include "shakedown_toolbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int64_t shakedown_high_water_enter(int64_t *holders, int64_t *high_water) {
    int64_t now = __atomic_add_fetch(holders, 1, __ATOMIC_SEQ_CST);
    int64_t seen = __atomic_load_n(high_water, __ATOMIC_SEQ_CST);
    while (now > seen &&
           !__atomic_compare_exchange_n(high_water, &seen, now, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        // `seen` was reloaded by the failed exchange; retry while ours is still the higher count.
    }
    return now;
}

int64_t shakedown_high_water_leave(int64_t *holders) {
    return __atomic_sub_fetch(holders, 1, __ATOMIC_SEQ_CST);
}

int shakedown_socket_pair(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
}

// Runs in the forked child: only async-signal-safe calls, and nothing that allocates.
static void become_command(const char *path, char *const argv[], char *const envp[], int stdout_fd,
                           int stderr_fd, const char *directory) {
    setpgid(0, 0);
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) (void)sigaction(signal, &(struct sigaction){.sa_handler = SIG_DFL}, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) { dup2(null_fd, 0); if (null_fd != 0) close(null_fd); }
    // dup2 clears close-on-exec on the copies; the originals are close-on-exec and vanish at exec.
    if (dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) _exit(127);
    if (directory != NULL && chdir(directory) != 0) _exit(127);
    if (strchr(path, '/') != NULL) execve(path, argv, envp);
    else execvpe(path, argv, envp);
    _exit(127);
}

pid_t shakedown_spawn_captured(const char *path, char *const argv[], char *const envp[], int stdout_fd,
                               int stderr_fd, const char *directory) {
    pid_t pid = fork();
    if (pid == 0) become_command(path, argv, envp, stdout_fd, stderr_fd, directory);
    if (pid > 0) setpgid(pid, pid);  // also from the parent, so a kill(-pid) right after return cannot miss
    return pid;
}
