#!/usr/bin/env bash
# Times a full report of every thread of one stuck process, by gdb, eu-stack (elfutils) and `shakedown diagnose`,
# interleaved on the same process, and counts what each names:
#   gdb -batch -p PID -ex 'thread apply all bt'
#   eu-stack -p PID                  (names only)
#   eu-stack -s -p PID               (names and source lines)
#   shakedown diagnose --full PID    cold: a fresh, empty SHAKEDOWN_DEBUG_CACHE for every run
#   shakedown diagnose --full PID    warm: a cache filled once before the timed rounds
#   shakedown diagnose --full --no-symbolizer PID   names from libunwind's unw_get_proc_name, no file:line
# The target is .build/debug/semaphore-wait --sleepers 7 (8 threads: main in DispatchSemaphore.wait, 7 in usleep).
# Each round runs every tool once, in an order rotated by one each round, so load from other work on the machine
# and any position effect hit all tools alike. Every run's exit status is checked: a failed run ends the script
# with status 1 and the tool's error output. Prints, per tool: median, min and max wall time, the median of the
# per-round ratios gdb ÷ tool, and the frames, named frames, Swift names left mangled and frames with file:line
# of its last run; for --no-symbolizer also how many frame names differ from the symbolizer's at the same address
# (wrong names and aliases such as nanosleep for __nanosleep). Last, what a library caller pays for a later capture
# with the same HangInspector (a warm symbolizer): `shakedown diagnose --repeat 6 PID` once per round, captures 2-6. The operating system's page cache is warm for every tool (the files were read before).
#
# Usage (root, or CAP_SYS_PTRACE):
#   scripts/benchmark-diagnose.sh [--quick] [ROUNDS]      ROUNDS defaults to 11 (--quick: 3)
# Installs gdb and elfutils with apt-get when missing (sudo when not root), and builds the release CLI and the
# debug fixture when they are missing. SHAKEDOWN=path times another shakedown binary; FIXTURE=path another target.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=11
case "${1:-}" in
    --quick) rounds=3; shift ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac
