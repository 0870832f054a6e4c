// Race catalogue: lost update on shared memory. `race-shm-counter [--fixed] FILE N` adds 1 to a counter in FILE
// (mapped MAP_SHARED) N times with a plain load and store; copies started together lose updates. The fixed twin
// (--fixed) uses an atomic add. No Shakedown code in here: this is what a user's plain program looks like.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 3 + fixed) {
        fprintf(stderr, "usage: race-shm-counter [--fixed] FILE N\n");
        return 64;
    }
    long n = atol(argv[2 + fixed]);
    int fd = open(argv[1 + fixed], O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); return 1; }
    volatile int64_t *counter = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (counter == MAP_FAILED) { perror("mmap"); return 1; }
    for (long i = 0; i < n; i++) {
        if (fixed) __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
        else *counter = *counter + 1;  // the bug: load, add, store
    }
    return 0;
}
