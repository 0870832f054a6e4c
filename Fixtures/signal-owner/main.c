// A program that owns SIGRTMAX - 2, the signal Shakedown's preemption timers use: after a busy warm-up it installs
// its own handler, sends itself 100 signals with sigqueue, and keeps busy for a while. Exit 0 when its handler saw
// exactly its own 100 signals; exit 1, naming what arrived, when anything else (a foreign timer expiry) reached it.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t own, foreign;

static void handler(int signal, siginfo_t *info, void *context) {
    (void)signal;
    (void)context;
    if (info->si_code == SI_QUEUE && info->si_value.sival_int == 42) own++;
    else foreign++;
}

static void busy(long milliseconds) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < milliseconds);
}

int main(void) {
    int sig = SIGRTMAX - 2;
    busy(20);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = handler;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    if (sigaction(sig, &action, 0) != 0) { perror("sigaction"); return 2; }
    union sigval value = {.sival_int = 42};
    for (int i = 0; i < 100; i++) sigqueue(getpid(), sig, value);
    busy(50);
    if (own != 100 || foreign != 0) {
        printf("own %d foreign %d\n", (int)own, (int)foreign);
        return 1;
    }
    return 0;
}
