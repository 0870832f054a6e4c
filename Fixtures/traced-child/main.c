// Whether a traced program sees the preload library's timer. A tracer (gdb, strace) stops its tracee at every signal
// the tracee receives and reports it: under preemption gdb stopped the program at "signal SIG62" and strace printed a
// line per expiry, some 200,000 for `python3 -c pass`.
//
// `traced-child` starts itself as `traced-child work` (about 100 ms of computing) traced with PTRACE_TRACEME, the way
// gdb and strace start a program, and continues it after every stop as strace does, passing signals on. Prints
// "signal stops=N exit=C"; exit 0 when the child exited 0 without a single signal stop, 1 when it was stopped by a
// signal, 2 on another failure, 3 when this system refuses PTRACE_TRACEME. No Shakedown code in here.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static int work(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (unsigned long i = 0; i < 100000; i++) sink += i;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 100000000L);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "work")) return work();
    char self[4096];
    ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
    if (length <= 0) return 2;
    self[length] = 0;
    pid_t child = fork();
    if (child < 0) return 2;
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(3);
        execl(self, self, "work", (char *)0);
        _exit(2);
    }
    int stops = 0, status = 0;
    for (;;) {
        if (waitpid(child, &status, 0) < 0) {
            if (errno == EINTR) continue;
            return 2;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) break;
        if (!WIFSTOPPED(status)) continue;
        int signal = WSTOPSIG(status);
        if (signal == SIGTRAP) {  // the stop after execve
            ptrace(PTRACE_CONT, child, 0, 0);
            continue;
        }
        if (++stops <= 3) printf("stopped by signal %d\n", signal);
        ptrace(PTRACE_CONT, child, 0, (void *)(long)signal);
    }
    if (WIFSIGNALED(status)) return 2;
    int code = WEXITSTATUS(status);
    printf("signal stops=%d exit=%d\n", stops, code);
    if (code == 3) return 3;
    return code ? 2 : (stops ? 1 : 0);
}
