#!/usr/bin/env bash
# Instructions per disabled jitter point, counted by callgrind: `Jitter.point()` outside a worker (no plan acts at
# points) in a loop of N, minus the same loop without the point. Usage: scripts/benchmark-disabled-point.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-1000000}"
swift build -c release --product shakedown-benchmarks >/dev/null
out="$(mktemp /tmp/shakedown-callgrind-XXXXXX)"
trap 'rm -f "$out"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" .build/release/shakedown-benchmarks disabled-point "$count" >/dev/null 2>&1
# Inclusive instruction counts of the two loop functions (mangled names contain these words).
inclusive() { callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep "$1" | head -1 | awk '{gsub(",", "", $1); print $1}'; }
with="$(inclusive disabledPointLoop)"
without="$(inclusive emptyPointLoop)"
awk -v w="$with" -v wo="$without" -v n="$count" 'BEGIN {
    printf "loop with points: %.2f instructions/iteration; without: %.2f; a disabled point: %.2f instructions\n", w / n, wo / n, (w - wo) / n
}'
