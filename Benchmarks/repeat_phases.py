"""Where one repetition of `shakedown run -n N --repeat R -- /bin/true` spends its time, and what it forks.

Usage: python3 Benchmarks/repeat_phases.py [--cli PATH] [--copies N] [--repeat R]
Needs `perf` and permission to record scheduler and system-call tracepoints (root, or perf_event_paranoid <= -1).

It records fork, exec and exit events and the CLI's and the run leader's one-byte and five-byte writes (the `G` that
starts a repetition of a kept leader, the leader's `idle` message) with `perf record`, then splits every repetition
but the first and last into phases, from the `G` that starts it to the next one:

  forks            G until the leader forked the last shepherd
  gate to exec     until the first copy execs (every shepherd reached the start gate, one spawned)
  commands         first exec until the last copy exited
  reaping          until the leader said it is idle (shepherds report and exit, the leader reaps them)
  CLI between      until the next G (the report, the verdict, the next run's set-up in the CLI)

Counts per repetition (forks of the leader and the shepherds, execs, leaders the CLI forked) do not depend on the
load; the phases do, so it prints the load average before and after. Compare two builds by running it on each.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

EVENT = re.compile(r"\s*(\S+)\s+(\d+)\s+\[\d+\]\s+([\d.]+):\s+(\S+):\s*(.*)")


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def record(cli, copies, repeat, data):
    events = ",".join([
        "sched:sched_process_fork", "sched:sched_process_exec", "sched:sched_process_exit",
        "syscalls:sys_enter_write",
    ])
    command = [cli, "run", "-n", str(copies), "--jitter", "points", "--repeat", str(repeat), "--", "/bin/true"]
    result = subprocess.run(["perf", "record", "-q", "-o", data, "-e", events, "--"] + command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"perf record or the run failed ({result.returncode}): {result.stderr.strip()}")
    script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True)
    if script.returncode != 0:
        sys.exit(f"perf script failed: {script.stderr.strip()}")
    return script.stdout


def parse(text):
    events = []
    for line in text.splitlines():
        m = EVENT.match(line)
        if m:
            events.append((float(m.group(3)), int(m.group(2)), m.group(4), m.group(5)))
    return events


def child(args):
    m = re.search(r"child_pid=(\d+)", args)
    return int(m.group(1)) if m else None


def analyse(events, copies):
    cli = next(pid for _, pid, name, _ in events if name.endswith("sched_process_exec"))
    leaders = [child(a) for _, pid, name, a in events if pid == cli and name.endswith("sched_process_fork")]
    if not leaders:
        sys.exit("the CLI forked no run leader: is this a shakedown CLI?")
    leader = leaders[-1]
    starts = [t for t, pid, name, a in events
              if pid == cli and name.endswith("sys_enter_write") and a.endswith("count: 0x00000001")]
    phases = {"forks": [], "gate to exec": [], "commands": [], "reaping": [], "CLI between": []}
    counts = {"leader forks": [], "shepherd forks": [], "execs": []}
    totals = []
    for start, end in zip(starts[1:], starts[2:]):
        window = [e for e in events if start <= e[0] < end]
        forks = [t for t, pid, name, _ in window if pid == leader and name.endswith("fork")]
        shepherd_forks = [t for t, pid, name, _ in window if pid != leader and pid != cli and name.endswith("fork")]
        execs = [t for t, _, name, _ in window if name.endswith("exec")]
        exits = [t for t, _, name, a in window if name.endswith("exit") and "comm=true" in a]
        idle = [t for t, pid, name, a in window if pid == leader and a.endswith("count: 0x00000005")]
        counts["leader forks"].append(len(forks))
        counts["shepherd forks"].append(len(shepherd_forks))
        counts["execs"].append(len(execs))
        totals.append(end - start)
        if len(forks) < copies or not execs or len(exits) < copies or not idle:
            continue
        phases["forks"].append(forks[-1] - start)
        phases["gate to exec"].append(min(execs) - forks[-1])
        phases["commands"].append(max(exits) - min(execs))
        phases["reaping"].append(idle[-1] - max(exits))
        phases["CLI between"].append(end - idle[-1])
    return len(set(leaders)), totals, phases, counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--cli", default=os.path.join(here, "..", ".build", "release", "shakedown"))
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=200)
    options = parser.parse_args()
    if options.copies < 1 or options.repeat < 4:
        sys.exit("--copies must be at least 1 and --repeat at least 4")
    before = load_average()
    with tempfile.TemporaryDirectory() as directory:
        events = parse(record(options.cli, options.copies, options.repeat, os.path.join(directory, "perf.data")))
    after = load_average()
    leaders, totals, phases, counts = analyse(events, options.copies)
    if not totals:
        sys.exit("no repetition started by a kept leader was recorded")
    print(f"{options.cli}: {options.repeat} repetitions of {options.copies} copies of /bin/true; "
          f"load average (1 min) before / after: {before} / {after}")
    print(f"run leaders forked by the CLI: {leaders}")
    for name, values in counts.items():
        print(f"{name} per repetition: median {statistics.median(values):g}, min {min(values)}, max {max(values)}")
    print(f"repetitions timed: {len(totals)}, per repetition median {statistics.median(totals) * 1e3:.3f} ms")
    print("| Phase | Median | Min | Max | Unit |\n|---|---:|---:|---:|---|")
    for name, values in phases.items():
        if values:
            print(f"| {name} | {statistics.median(values) * 1e3:.3f} | {min(values) * 1e3:.3f} | "
                  f"{max(values) * 1e3:.3f} | ms |")


if __name__ == "__main__":
    main()
