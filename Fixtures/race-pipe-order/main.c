// Race catalogue: message reordering over a pipe. `race-pipe-order [--fixed] N` runs two sender threads that each
// take N sequence numbers from a shared ticket counter and write each one to a pipe as its own message; the main
// thread reads them and expects them in sequence. A sender that takes a number and is overtaken before its write
// delivers it late: exit 1 and "message K arrived after L". The fixed twin takes the number and writes it under one
// mutex. No Shakedown code in here.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long messages;
static int fixed;
static int pipe_ends[2];
static uint64_t ticket;  // atomic: taking a number is not the bug
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *send_messages(void *unused) {
    (void)unused;
    for (long i = 0; i < messages; i++) {
        if (fixed) pthread_mutex_lock(&lock);
        uint64_t number = __atomic_fetch_add(&ticket, 1, __ATOMIC_RELAXED);
        // the bug (unless fixed): the number and the write are two steps
        if (write(pipe_ends[1], &number, sizeof number) != sizeof number) { perror("write"); exit(2); }
        if (fixed) pthread_mutex_unlock(&lock);
    }
    return 0;
}

int main(int argc, char **argv) {
    fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 2 + fixed) {
        fprintf(stderr, "usage: race-pipe-order [--fixed] N\n");
        return 64;
    }
    messages = atol(argv[1 + fixed]);
    if (messages < 1 || pipe(pipe_ends) != 0) { fprintf(stderr, "N must be positive, and a pipe is needed\n"); return 64; }
    pthread_t senders[2];
    for (int t = 0; t < 2; t++) {
        if (pthread_create(&senders[t], 0, send_messages, 0) != 0) { perror("pthread_create"); return 2; }
    }
    int reordered = 0;
    for (long received = 0; received < 2 * messages; received++) {
        uint64_t number;
        size_t have = 0;
        while (have < sizeof number) {  // 8-byte writes are atomic on a pipe, but read what arrives
            ssize_t got = read(pipe_ends[0], (char *)&number + have, sizeof number - have);
            if (got <= 0) { perror("read"); return 2; }
            have += (size_t)got;
        }
        // Numbers are 0, 1, 2, ... in the order they were taken: in order means each at its own position.
        if (number != (uint64_t)received && !reordered) {
            printf("message %llu arrived at position %ld\n", (unsigned long long)number, received);
            reordered = 1;
        }
    }
    for (int t = 0; t < 2; t++) pthread_join(senders[t], 0);
    return reordered ? 1 : 0;
}
