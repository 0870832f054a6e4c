// Many threads that wait, as a JVM's or a thread pool's do: `idle-threads [THREADS] [MS]` starts THREADS threads
// (default 16) that wait on a condition variable (a futex, which Linux restarts after a handler, so the preload library
// does not hold its signal there) for MS milliseconds (default 500), then wakes them and exits 0.
// Under preemption each waiting thread's timer keeps firing; the library backs a waiting thread off, and how far it
// backs off decides how often idle threads are woken: with 2^5 at most, 25 threads of each of 4 JVMs were woken some
// 130,000 times a second on 2 CPUs and eight `java` copies ran past the 60 s deadline (1 s without preemption).
// No Shakedown code in here.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int done;

static void *wait_until_done(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    while (!done) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return 0;
}

int main(int argc, char **argv) {
    int count = argc > 1 ? atoi(argv[1]) : 16;
    long milliseconds = argc > 2 ? atol(argv[2]) : 500;
    if (count < 1 || count > 1000 || milliseconds < 0 || milliseconds > 60000) return 2;
    pthread_t threads[1000];
    for (int i = 0; i < count; i++) {
        if (pthread_create(&threads[i], 0, wait_until_done, 0) != 0) return 2;
    }
    struct timespec pause = {milliseconds / 1000, (milliseconds % 1000) * 1000000};
    while (nanosleep(&pause, &pause) != 0) {}
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < count; i++) pthread_join(threads[i], 0);
    printf("idle-threads: %d threads waited %ld ms\n", count, milliseconds);
    return 0;
}
