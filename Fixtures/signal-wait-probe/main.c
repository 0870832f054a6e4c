// Whether a program that takes signals synchronously sees the preload library's timer signal. A program that blocks
// signals and waits for them (sigwait, sigwaitinfo, sigtimedwait, signalfd) never installs a handler for the timer's
// signal, so the library does not step aside; its timer expiries then sat pending on the blocked signal and the waits
// returned them: a sigwait thread on a full set (the classic daemon signal thread) got "signal 62" and exited.
//
// `signal-wait-probe MODE` blocks the signals MODE names, computes for about 100 ms (the timer fires meanwhile),
// then waits 100 ms for one; exit 0 when nothing arrived it did not send itself, 1 with "MODE: got N code C" when
// something did, 2 on another failure. Modes:
//   sigtimedwait-all   block every signal, sigtimedwait on all of them
//   sigwaitinfo-own    block SIGRTMAX-2 only, sigtimedwait on it, then send it to itself: sigwaitinfo must return
//                      that one (SI_USER), so the program's own use of the signal still works
//   sigwait-thread     a thread in sigwait on a full set while the main thread computes
//   signalfd-own       block SIGRTMAX-2, read it through a signalfd, then send it to itself: the read returns that one
//   signalfd-all       every signal through a signalfd
// No Shakedown code in here.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static void compute(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        for (unsigned long i = 0; i < 100000; i++) sink += i;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < 100000000L);
}

static void *signal_thread(void *unused) {
    (void)unused;
    sigset_t all;
    sigfillset(&all);
    int number = 0;
    int error = sigwait(&all, &number);
    printf("sigwait-thread: got %d (error %d)\n", number, error);
    fflush(stdout);
    _exit(1);
}

static int through_signalfd(const char *mode, const sigset_t *set, int own) {
    int fd = signalfd(-1, set, SFD_CLOEXEC);
    if (fd < 0) return perror("signalfd"), 2;
    compute();
    struct pollfd entry = {fd, POLLIN, 0};
    if (poll(&entry, 1, 100) != 0) {
        struct signalfd_siginfo info;
        if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) return perror("read"), 2;
        printf("%s: got %u code %d\n", mode, info.ssi_signo, info.ssi_code);
        return 1;
    }
    if (own) {
        kill(getpid(), SIGRTMAX - 2);
        struct signalfd_siginfo info;
        if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) return perror("read"), 2;
        if ((int)info.ssi_signo != SIGRTMAX - 2 || info.ssi_code != SI_USER) {
            printf("%s: own signal came back as %u code %d\n", mode, info.ssi_signo, info.ssi_code);
            return 1;
        }
    }
    printf("%s: ok\n", mode);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    int own = strstr(mode, "-own") != 0;
    sigset_t set;
    sigemptyset(&set);
    if (own) sigaddset(&set, SIGRTMAX - 2); else sigfillset(&set);
    if (pthread_sigmask(SIG_BLOCK, &set, 0) != 0) return 2;
    if (!strcmp(mode, "sigwait-thread")) {
        pthread_t thread;
        if (pthread_create(&thread, 0, signal_thread, 0) != 0) return 2;
        compute();
        compute();
        printf("%s: ok\n", mode);
        return 0;
    }
    if (!strncmp(mode, "signalfd-", 9)) return through_signalfd(mode, &set, own);
    if (strcmp(mode, "sigtimedwait-all") && strcmp(mode, "sigwaitinfo-own")) {
        fprintf(stderr, "usage: signal-wait-probe sigtimedwait-all|sigwaitinfo-own|sigwait-thread|signalfd-own|signalfd-all\n");
        return 2;
    }
    compute();
    struct timespec timeout = {0, 100000000};
    siginfo_t info;
    int number = sigtimedwait(&set, &info, &timeout);
    if (number >= 0) {
        printf("%s: got %d code %d\n", mode, number, info.si_code);
        return 1;
    }
    if (errno != EAGAIN) return perror("sigtimedwait"), 2;
    if (own) {
        kill(getpid(), SIGRTMAX - 2);
        number = sigwaitinfo(&set, &info);
        if (number != SIGRTMAX - 2 || info.si_code != SI_USER) {
            printf("%s: own signal came back as %d code %d\n", mode, number, info.si_code);
            return 1;
        }
    }
    printf("%s: ok\n", mode);
    return 0;
}
