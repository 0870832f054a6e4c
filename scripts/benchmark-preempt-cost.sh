#!/usr/bin/env bash
# What preemption timers cost on this machine: a C loop runs 0.4 s of wall time alone, then under the preload library
# with a no-op action (spin 0), the standard actions (yield or sleep) and the old mix with spins, at three maximum
# intervals (the standard is < 30 µs), 0.4 s each (the full rate); then the standard over 1, 2, 4 and 8 s runs. Prints the share of the loop's
# progress left and the timer signals handled per second. Usage: scripts/benchmark-preempt-cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product ShakedownPreempt >/dev/null
library="$PWD/.build/release/libShakedownPreempt.so"
work="$(mktemp -d /tmp/shakedown-preempt-cost-XXXXXX)"
trap 'rm -rf "$work"' EXIT
cat > "$work/spin.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    volatile uint64_t n = 0;
    double end = now() + (argc > 1 ? atof(argv[1]) : 1.0);
    while (now() < end) for (int i = 0; i < 1000; i++) n++;
    printf("%llu\n", (unsigned long long)n);
    return 0;
}
C
cc -O2 -o "$work/spin" "$work/spin.c"
# 0.4 s: inside the full-rate window (the first 0.5 s of a process's timers).
alone="$("$work/spin" 0.4)"
echo "alone: $alone iterations in 0.4 s"
for interval in 10000 30000 100000; do
    for action in "0,0,1,1000,1 no-op" "1,1,0,50000,2000 yield/sleep<50µs(standard)" "1,1,1,50000,2000 yield/sleep<50µs/spin(old)"; do
        set -- $action
        rm -f "$work/report"
        n="$(SHAKEDOWN_PREEMPT_REPORT="$work/report" SHAKEDOWN_PREEMPT="1,$interval,$1" LD_PRELOAD="$library" "$work/spin" 0.4)"
        fired="$(grep -o 'fired=[0-9]*' "$work/report" | cut -d= -f2)"
        awk -v n="$n" -v a="$alone" -v f="$fired" -v i="$interval" -v name="$2" \
            'BEGIN { printf "timers < %d µs, %s: %.0f %% of the progress, %d signals/s\n", i / 1000, name, 100 * n / a, f / 0.4 }'
    done
done
# The full rate lasts 0.5 s, then the intervals double every 0.5 s (at most 64 ×): a longer run keeps more of its speed.
for seconds in 1 2 4 8; do
    alone="$("$work/spin" "$seconds")"
    rm -f "$work/report"
    n="$(SHAKEDOWN_PREEMPT_REPORT="$work/report" SHAKEDOWN_PREEMPT="1,30000,1,1,0,50000,2000" LD_PRELOAD="$library" "$work/spin" "$seconds")"
    fired="$(grep -o 'fired=[0-9]*' "$work/report" | cut -d= -f2)"
    awk -v n="$n" -v a="$alone" -v f="$fired" -v s="$seconds" \
        'BEGIN { printf "a %d s run, the standard (< 30 µs, yield/sleep): %.0f %% of the progress, %d signals in all\n", s, 100 * n / a, f }'
done
