#define _GNU_SOURCE
#include "shakedown_trace.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

// Helpers (llvm-symbolizer, llvm-objcopy) must not outlive the inspector: posix_spawn cannot set a parent-death
// signal, so this forks and sets it in the child before exec. Between fork and exec the child calls only
// async-signal-safe functions (the parent may have other threads holding locks).

static void child_fail(int report, int code) {
    ssize_t ignored = write(report, &code, sizeof(code));
    (void)ignored;
    _exit(127);
}

static void child_redirect(int report, int fd, int target, int flags) {
    if (fd < 0) {
        fd = open("/dev/null", flags | O_CLOEXEC);
        if (fd < 0) child_fail(report, errno);
    }
    if (fd == target) {
        // dup2 to itself keeps FD_CLOEXEC; clear it so the helper keeps the descriptor.
        int current = fcntl(fd, F_GETFD);
        if (current < 0 || fcntl(fd, F_SETFD, current & ~FD_CLOEXEC) < 0) child_fail(report, errno);
        return;
    }
    if (dup2(fd, target) < 0) child_fail(report, errno);
}

int shakedown_spawn_tied(const char *path, char *const argv[], char *const envp[], int stdin_fd, int stdout_fd,
                         int stderr_fd, pid_t *pid_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int saved = errno;
        close(report[0]);
        close(report[1]);
        return saved;
    }
    if (child == 0) {
        close(report[0]);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(report[1], errno);
        // The parent may have died before prctl took effect: then nobody would send the signal.
        if (getppid() != parent) _exit(127);
        child_redirect(report[1], stdin_fd, 0, O_RDONLY);
        child_redirect(report[1], stdout_fd, 1, O_WRONLY);
        child_redirect(report[1], stderr_fd, 2, O_WRONLY);
        execve(path, argv, envp);
        child_fail(report[1], errno);
    }
    close(report[1]);
    int code = 0;
    ssize_t got;
    do {
        got = read(report[0], &code, sizeof(code));
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof(code)) {
        // exec failed: the child has exited (or is about to); reap it so it does not stay a zombie.
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return code != 0 ? code : EIO;
    }
    *pid_out = child;
    return 0;
}