if [ $# -gt 0 ]; then rounds=$1; fi
if ! [[ "$rounds" =~ ^[1-9][0-9]{0,3}$ ]]; then
    echo "benchmark-diagnose: ROUNDS must be a whole number from 1 to 9999, got '$rounds'" >&2
    exit 64
fi

# MARK: what the benchmark needs

missing=()
command -v gdb >/dev/null 2>&1 || missing+=(gdb)
command -v eu-stack >/dev/null 2>&1 || missing+=(elfutils)
if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "benchmark-diagnose: missing ${missing[*]} and there is no apt-get: install them first." >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "installing ${missing[*]} with apt-get…" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi
shakedown=${SHAKEDOWN:-.build/release/shakedown}
fixture=${FIXTURE:-.build/debug/semaphore-wait}
if [ -z "${SHAKEDOWN:-}" ] && [ ! -x "$shakedown" ]; then swift build -c release --product shakedown >&2; fi
if [ -z "${FIXTURE:-}" ] && [ ! -x "$fixture" ]; then swift build --product semaphore-wait >&2; fi
for file in "$shakedown" "$fixture"; do
    [ -x "$file" ] || { echo "benchmark-diagnose: $file is not an executable" >&2; exit 1; }
done

# MARK: the target

work=$(mktemp -d)
fixture_pid=""
cleanup() {
    if [ -n "$fixture_pid" ]; then kill "$fixture_pid" 2>/dev/null || true; wait "$fixture_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
"$fixture" --sleepers 7 > "$work/fixture.out" &
fixture_pid=$!
for _ in $(seq 100); do [ -s "$work/fixture.out" ] && break; sleep 0.1; done
pid=$(head -1 "$work/fixture.out")
[ "$pid" = "$fixture_pid" ] || { echo "benchmark-diagnose: the fixture did not print its pid" >&2; exit 1; }
sleep 0.5  # let every sleeper reach usleep
threads=$(ls "/proc/$pid/task" | wc -l)

# MARK: the tools

tools=(gdb eu-stack eu-stack-s shakedown-cold shakedown-warm shakedown-nosym)
declare -A label=(
    [gdb]="gdb -batch -p PID -ex 'thread apply all bt'"
    [eu-stack]="eu-stack -p PID"
    [eu-stack-s]="eu-stack -s -p PID"
    [shakedown-cold]="shakedown diagnose --full PID, cold cache"
    [shakedown-warm]="shakedown diagnose --full PID, warm cache"
    [shakedown-nosym]="shakedown diagnose --full --no-symbolizer PID"
)
warm_cache="$work/warm-cache"
cold_copies=0

# Runs one tool once with its output in $work/TOOL.out; sets `elapsed` to its wall time in tenths of a millisecond.
# A non-zero exit status ends the benchmark: a failed run must not count as a fast one.
run_tool() {
    local tool=$1 cache="" status=0 start end
    local -a command
    case $tool in
        gdb) command=(gdb -batch -p "$pid" -ex 'thread apply all bt') ;;
        eu-stack) command=(eu-stack -p "$pid") ;;
        eu-stack-s) command=(eu-stack -s -p "$pid") ;;
        shakedown-cold) cache="$work/cold-cache.$RANDOM$RANDOM"; command=("$shakedown" diagnose --full "$pid") ;;
        shakedown-warm) cache="$warm_cache"; command=("$shakedown" diagnose --full "$pid") ;;
        shakedown-nosym) command=("$shakedown" diagnose --full --no-symbolizer "$pid") ;;
    esac
    start=$(date +%s%N)
    if [ -n "$cache" ]; then
        SHAKEDOWN_DEBUG_CACHE="$cache" "${command[@]}" > "$work/$tool.out" 2> "$work/$tool.err" || status=$?
    else
        "${command[@]}" > "$work/$tool.out" 2> "$work/$tool.err" || status=$?
    fi
    end=$(date +%s%N)
    if [ "$status" -ne 0 ]; then
        echo "benchmark-diagnose: ${label[$tool]} failed with exit status $status:" >&2
        tail -20 "$work/$tool.err" >&2
        exit 1
    fi
    if [ "$tool" = shakedown-cold ]; then
        # Proof that the run was cold: it found no copy and made one.
        if [ -n "$(find "$cache" -name '*.debug' 2>/dev/null)" ]; then cold_copies=$((cold_copies + 1)); fi
        rm -rf "$cache"
    fi
    elapsed=$(( (end - start) / 100000 ))
}

# Warm-up, not timed: every file into the page cache, and the warm cache filled.
for tool in "${tools[@]}"; do run_tool "$tool"; done
cold_copies=0
run_tool shakedown-warm
warm_files=$(find "$warm_cache" -name '*.debug' | wc -l)

