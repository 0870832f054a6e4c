// Race catalogue: lost update on shared memory where the value read is used. `race-shm-tickets [--fixed] FILE N`
// draws N tickets from a counter in FILE (mapped MAP_SHARED): read the next ticket, store it plus one, keep the one
// read (the copy prints the sum of its tickets). Copies started together draw the same ticket and the counter ends
// below copies × N. The fixed twin draws with an atomic fetch-and-add. No Shakedown code in here.
//
// Why next to race-shm-counter: there, `*counter = *counter + 1` compiles at -O to one `incq (mem)` instruction,
// and an interrupt (so any preemption) comes between instructions, never inside one: only two cores executing it at
// the same moment lose an update. Here the ticket is used, so the load and the store are separate instructions with
// a window between them that preemption can land in, as in most real read-modify-write code.
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
        fprintf(stderr, "usage: race-shm-tickets [--fixed] FILE N\n");
        return 64;
    }
    long n = atol(argv[2 + fixed]);
    int fd = open(argv[1 + fixed], O_RDWR | O_CREAT, 0644);
    if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); return 2; }
    volatile uint64_t *next = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (next == MAP_FAILED) { perror("mmap"); return 2; }
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        uint64_t ticket;
        if (fixed) {
            ticket = __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
        } else {
            ticket = *next;      // the bug: read ...
            *next = ticket + 1;  // ... then write
        }
        sum += ticket;
    }
    printf("%llu\n", (unsigned long long)sum);
    return 0;
}
