// Race catalogue: read-modify-write of a file. `race-file-counter [--fixed] FILE N` reads an 8-byte counter with
// pread, adds 1 and writes it back with pwrite, N times; copies started together lose updates. The fixed twin holds
// flock(LOCK_EX) around each update.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 3 + fixed) {
        fprintf(stderr, "usage: race-file-counter [--fixed] FILE N\n");
        return 64;
    }
    long n = atol(argv[2 + fixed]);
    int fd = open(argv[1 + fixed], O_RDWR | O_CREAT, 0644);
    if (fd < 0) { perror("open"); return 1; }
    for (long i = 0; i < n; i++) {
        if (fixed && flock(fd, LOCK_EX) != 0) { perror("flock"); return 1; }
        int64_t value = 0;
        if (pread(fd, &value, sizeof value, 0) < 0) { perror("pread"); return 1; }
        value += 1;
        if (pwrite(fd, &value, sizeof value, 0) != sizeof value) { perror("pwrite"); return 1; }
        if (fixed) flock(fd, LOCK_UN);
    }
    return 0;
}
