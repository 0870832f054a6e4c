#!/usr/bin/env bash
# Instructions per disabled jitter point, counted by callgrind: `Jitter.point()` outside a worker (no plan acts at
# points), called N times from a loop. Usage: scripts/benchmark-disabled-point.sh [N]
# Valgrind 3.19 cannot read the toolchain's DWARF 5, so it runs a copy without debug information (symbols stay).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
swift build -c release --product shakedown-benchmarks >/dev/null
binary="$(mktemp /tmp/shakedown-benchmarks-XXXXXX)"
out="$(mktemp /tmp/shakedown-callgrind-XXXXXX)"
trap 'rm -f "$binary" "$out"' EXIT
objcopy --strip-debug .build/release/shakedown-benchmarks "$binary"
valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" disabled-point "$count" >/dev/null 2>&1
# The benchmark runs the loop 5 times (for the median wall time it prints without valgrind, below).
# Exclusive instruction counts: the point's own body, and the loop (which holds the call instruction).
own() { callgrind_annotate "$out" 2>/dev/null | grep "$1" | head -1 | awk '{gsub(",", "", $1); print $1}'; }
point="$(own 'JitterO5pointyyFZ')"
loop="$(own 'disabledPointLoop')"
awk -v p="$point" -v l="$loop" -v n="$((count * 5))" 'BEGIN {
    printf "Jitter.point() disabled: %.2f instructions per call, plus the call instruction; the calling loop: %.2f per iteration\n", p / n, l / n
}'
.build/release/shakedown-benchmarks disabled-point "$count"
