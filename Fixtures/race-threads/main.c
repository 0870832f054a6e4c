// Race catalogue: two threads racing inside one process. `race-threads [--fixed] N` runs two threads that each add 1
// to a shared counter N times with a plain load and store, then checks the total itself: exit 1 and "lost K of M" when
// updates were lost, 0 otherwise. The fixed twin holds a mutex around each update.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int64_t counter;
static long iterations;
static int fixed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *add(void *unused) {
    (void)unused;
    for (long i = 0; i < iterations; i++) {
        if (fixed) pthread_mutex_lock(&lock);
        counter = counter + 1;  // the bug (unless fixed): load, add, store
        if (fixed) pthread_mutex_unlock(&lock);
    }
    return 0;
}

int main(int argc, char **argv) {
    fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 2 + fixed) {
        fprintf(stderr, "usage: race-threads [--fixed] N\n");
        return 64;
    }
    iterations = atol(argv[1 + fixed]);
    pthread_t threads[2];
    for (int t = 0; t < 2; t++) {
        if (pthread_create(&threads[t], 0, add, 0) != 0) { perror("pthread_create"); return 2; }
    }
    for (int t = 0; t < 2; t++) pthread_join(threads[t], 0);
    long expected = 2 * iterations;
    if (counter != expected) {
        printf("lost %ld of %ld\n", expected - (long)counter, expected);
        return 1;
    }
    return 0;
}
