#!/usr/bin/env bash
# Times `shakedown diagnose --full PID` against `gdb -batch -p PID -ex 'thread apply all bt'` on the same 8-thread
# process, interleaved (A B A B …) so load from other work on the machine hits both alike; prints every run, the
# medians and their ratio, and the load average. Needs root (ptrace) and a release build:
#   swift build -c release && scripts/benchmark-diagnose.sh [runs=9] [shakedown binary…]
# Extra shakedown binaries (e.g. a copy of an older build) are timed in the same rotation.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-9}
shift || true
binaries=("$@")
[ ${#binaries[@]} -eq 0 ] && binaries=(.build/release/shakedown)
# The debug fixture, as in docs/hangs.md (FIXTURE=path to choose another build of it).
fixture=${FIXTURE:-.build/debug/semaphore-wait}
[ -x "$fixture" ] || fixture=.build/release/semaphore-wait
out=$(mktemp)
"$fixture" --sleepers 7 > "$out" &
fixture_pid=$!
trap 'kill $fixture_pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
pid=$(head -1 "$out")
sleep 0.5  # let all sleepers reach usleep
echo "fixture: $fixture --sleepers 7, pid $pid, $(ls /proc/$pid/task | wc -l) threads"
ms() { local a b; a=$(date +%s%N); "$@" > /dev/null 2>&1 || true; b=$(date +%s%N); echo $(( (b - a) / 100000 )); }
declare -A times
names=(gdb "${binaries[@]}")
for _ in $(seq "$runs"); do
  times[gdb]+="$(ms gdb -batch -p "$pid" -ex 'thread apply all bt') "
  for binary in "${binaries[@]}"; do times[$binary]+="$(ms "$binary" diagnose --full "$pid") "; done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }
gdb_median=$(echo "${times[gdb]}" | median)
for name in "${names[@]}"; do
  m=$(echo "${times[$name]}" | median)
  runs_ms=$(for t in ${times[$name]}; do printf '%s ' "$(tenths "$t")"; done)
  printf '%-40s median %6s ms  (gdb / this = %s×)  runs: %s\n' "$name" "$(tenths "$m")" \
    "$(awk -v g="$gdb_median" -v m="$m" 'BEGIN {printf "%.1f", g / m}')" "$runs_ms"
done
# Names, from one more run of each: frames, unnamed (??), Swift names left mangled ($s…), frames with file:line.
gdb -batch -p "$pid" -ex 'thread apply all bt' 2>/dev/null | grep '^#' > "$out.gdb" || true
"${binaries[-1]}" diagnose --full "$pid" | grep -E '^ +#[0-9]' > "$out.sd" || true
count() { grep -c -E "$1" "$2" || true; }
for file in "$out.gdb" "$out.sd"; do
  label=gdb; [ "$file" = "$out.sd" ] && label="${binaries[-1]}"
  printf '%-40s frames %3d  unnamed %3d  mangled Swift %3d  with file:line %3d\n' "$label" "$(count . "$file")" \
    "$(count '\?\? \(|^ +#[0-9]+ +0x[0-9a-f]+ +\(' "$file")" "$(count '\$s[0-9]' "$file")" "$(count ' at [^ ]+:[0-9]+' "$file")"
done
rm -f "$out.gdb" "$out.sd"
uptime
