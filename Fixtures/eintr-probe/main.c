// Whether preemption changes what blocking calls return. Linux never restarts some calls after a signal handler ran,
// SA_RESTART or not (signal(7)): poll, ppoll, select, pselect, epoll_wait/epoll_pwait/epoll_pwait2, System V
// msgrcv/msgsnd/semop/semtimedop, pause, sigsuspend, sigtimedwait, sigwaitinfo; glibc's sem_timedwait and
// sem_clockwait return EINTR too (measured; sem_wait is probed as well). Under `--jitter preempt` the preload
// library's timer signal must not make them fail with EINTR: the program never asked for that signal.
//
// `eintr-probe [MS]` calls each one for MS milliseconds (default 100) with 2 ms timeouts (or a helper thread that
// completes the call every 2 ms) and prints "CALL calls=N eintr=M" per call: exit 0 when no call returned EINTR
// (pause and sigsuspend count a return without the program's SIGUSR1), 1 when any did, 2 on another failure.
// `eintr-probe --own-signal` checks the other half: a helper thread sends SIGUSR1 (its handler has no SA_RESTART)
// every 20 ms while each call waits up to 3 s (or for a message, post or room that never comes); exit 0 when every
// call returned EINTR for SIGUSR1 (and none without it), well before its timeout. pause, sigsuspend and sigwaitinfo
// are left out there: the plain probe has them wait for SIGUSR1 already.
// `eintr-probe --cost N` times N calls of poll(NULL, 0, 0) and prints "poll(NULL,0,0) ns=X": what the preload
// library's hold costs a call that never blocks. No Shakedown code in here.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

extern int __poll_chk(struct pollfd *, nfds_t, int, size_t);
extern int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);

static volatile sig_atomic_t own_signals;
static pthread_t main_thread;
static int epoll_fd, message_queue, semaphore_set, pipe_fds[2];
static sem_t never_posted, posted_by_helper;
static sigset_t usual_mask;  // the main thread's mask with SIGUSR1 unblocked

struct message {
    long type;
    char text[8];
};

static void own_handler(int signal) {
    (void)signal;
    own_signals++;
}

static struct timespec span(int milliseconds) {
    return (struct timespec){milliseconds / 1000, (long)(milliseconds % 1000) * 1000000};
}

static struct timespec deadline(clockid_t clock, int milliseconds) {
    struct timespec now;
    clock_gettime(clock, &now);
    now.tv_nsec += (long)(milliseconds % 1000) * 1000000;
    now.tv_sec += milliseconds / 1000 + now.tv_nsec / 1000000000;
    now.tv_nsec %= 1000000000;
    return now;
}

// MARK: calls with a timeout

static int call_poll(int ms) { return poll(NULL, 0, ms); }
static int call_poll_chk(int ms) {
    struct pollfd fd = {pipe_fds[0], POLLIN, 0};
    return __poll_chk(&fd, 1, ms, sizeof fd);
}
static int call_ppoll(int ms) { struct timespec t = span(ms); return ppoll(NULL, 0, &t, &usual_mask); }
static int call_ppoll_nomask(int ms) { struct timespec t = span(ms); return ppoll(NULL, 0, &t, NULL); }
static int call_ppoll_chk(int ms) {
    struct pollfd fd = {pipe_fds[0], POLLIN, 0};
    struct timespec t = span(ms);
    return __ppoll_chk(&fd, 1, &t, &usual_mask, sizeof fd);
}
static int call_select(int ms) {
    struct timeval t = {ms / 1000, (ms % 1000) * 1000};
    return select(0, NULL, NULL, NULL, &t);
}
static int call_pselect(int ms) { struct timespec t = span(ms); return pselect(0, NULL, NULL, NULL, &t, &usual_mask); }
static int call_pselect_nomask(int ms) { struct timespec t = span(ms); return pselect(0, NULL, NULL, NULL, &t, NULL); }
static int call_epoll_wait(int ms) { struct epoll_event e; return epoll_wait(epoll_fd, &e, 1, ms); }
static int call_epoll_pwait(int ms) { struct epoll_event e; return epoll_pwait(epoll_fd, &e, 1, ms, &usual_mask); }
static int call_epoll_pwait_nomask(int ms) { struct epoll_event e; return epoll_pwait(epoll_fd, &e, 1, ms, NULL); }
static int call_epoll_pwait2(int ms) {
    struct epoll_event e;
    struct timespec t = span(ms);
    return epoll_pwait2(epoll_fd, &e, 1, &t, &usual_mask);
}
static int call_sem_timedwait(int ms) { struct timespec t = deadline(CLOCK_REALTIME, ms); return sem_timedwait(&never_posted, &t); }
static int call_sem_clockwait(int ms) {
    struct timespec t = deadline(CLOCK_MONOTONIC, ms);
    return sem_clockwait(&never_posted, CLOCK_MONOTONIC, &t);
}
static int call_semtimedop(int ms) {
    struct sembuf take = {0, -1, 0};
    struct timespec t = span(ms);
    return semtimedop(semaphore_set, &take, 1, &t);
}
static int call_sigtimedwait(int ms) {
    sigset_t never;
    sigemptyset(&never);
    sigaddset(&never, SIGUSR2);
    struct timespec t = span(ms);
    return sigtimedwait(&never, NULL, &t);
}

