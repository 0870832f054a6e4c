// Race catalogue: check-then-act double initialisation. `race-double-init [--fixed] DIR N` walks N resources; for each
// it checks whether DIR/init-K exists and, if not, "initialises" it: creates the marker and appends one line to
// DIR/log. Copies that check at the same time both initialise, so the log gets more than N lines. The fixed twin
// creates the marker with O_EXCL and initialises only when that succeeded.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fixed = argc > 1 && strcmp(argv[1], "--fixed") == 0;
    if (argc != 3 + fixed) {
        fprintf(stderr, "usage: race-double-init [--fixed] DIR N\n");
        return 64;
    }
    const char *dir = argv[1 + fixed];
    long n = atol(argv[2 + fixed]);
    char marker[4096], log[4096], line[64];
    snprintf(log, sizeof log, "%s/log", dir);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (logfd < 0) { perror("open log"); return 1; }
    for (long k = 0; k < n; k++) {
        snprintf(marker, sizeof marker, "%s/init-%ld", dir, k);
        int initialise = 0;
        if (fixed) {
            int fd = open(marker, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd >= 0) { initialise = 1; close(fd); }
            else if (errno != EEXIST) { perror("open marker"); return 1; }
        } else if (access(marker, F_OK) != 0) {  // the bug: check, then act
            int fd = open(marker, O_WRONLY | O_CREAT, 0644);
            if (fd < 0) { perror("open marker"); return 1; }
            close(fd);
            initialise = 1;
        }
        if (initialise) {
            int length = snprintf(line, sizeof line, "%ld %d\n", k, (int)getpid());
            if (write(logfd, line, (size_t)length) != length) { perror("write"); return 1; }
        }
    }
    return 0;
}
