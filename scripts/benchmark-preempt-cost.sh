#!/usr/bin/env bash
# What preemption timers cost on this machine: a C loop runs 1 s of wall time alone, then under the preload library
# with a no-op action (spin 0) and the standard action mix, at three maximum intervals. Prints the share of the loop's
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
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(void) {
    volatile uint64_t n = 0;
    double end = now() + 1.0;
    while (now() < end) for (int i = 0; i < 1000; i++) n++;
    printf("%llu\n", (unsigned long long)n);
    return 0;
}
C
cc -O2 -o "$work/spin" "$work/spin.c"
alone="$("$work/spin")"
echo "alone: $alone iterations in 1 s"
for interval in 10000 30000 100000; do
    for action in "0,0,1,1000,1 no-op" "1,1,1,50000,2000 yield/sleep<50µs/spin"; do
        set -- $action
        rm -f "$work/report"
        n="$(SHAKEDOWN_PREEMPT_REPORT="$work/report" SHAKEDOWN_PREEMPT="1,$interval,$1" LD_PRELOAD="$library" "$work/spin")"
        fired="$(grep -o 'fired=[0-9]*' "$work/report" | cut -d= -f2)"
        awk -v n="$n" -v a="$alone" -v f="$fired" -v i="$interval" -v name="$2" \
            'BEGIN { printf "timers < %d µs, %s: %.0f %% of the progress, %d signals/s\n", i / 1000, name, 100 * n / a, f }'
    done
done
