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
# Exclusive instruction counts (all functions: --threshold=100). In a release build `Jitter.point()` is inlined
# into the loop (`@inlinable`); an out-of-line body, if the compiler kept one, is added.
own() { callgrind_annotate --threshold=100 "$out" 2>/dev/null | grep "$1" | head -1 | awk '{gsub(",", "", $1); print $1 + 0}'; }
point="$(own 'JitterO5pointyyFZ' || true)"
loop="$(own 'disabledPointLoop' || true)"
[ -n "$loop" ] || { echo "callgrind did not count the loop" >&2; exit 1; }
awk -v p="${point:-0}" -v l="$loop" -v n="$((count * 5))" 'BEGIN {
    printf "loop with a disabled Jitter.point(): %.2f instructions per iteration, the loop\x27s own counting included (out-of-line point body: %.2f)\n", (l + p) / n, p / n
}'
objdump -d --no-show-raw-insn "$binary" | awk '/disabledPointLoop.*>:$/,/^$/' | head -24
.build/release/shakedown-benchmarks disabled-point "$count"
