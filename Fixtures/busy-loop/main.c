// `busy-loop N`: N increments of a volatile counter, then exit 0; a CPU-bound command with no system calls in its
// loop, to measure what preemption costs a command that computes for seconds. No Shakedown code in here.
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    long long n = argc == 2 ? atoll(argv[1]) : -1;
    if (n < 0) {
        fprintf(stderr, "usage: busy-loop N (N >= 0)\n");
        return 64;
    }
    volatile unsigned long long counter = 0;
    for (long long i = 0; i < n; i++) counter++;
    return counter == (unsigned long long)n ? 0 : 1;
}
