// Race catalogue: a lost wake-up (flag + semaphore). `race-lost-wakeup [--fixed] N` runs N hand-offs between a
// consumer and a producer thread. The consumer checks a flag and, when it is not set yet, says it is waiting and sleeps
// on a semaphore; the producer sets the flag and posts only when someone said it was waiting. When the producer sets
// the flag and looks between the consumer's check and its "waiting", nobody posts and the consumer sleeps until its
// timeout: exit 1 and "lost wake-up in hand-off K". The fixed twin always posts and always waits (a semaphore counts
// posts, so none is lost). No Shakedown code in here.
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HANDOFFS 100000

static volatile int ready[MAX_HANDOFFS];
static volatile int waiting[MAX_HANDOFFS];
static volatile long consumed = -1;  // the last hand-off the consumer started; paces the producer
static sem_t posted[MAX_HANDOFFS];
static long handoffs;
static int fixed;

static int timed_wait(sem_t *semaphore, long milliseconds) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += milliseconds / 1000;
    deadline.tv_nsec += (milliseconds % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
    int result;
    while ((result = sem_timedwait(semaphore, &deadline)) != 0 && errno == EINTR) {}
    return result;
}

static void *produce(void *unused) {
    (void)unused;
    for (long k = 0; k < handoffs; k++) {
        while (consumed < k) sched_yield();  // hand-off k begins when the consumer reached it
        ready[k] = 1;
        if (fixed || waiting[k]) sem_post(&posted[k]);  // the bug (unless fixed): post only to a declared waiter
    }
    return 0;
}

int main(int argc, char **argv) {
    fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 2 + fixed) {
        fprintf(stderr, "usage: race-lost-wakeup [--fixed] N\n");
        return 64;
    }
    handoffs = atol(argv[1 + fixed]);
    if (handoffs < 1 || handoffs > MAX_HANDOFFS) {
        fprintf(stderr, "N must be within 1...%d\n", MAX_HANDOFFS);
        return 64;
    }
    for (long k = 0; k < handoffs; k++) sem_init(&posted[k], 0, 0);
    pthread_t producer;
    if (pthread_create(&producer, 0, produce, 0) != 0) { perror("pthread_create"); return 2; }
    for (long k = 0; k < handoffs; k++) {
        consumed = k;
        if (fixed) {
            // The fix: wait unconditionally; the producer posts every time. 10 s only so that a broken twin ends.
            if (timed_wait(&posted[k], 10000) != 0) { printf("fixed twin: hand-off %ld never posted\n", k); return 2; }
        } else if (!ready[k]) {  // the bug: check, then declare
            waiting[k] = 1;
            if (timed_wait(&posted[k], 100) != 0) {
                printf("lost wake-up in hand-off %ld\n", k);
                return 1;
            }
        }
    }
    pthread_join(producer, 0);
    return 0;
}
