#!/usr/bin/env bash
# A run with and without a stranger flood on its ports (BENCHMARKS.md,
# "Under a stranger flood").
#
#   benches/flood.sh [RATE] [RUNTIME]    default: 2000 connections/s, 20 s
#
# Runs the release binary twice, 3 VMs at 50 ticks/s each on ports
# BASE_PORT.., under /usr/bin/time: once alone, once while benches/flood.py
# opens RATE connections a second to the three ports (a share IDLE of them
# silent and held open until the run closes them, the rest sending garbage
# and hanging up) from 0.5 s after the start until 1 s before the end. Prints
# one line per run: the load average before it, CPU (user + sys over wall, %
# of one core), peak RSS, the log directory's size and WARN lines, the VMs'
# tick lateness from their `stop` lines (p50: median of the VMs' p50; p99
# and max: the worst VM's), whether every VM made exactly rate x runtime
# ticks, and flood.py's report.
#
# Environment:
#   BIN=...         the binary (default target/release/logical-clocks; build it first)
#   NOFILE=N        run the model under this open-file limit (default: inherited)
#   BASE_PORT=41000 IDLE=0.5  ONLY=flood|alone  KEEP=1 (keep the run directories)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN="${BIN:-$ROOT/target/release/logical-clocks}"
RATE="${1:-2000}"
RUNTIME="${2:-20}"
BASE_PORT="${BASE_PORT:-41000}"
IDLE="${IDLE:-0.5}"
PORTS="$BASE_PORT,$((BASE_PORT + 1)),$((BASE_PORT + 2))"

one_run() {
    local label="$1" rate="$2" dir
    dir="$(mktemp -d)"
    printf 'vm_count = 3\nruntime = %s\nrates = [50, 50, 50]\nlog_dir = "%s/logs"\n' \
        "$RUNTIME" "$dir" > "$dir/settings.toml"
    local load1
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    local limit=()
    [[ -n "${NOFILE:-}" ]] && limit=(prlimit "--nofile=$NOFILE:$NOFILE")
    "${limit[@]}" /usr/bin/time -f '%U %S %e %M' -o "$dir/time" \
        "$BIN" --config "$dir/settings.toml" --base-port "$BASE_PORT" > "$dir/out" 2>&1 &
    local run=$!
    if [[ "$rate" != 0 ]]; then
        sleep 0.5
        # Idle connections the run never closes each hold a descriptor here
        # too: the flood needs an open-file limit above RATE x IDLE x RUNTIME
        # against code that never closes them.
        python3 "$HERE/flood.py" --ports "$PORTS" --rate "$rate" \
            --seconds "$(python3 -c "print($RUNTIME - 1.5)")" --idle "$IDLE" --linger 0.5 \
            > "$dir/flood.json"
    else
        echo '{}' > "$dir/flood.json"
    fi
    local rc=0
    wait "$run" || rc=$?
    python3 - "$label" "$rate" "$dir" "$rc" "$RUNTIME" "$load1" <<'EOF'
import glob, json, os, statistics, sys
label, rate, d, rc, runtime, load1 = sys.argv[1:6] + [sys.argv[6]]
runtime = float(runtime)
user, sys_, wall, rss = open(f"{d}/time").read().split()[-4:]
run = glob.glob(f"{d}/logs/*")[0]
size = sum(os.path.getsize(f) for f in glob.glob(f"{run}/*"))
warns, stops = 0, []
for f in glob.glob(f"{run}/vm-*.log"):
    with open(f, errors="replace") as lines:
        for line in lines:
            level = line.split(" ", 2)[1] if " " in line else ""
            if level == "WARN":
                warns += 1
            elif " INFO stop, " in line:
                kv = dict(p.split(": ", 1) for p in line.rstrip("\n").split(", ")[1:])
                stops.append(kv)
exact = len(stops) == 3 and all(int(s["ticks"]) == int(50 * runtime) for s in stops)
ms = lambda us: f"{int(us) / 1000:.2f}"
print(f"{label}: load1 {load1}, exit {rc}, flood {rate}/s, CPU {100 * (float(user) + float(sys_)) / float(wall):.1f}% "
      f"of a core ({user} s user + {sys_} s sys over {wall} s), peak RSS {int(rss) / 1024:.1f} MB, "
      f"logs {size / 1e6:.2f} MB with {warns} WARN lines; "
      + (f"late p50 {ms(statistics.median(int(s['late_p50_us']) for s in stops))} ms, "
         f"p99 {ms(max(int(s['late_p99_us']) for s in stops))} ms, "
         f"max {ms(max(int(s['late_max_us']) for s in stops))} ms; "
         if stops else "no stop lines; ")
      + f"ticks exact: {exact}")
print(f"  flood.py: {open(f'{d}/flood.json').read().strip()}")
EOF
    [[ -n "${KEEP:-}" ]] && echo "  kept $dir" || rm -rf "$dir"
}

[[ "${ONLY:-}" != flood ]] && one_run alone 0
[[ "${ONLY:-}" != alone ]] && one_run flood "$RATE"
true