declare -A times
for round in $(seq "$rounds"); do
    echo "round $round/$rounds…" >&2
    for i in "${!tools[@]}"; do
        tool=${tools[$(( (i + round) % ${#tools[@]} ))]}
        run_tool "$tool"
        times[$tool]+="$elapsed "
    done
    # In-process captures after the first, as the CLI's hidden --repeat prints them on stderr.
    status=0
    SHAKEDOWN_DEBUG_CACHE="$warm_cache" "$shakedown" diagnose --repeat 6 "$pid" > /dev/null 2> "$work/repeat.err" || status=$?
    if [ "$status" -ne 0 ]; then
        echo "benchmark-diagnose: shakedown diagnose --repeat 6 failed with exit status $status:" >&2
        tail -20 "$work/repeat.err" >&2
        exit 1
    fi
    grep -E '^capture [2-9]' "$work/repeat.err" | awk '{print $3, $6}' >> "$work/repeat.ms"
done

# MARK: report

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
ms() { awk -v t="$1" 'BEGIN {printf "%.1f", t / 10}'; }
ratios() {  # per-round gdb ÷ tool
    paste -d' ' <(echo "${times[gdb]}" | tr ' ' '\n' | grep .) <(echo "${times[$1]}" | tr ' ' '\n' | grep .) |
        awk '{printf "%f ", $1 / $2}'
}
# Counts over one run's output: frames, frames with a name, Swift names left mangled, frames with file:line.
counts() {
    local tool=$1 file="$work/$1.out" frames named mangled located
    case $tool in
        gdb)
            frames=$(grep -c '^#[0-9]' "$file" || true)
            named=$(grep '^#[0-9]' "$file" | grep -vc ' ?? (' || true)
            mangled=$(grep '^#[0-9]' "$file" | grep -c '\$s[0-9]' || true)
            located=$(grep '^#[0-9]' "$file" | grep -cE ' at [^ ]+:[0-9]+$' || true) ;;
        eu-stack*)
            frames=$(grep -c '^#[0-9]' "$file" || true)
            named=$(grep '^#[0-9]' "$file" | grep -cE '^#[0-9]+ +0x[0-9a-f]+ +[^ ?]' || true)
            mangled=$(grep '^#[0-9]' "$file" | grep -c '\$s[0-9]' || true)
            located=$(grep -cE '^ {4}[^ #].*:[0-9]+(:[0-9]+)?$' "$file" || true) ;;
        shakedown*)
            frames=$(grep -cE '^ +#[0-9]+ ' "$file" || true)
            named=$(grep -E '^ +#[0-9]+ ' "$file" | grep -vcE '^ +#[0-9]+ +0x[0-9a-f]+ +(\?\?|\()' || true)
            mangled=$(grep -E '^ +#[0-9]+ ' "$file" | grep -c '\$s[0-9]' || true)
            located=$(grep -E '^ +#[0-9]+ ' "$file" | grep -cE ' at [^ ]+:[0-9]+ \(' || true) ;;
    esac
    printf '%s | %s | %s | %s' "$frames" "$named" "$mangled" "$located"
}
# "address name" per frame of a shakedown --full output, sorted (module and file:line cut off).
frame_names() {
    grep -E '^ +#[0-9]+ ' "$1" | sed -E 's/^ +#[0-9]+ +//; s/ \([^()]*\+0x[0-9a-f]+\)$//; s/ at [^ ]+:[0-9]+$//' | sort
}
differing() {
    if [ "$1" = shakedown-nosym ]; then
        comm -23 <(frame_names "$work/shakedown-nosym.out") <(frame_names "$work/shakedown-warm.out") | wc -l
    else
        echo "—"
    fi
}

echo
echo "Produced by: \`scripts/benchmark-diagnose.sh $rounds\` ($(git describe --always --dirty 2>/dev/null || echo 'unknown source')), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Target: $fixture --sleepers 7, pid $pid, $threads threads. $rounds interleaved rounds, order rotated each round."
echo "Tools: $(gdb --version | head -1); $(eu-stack --version | head -1); $shakedown."
echo "Cold runs that made their own decompressed copy (proof they were cold): $cold_copies of $rounds; warm cache: $warm_files file(s)."
echo "Load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (above the CPU count, other work competed for them). Total time: ${SECONDS} s."
echo
echo "| Tool | Median | Min–max | gdb ÷ tool (median of per-round ratios) | Frames | Named | Swift names mangled | With file:line | Names differing from the symbolizer's |"
echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
for tool in "${tools[@]}"; do
    med=$(echo "${times[$tool]}" | median)
    lo=$(echo "${times[$tool]}" | tr ' ' '\n' | grep . | sort -g | head -1)
    hi=$(echo "${times[$tool]}" | tr ' ' '\n' | grep . | sort -g | tail -1)
    ratio=$(ratios "$tool" | median)
    printf '| `%s` | %s ms | %s–%s ms | %.1f× | %s | %s |\n' "${label[$tool]}" "$(ms "$med")" "$(ms "$lo")" "$(ms "$hi")" \
        "$ratio" "$(counts "$tool")" "$(differing "$tool")"
done
echo
captures=$(wc -l < "$work/repeat.ms")
echo "In-process, a later capture with the same inspector (\`shakedown diagnose --repeat 6 PID\`, captures 2-6 of each" \
    "round, $captures in all): median $(awk '{print $1}' "$work/repeat.ms" | median | xargs printf '%.1f') ms," \
    "of which the target was stopped $(awk '{print $2}' "$work/repeat.ms" | median | xargs printf '%.1f') ms" \
    "(min-max $(awk '{print $1}' "$work/repeat.ms" | sort -g | head -1 | xargs printf '%.1f')-$(awk '{print $1}' "$work/repeat.ms" | sort -g | tail -1 | xargs printf '%.1f') ms)."