// MARK: calls a helper thread completes every 2 ms

static int call_msgrcv(int ms) {
    (void)ms;
    struct message m;
    return (int)msgrcv(message_queue, &m, sizeof m.text, 0, 0);
}
static int call_msgsnd(int ms) {
    (void)ms;
    struct message m = {1, "full"};
    return msgsnd(message_queue, &m, sizeof m.text, 0);  // the queue holds one message
}
static int call_sem_wait(int ms) {
    (void)ms;
    return sem_wait(&posted_by_helper);
}
static int call_semop(int ms) {
    (void)ms;
    struct sembuf take = {0, -1, 0};
    return semop(semaphore_set, &take, 1);
}
// pause and sigsuspend always return -1/EINTR: a return counts as EINTR unless the program's own signal came.
static int signal_came(int before) { return own_signals != before ? 0 : (errno = EINTR, -1); }
static int call_pause(int ms) {
    (void)ms;
    int before = own_signals;
    pause();
    return signal_came(before);
}
static int call_sigsuspend(int ms) {
    (void)ms;
    int before = own_signals;
    sigsuspend(&usual_mask);  // SIGUSR1 is blocked outside it, so it arrives only in here
    return signal_came(before);
}
static int call_sigwaitinfo(int ms) {
    (void)ms;
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGUSR1);
    return sigwaitinfo(&wanted, NULL) == SIGUSR1 ? 0 : -1;
}

static void tick_send(void) { struct message m = {1, "tick"}; msgsnd(message_queue, &m, sizeof m.text, IPC_NOWAIT); }
static void tick_receive(void) { struct message m; msgrcv(message_queue, &m, sizeof m.text, 0, IPC_NOWAIT); }
static void tick_post(void) { struct sembuf give = {0, 1, 0}; semop(semaphore_set, &give, 1); }
static void tick_sem_post(void) { sem_post(&posted_by_helper); }
static void tick_signal(void) { pthread_kill(main_thread, SIGUSR1); }

// MARK: the probe

typedef struct probe {
    const char *name;
    int (*call)(int milliseconds);
    void (*tick)(void);       // the helper's action every 2 ms, or none
    int blocks_own_signal;    // SIGUSR1 blocked in the main thread during this probe
} probe;

static const probe probes[] = {
    {"poll", call_poll, 0, 0},
    {"__poll_chk", call_poll_chk, 0, 0},
    {"ppoll", call_ppoll, 0, 0},
    {"ppoll(NULL mask)", call_ppoll_nomask, 0, 0},
    {"__ppoll_chk", call_ppoll_chk, 0, 0},
    {"select", call_select, 0, 0},
    {"pselect", call_pselect, 0, 0},
    {"pselect(NULL mask)", call_pselect_nomask, 0, 0},
    {"epoll_wait", call_epoll_wait, 0, 0},
    {"epoll_pwait", call_epoll_pwait, 0, 0},
    {"epoll_pwait(NULL mask)", call_epoll_pwait_nomask, 0, 0},
    {"epoll_pwait2", call_epoll_pwait2, 0, 0},
    {"sem_timedwait", call_sem_timedwait, 0, 0},
    {"sem_clockwait", call_sem_clockwait, 0, 0},
    {"semtimedop", call_semtimedop, 0, 0},
    {"sigtimedwait", call_sigtimedwait, 0, 0},
    {"msgrcv", call_msgrcv, tick_send, 0},
    {"msgsnd", call_msgsnd, tick_receive, 0},
    {"sem_wait", call_sem_wait, tick_sem_post, 0},
    {"semop", call_semop, tick_post, 0},
    {"pause", call_pause, tick_signal, 0},
    {"sigsuspend", call_sigsuspend, tick_signal, 1},
    {"sigwaitinfo", call_sigwaitinfo, tick_signal, 1},
};

static volatile int ticking;
static void (*volatile tick_action)(void);
static int tick_interval_ms = 2;

static void *ticker(void *unused) {
    (void)unused;
    struct timespec pause_between = span(tick_interval_ms);
    while (__atomic_load_n(&ticking, __ATOMIC_ACQUIRE)) {
        nanosleep(&pause_between, NULL);
        tick_action();
    }
    return NULL;
}

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void set_own_signal_blocked(int blocked) {
    sigset_t own;
    sigemptyset(&own);
    sigaddset(&own, SIGUSR1);
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &own, NULL);
}

