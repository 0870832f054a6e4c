// Race catalogue: append without O_APPEND. `race-append [--fixed] FILE N` appends N 16-byte records by seeking to the
// end and writing; copies started together overwrite each other's records, so the file ends up shorter than
// copies × N × 16 bytes. The fixed twin opens the file with O_APPEND, which makes seek-and-write one atomic step.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 3 + fixed) {
        fprintf(stderr, "usage: race-append [--fixed] FILE N\n");
        return 64;
    }
    long n = atol(argv[2 + fixed]);
    int fd = open(argv[1 + fixed], O_WRONLY | O_CREAT | (fixed ? O_APPEND : 0), 0644);
    if (fd < 0) { perror("open"); return 1; }
    char record[17];
    for (long i = 0; i < n; i++) {
        snprintf(record, sizeof record, "%07d:%07ld\n", (int)getpid() % 10000000, i % 10000000);
        if (!fixed && lseek(fd, 0, SEEK_END) < 0) { perror("lseek"); return 1; }  // the bug: seek, then write
        if (write(fd, record, 16) != 16) { perror("write"); return 1; }
    }
    return 0;
}