typedef struct tally {
    int calls;
    int foreign;  // EINTR returns without a SIGUSR1 during the call: the program did not ask for them
    int own;      // EINTR returns for the program's SIGUSR1
} tally;

/// Calls `p` for `milliseconds` (0: until the first EINTR, at most 3 calls) with `timeout` each and counts the calls
/// and the EINTR returns. Returns 0, or -1 after printing an unexpected error.
static int run_probe(const probe *p, void (*tick)(void), int milliseconds, int timeout, tally *counts) {
    pthread_t helper;
    set_own_signal_blocked(p->blocks_own_signal);
    if (tick) {
        tick_action = tick;
        __atomic_store_n(&ticking, 1, __ATOMIC_RELEASE);
        if (pthread_create(&helper, NULL, ticker, NULL) != 0) return -1;
    }
    *counts = (tally){0, 0, 0};
    int64_t end = now_ms() + milliseconds;
    int failed = 0;
    do {
        errno = 0;
        int before = own_signals;
        int result = p->call(timeout);
        counts->calls++;
        if (result == -1 && errno == EINTR) *(own_signals != before ? &counts->own : &counts->foreign) += 1;
        else if (result == -1 && errno != EAGAIN && errno != ETIMEDOUT) failed = errno;
    } while (!failed && (milliseconds ? now_ms() < end : counts->own + counts->foreign == 0 && counts->calls < 3));
    if (tick) {
        __atomic_store_n(&ticking, 0, __ATOMIC_RELEASE);
        pthread_join(helper, NULL);
    }
    set_own_signal_blocked(0);
    if (failed) printf("%s failed: %s\n", p->name, strerror(failed));
    return failed ? -1 : 0;
}

static int set_up(void) {
    main_thread = pthread_self();
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = own_handler;  // no SA_RESTART: the program's own signal interrupts whatever it can
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGUSR1, &action, NULL) != 0) return -1;
    pthread_sigmask(SIG_BLOCK, NULL, &usual_mask);
    sigdelset(&usual_mask, SIGUSR1);
    if (pipe(pipe_fds) != 0 || sem_init(&never_posted, 0, 0) != 0 || sem_init(&posted_by_helper, 0, 0) != 0) return -1;
    epoll_fd = epoll_create1(0);
    message_queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    semaphore_set = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (epoll_fd < 0 || message_queue < 0 || semaphore_set < 0) return -1;
    struct msqid_ds queue;
    if (msgctl(message_queue, IPC_STAT, &queue) != 0) return -1;
    queue.msg_qbytes = sizeof(((struct message *)0)->text);  // one message fills it, so msgsnd blocks
    return msgctl(message_queue, IPC_SET, &queue);
}

static void tear_down(void) {
    msgctl(message_queue, IPC_RMID, NULL);
    semctl(semaphore_set, 0, IPC_RMID);
}

static int measure_cost(const char *text) {
    long count = atol(text);
    if (count < 1 || count > 1000000000) {
        fprintf(stderr, "eintr-probe: --cost needs a count of 1-1000000000\n");
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) poll(NULL, 0, 0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ns = (double)(end.tv_sec - start.tv_sec) * 1e9 + (double)(end.tv_nsec - start.tv_nsec);
    printf("poll(NULL,0,0) ns=%.0f\n", ns / (double)count);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--cost") == 0) return measure_cost(argv[2]);
    int own_signal = argc > 1 && strcmp(argv[1], "--own-signal") == 0;
    int milliseconds = argc > 1 && !own_signal ? atoi(argv[1]) : 100;
    if (milliseconds < 1 || milliseconds > 60000) {
        fprintf(stderr, "usage: eintr-probe [MS 1-60000] | --own-signal | --cost N\n");
        return 2;
    }
    if (set_up() != 0) {
        perror("eintr-probe: set-up");
        tear_down();
        return 2;
    }
    int status = 0;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0] && status != 2; i++) {
        const probe *p = &probes[i];
        if (own_signal && p->tick == tick_signal) continue;  // these wait for SIGUSR1 in the plain probe already
        tally counts;
        tick_interval_ms = own_signal ? 20 : 2;
        int64_t start = now_ms();
        if (run_probe(p, own_signal ? tick_signal : p->tick, own_signal ? 0 : milliseconds, own_signal ? 3000 : 2,
                      &counts) != 0) {
            status = 2;
        } else if (own_signal) {
            int64_t took = now_ms() - start;
            printf("%s own-signal eintr=%d foreign=%d ms=%lld\n", p->name, counts.own, counts.foreign, (long long)took);
            if (counts.own != 1 || counts.foreign != 0 || took >= 2500) status = 1;  // not by the 3 s timeout
        } else {
            printf("%s calls=%d eintr=%d\n", p->name, counts.calls, counts.foreign);
            if (counts.foreign > 0) status = 1;
        }
    }
    tear_down();
    return status;
}
