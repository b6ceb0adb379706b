#!/usr/bin/env bash
# Performance benchmarks of the model (issue 7). See BENCHMARKS.md.
#
#   benches/model.sh [SCENARIO ...]
#
# Scenarios: tick-accuracy scale sweep latency virtual analyzer default-run
#            syscalls (= syscalls-cpu strace perf-trace) fd-limit timer
#            vector-clocks all   (default: all)
#
# Every scenario builds nothing itself: the release binary is built once
# first (`cargo build --release`). Each run gets a generated settings file in
# a temporary directory, always `--base-port 0`, and runs under
# `/usr/bin/time -v` (CPU seconds, peak RSS). The figures come from what the
# run prints (summary table, `mesh connected in`, `messages:`) and from its
# `stop` lines (`ticks`, `late_*_us`, `transit_*_us`); benches/model_parse.py
# does the parsing. Raw rows go to benches/results/<scenario>.csv (appended:
# delete the file for a fresh table), tables to benches/results/<scenario>.md.
#
# Environment:
#   REPS=3           repetitions of each configuration (median and spread)
#   DEFAULT_REPS=3   repetitions of the 60 s default run
#   RUNTIME=10       real seconds of each tick-accuracy / scale / syscalls run
#   KEEP=1           keep the temporary run directories
#   BIN=...          use this binary instead of target/release/logical-clocks
#                    (and build nothing)
#   RESULTS=DIR      where the rows and tables go (default: benches/results)
#   VECTOR_CLOCKS=   true/false: written into every run's settings (default:
#                    not written, so the binary's default; a binary from before
#                    the setting existed refuses the key)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
RESULTS="${RESULTS:-$HERE/results}"
PARSE="python3 $HERE/model_parse.py"
REPS="${REPS:-3}"
DEFAULT_REPS="${DEFAULT_REPS:-3}"
RUNTIME="${RUNTIME:-10}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# A binary given in BIN is measured as it is (no build): an A/B of two builds.
BIN_GIVEN="${BIN:+1}"
BIN="${BIN:-$TARGET_DIR/release/logical-clocks}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/lc-bench.XXXXXX")"
mkdir -p "$RESULTS"

# No stray LOGICAL_CLOCKS_* variable may change a benchmark's settings.
while read -r var; do unset "$var"; done < <(env | sed -n 's/^\(LOGICAL_CLOCKS_[A-Z_]*\)=.*/\1/p')

cleanup() { [[ "${KEEP:-0}" == 1 ]] || rm -rf "$WORK"; }
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

build() {
    if [[ -n "$BIN_GIVEN" ]]; then
        log "== measuring $BIN as given (no build)"
        [[ -x "$BIN" ]] || { log "no binary at $BIN"; exit 1; }
        return
    fi
    log "== cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
    [[ -x "$BIN" ]] || { log "no binary at $BIN"; exit 1; }
}

machine() {
    local out="$RESULTS/machine.txt"
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "nproc: $(nproc)"
        lscpu | grep -E '^(Model name|CPU\(s\)|Thread|Core|Hypervisor|L3|L2)' || true
        echo "memory: $(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
        echo "kernel: $(uname -sr)"
        echo "rustc: $(rustc --version)"
        echo "commit: $(cd "$ROOT" && git rev-parse --short HEAD)"
        echo "open files (soft/hard): $(ulimit -Sn)/$(ulimit -Hn)"
        echo "uptime: $(uptime)"
    } > "$out"
    cat "$out" >&2
}

# settings FILE vm_count rates(comma list or "") runtime flush_ms virtual(true|false)
settings() {
    local file="$1" n="$2" rates="$3" runtime="$4" flush="$5" virtual="$6"
    {
        echo "vm_count = $n"
        echo "runtime = $runtime"
        echo "rates = [${rates}]"
        echo "log_flush_ms = $flush"
        echo "virtual_time = $virtual"
        echo "log_dir = \"$(dirname "$file")/logs\""
        if [[ -n "${VECTOR_CLOCKS:-}" ]]; then
            echo "vector_clocks = $VECTOR_CLOCKS"
        fi
    } > "$file"
}

# same_rates N RATE -> "RATE, RATE, ..." (N times)
same_rates() {
    local n="$1" r="$2" out="" i
    for ((i = 0; i < n; i++)); do out+="${out:+, }$r"; done
    echo "$out"
}

# model_run SCENARIO LABEL REP N RATES RUNTIME FLUSH VIRTUAL [parse flags...]
# Runs the release binary once under /usr/bin/time -v and appends its row.
model_run() {
    local scenario="$1" label="$2" rep="$3" n="$4" rates="$5" runtime="$6" flush="$7" virtual="$8"
    shift 8
    local dir="$WORK/$scenario-$(echo "$label" | tr -c 'a-zA-Z0-9' '_')-$rep"
    mkdir -p "$dir"
    settings "$dir/settings.toml" "$n" "$rates" "$runtime" "$flush" "$virtual"
    local load
    load="$(load1)"
    log "-- $scenario: $label (rep $rep, load $load)"
    local rc=0
    /usr/bin/time -v -o "$dir/time.txt" \
        "$BIN" --config "$dir/settings.toml" --base-port 0 --seed "$rep" \
        > "$dir/stdout.txt" 2> "$dir/stderr.txt" || rc=$?
    if [[ $rc -ne 0 ]]; then
        log "   exit $rc: $(tail -n 3 "$dir/stderr.txt")"
    fi
    $PARSE row --out "$RESULTS/$scenario.csv" --scenario "$scenario" --label "$label" \
        --stdout "$dir/stdout.txt" --time "$dir/time.txt" "$@" \
        --rep "$rep" --vms "$n" --rate "${rates%%,*}" --runtime "$runtime" \
        --flush_ms "$flush" --virtual "$([[ $virtual == true ]] && echo 1 || echo 0)" \
        --load1 "$load" --exit_code "$rc"
    LAST_RUN_DIR="$(sed -n 's/^run directory: //p' "$dir/stdout.txt")"
    # Large runs leave large logs: drop them unless asked to keep them.
    if [[ "${KEEP:-0}" != 1 && "${KEEP_RUN:-0}" != 1 ]]; then
        rm -rf "$dir/logs"
    fi
}

table() {
    local scenario="$1" cols="$2"
    log "== $scenario"
    $PARSE table "$RESULTS/$scenario.csv" --scenario "$scenario" --cols "$cols" \
        --md "$RESULTS/$scenario.md"
}

# 1. Tick accuracy: 3 VMs at one rate, RUNTIME real seconds, for 1, 6, 100
# and 1000 ticks/s. Count error = ticks - rate x runtime (worst VM); lateness
# from the stop lines (schedule vs wake-up, measured by the VM), and
# recomputed from the tick lines' own timestamps as a cross-check.
tick_accuracy() {
    local rate rep
    for rate in 1 6 100 1000; do
        for ((rep = 1; rep <= REPS; rep++)); do
            KEEP_RUN=1 model_run tick-accuracy "3 VMs @ $rate/s" "$rep" 3 \
                "$(same_rates 3 "$rate")" "$RUNTIME" 200 false --log-lateness \
                --show events,count_err_max,late_p50_us_med,late_p99_us_worst,late_max_us,log_late_p99_us_worst,log_span_err_us_worst
            rm -rf "$WORK"/tick-accuracy-*/logs
        done
    done
    table tick-accuracy "load1,events,count_err_max,late_p50_us_med,late_p99_us_worst,late_max_us,log_late_p99_us_worst,log_late_max_us_worst,log_span_err_us_worst,cpu_pct"
}

SCALE_COLS="load1,events_per_s,cpu_pct,cpu_us_per_event,rss_mb,late_p50_us_med,late_p99_us_med,late_p99_us_worst,vms_p99_over_20ms,late_max_us,log_late_p50_us_all,log_late_p99_us_all,log_late_over_2ms_pct,mesh_ms,transit_p50_ms,transit_p99_ms,msgs_sent,log_lines,count_err_max,balanced"

# 2. Scale on real TCP: N = 3, 16, 64 at 100 and 1000 ticks/s, full logging.
scale() {
    local n rate rep
    for n in 3 16 64; do
        for rate in 100 1000; do
            for ((rep = 1; rep <= REPS; rep++)); do
                model_run scale "$n VMs @ $rate/s" "$rep" "$n" "$(same_rates "$n" "$rate")" \
                    "$RUNTIME" 200 false --log-lateness \
                    --show events_per_s,cpu_pct,rss_mb,late_p50_us_med,late_p99_us_worst,late_max_us,mesh_ms,transit_p99_ms
            done
        done
    done
    table scale "$SCALE_COLS"
}

# 2b. The highest event rate with p99 lateness under 5 ms: total event rates
# from 8,000 to 64,000 per second, with 16 and with 64 VMs (5 s runs).
sweep() {
    local n rate rep
    for n in 16 64; do
        for total in 8000 16000 24000 32000 48000 64000; do
            rate=$((total / n))
            for ((rep = 1; rep <= REPS; rep++)); do
                model_run sweep "$n VMs @ $rate/s (${total}/s)" "$rep" "$n" \
                    "$(same_rates "$n" "$rate")" 5 200 false --log-lateness \
                    --show events_per_s,cpu_pct,late_p99_us_med,late_p99_us_worst,late_max_us
            done
        done
    done
    table sweep "load1,events_per_s,cpu_pct,rss_mb,late_p50_us_med,late_p99_us_med,late_p99_us_worst,vms_p99_over_20ms,late_max_us,log_late_p99_us_all,log_late_over_2ms_pct,transit_p99_ms"
}

# 3. Message latency on loopback: send event to the receiver's mailbox.
latency() {
    local rep
    for ((rep = 1; rep <= REPS; rep++)); do
        model_run latency "3 VMs, default rates (1..6/s), 30 s" "$rep" 3 "" 30 200 false \
            --show msgs_sent,transit_p50_ms,transit_p99_ms,transit_max_ms
    done
    for ((rep = 1; rep <= REPS; rep++)); do
        model_run latency "3 VMs @ 100/s, 10 s" "$rep" 3 "$(same_rates 3 100)" 10 200 false \
            --show msgs_sent,transit_p50_ms,transit_p99_ms,transit_max_ms
    done
    for ((rep = 1; rep <= REPS; rep++)); do
        model_run latency "16 VMs @ 1000/s, 10 s" "$rep" 16 "$(same_rates 16 1000)" 10 200 false \
            --show msgs_sent,transit_p50_ms,transit_p99_ms,transit_max_ms
    done
    table latency "load1,msgs_sent,transit_p50_ms,transit_p99_ms,transit_max_ms,transit_p99_us_med,transit_p99_us_worst,cpu_pct"
}

# 4. Virtual time: simulated events per second of wall time.
virtual() {
    local rep
    for ((rep = 1; rep <= REPS; rep++)); do
        model_run virtual "3 VMs, default rates, 3600 virtual s" "$rep" 3 "" 3600 200 true \
            --show wall_s,events,events_per_s,rss_mb
    done
    for ((rep = 1; rep <= REPS; rep++)); do
        model_run virtual "16 VMs, default rates, 3600 virtual s" "$rep" 16 "" 3600 200 true \
            --show wall_s,events,events_per_s,rss_mb
    done
    for ((rep = 1; rep <= REPS; rep++)); do
        model_run virtual "16 VMs @ 1000/s, 60 virtual s" "$rep" 16 "$(same_rates 16 1000)" 60 200 true \
            --show wall_s,events,events_per_s,rss_mb
    done
    table virtual "load1,wall_s,cpu_s,rss_mb,events,log_lines,events_per_s,cpu_us_per_event,msgs_sent"
}

# 4b. What vector clocks cost (issue 13): the virtual runs of 16 VMs at the
# default rates for 3600 virtual s, with vector clocks kept and left out, each
# pair back to back. Same seed, same events: only the `vc` keys and the
# vector clocks on the wire differ (log_mb gives the log growth).
vector_clocks() {
    local rep vc
    for ((rep = 1; rep <= REPS; rep++)); do
        for vc in true false; do
            VECTOR_CLOCKS=$vc model_run vector-clocks "16 VMs, default rates, 3600 virtual s, vector_clocks = $vc" \
                "$rep" 16 "" 3600 200 true --show wall_s,cpu_s,events,log_mb
        done
    done
    table vector-clocks "load1,wall_s,cpu_s,rss_mb,events,log_lines,log_mb,events_per_s,cpu_us_per_event"
}

# 5. Analyzer: the synthetic 1,000,000-event bench, and `analyze` on a real
# virtual-time run of 16 VMs at 1000 ticks/s for 60 s (~960,000 events).
analyzer() {
    log "== cargo bench --bench analyze"
    (cd "$ROOT" && cargo bench --quiet --bench analyze 2>&1) | tee "$RESULTS/analyzer-bench.txt" >&2
    KEEP_RUN=1 model_run analyzer-input "16 VMs @ 1000/s, 60 virtual s" 1 16 \
        "$(same_rates 16 1000)" 60 200 true --show events,log_lines,wall_s
    local run="$LAST_RUN_DIR" rep dir lines bytes
    lines="$(cat "$run"/vm-*.log | wc -l)"
    bytes="$(cat "$run"/vm-*.log | wc -c)"
    log "   run $run: $lines lines, $bytes bytes"
    for mode in no-plots plots; do
        for ((rep = 1; rep <= REPS; rep++)); do
            [[ $mode == plots && $rep -gt 1 ]] && break
            dir="$WORK/analyzer-$mode-$rep"
            mkdir -p "$dir"
            local load flags=()
            load="$(load1)"
            [[ $mode == no-plots ]] && flags=(--no-plots)
            log "-- analyzer: analyze ${flags[*]:-} (rep $rep, load $load)"
            local rc=0
            /usr/bin/time -v -o "$dir/time.txt" "$BIN" analyze "$run" "${flags[@]}" \
                > "$dir/stdout.txt" 2> "$dir/stderr.txt" || rc=$?
            $PARSE row --out "$RESULTS/analyzer.csv" --scenario analyzer \
                --label "analyze $mode, 16 VMs @ 1000/s x 60 s" --time "$dir/time.txt" \
                --rep "$rep" --lines "$lines" --mb "$((bytes / 1000000))" --load1 "$load" \
                --exit_code "$rc" --show wall_s,cpu_s,rss_mb,exit_code
        done
    done
    python3 - "$RESULTS/analyzer.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    if r.get("wall_s") and r.get("lines"):
        r["lines_per_s"] = str(round(float(r["lines"]) / float(r["wall_s"])))
w = csv.DictWriter(open(sys.argv[1], "w", newline=""), fieldnames=list(rows[0].keys()) + (["lines_per_s"] if "lines_per_s" not in rows[0] else []))
w.writeheader(); [w.writerow(r) for r in rows]
EOF
    table analyzer "load1,lines,mb,wall_s,cpu_s,rss_mb,lines_per_s,exit_code"
    rm -rf "$(dirname "$run")"
}

# 6. The default run: 3 VMs at the default rates for 60 s.
default_run() {
    local rep
    for ((rep = 1; rep <= DEFAULT_REPS; rep++)); do
        model_run default-run "3 VMs, default settings, 60 s" "$rep" 3 "" 60 200 false \
            --show cpu_s,cpu_pct,rss_mb,events,late_p99_us_worst
    done
    table default-run "load1,wall_s,user_s,sys_s,cpu_s,cpu_pct,rss_mb,events,late_p99_us_worst,mesh_ms,vcsw"
}

# Log-line batching before and after (log_flush_ms = 0 vs 200) at 16 VMs x
# 1000 ticks/s: CPU and lateness from timing runs (no tracing), then write
# syscalls: `strace -c` totals, and per-thread counts from `perf trace -s`
# (log-writer thread = log files; actor thread = sockets and eventfd).
syscalls_cpu() {
    local flush rep rates
    rates="$(same_rates 16 1000)"
    for flush in 0 200; do
        for ((rep = 1; rep <= REPS; rep++)); do
            model_run syscalls-cpu "16 VMs @ 1000/s, log_flush_ms = $flush" "$rep" 16 "$rates" \
                "$RUNTIME" "$flush" false \
                --show events_per_s,cpu_pct,user_s,sys_s,late_p99_us_worst,vcsw
        done
    done
    table syscalls-cpu "load1,events_per_s,cpu_pct,user_s,sys_s,cpu_us_per_event,rss_mb,late_p50_us_med,late_p99_us_med,late_p99_us_worst,late_max_us,vcsw,ivcsw"
}

strace_counts() {
    command -v strace > /dev/null || { log "strace is not installed (apt-get install strace)"; return 1; }
    local flush dir rates
    rates="$(same_rates 16 1000)"
    for flush in 0 200; do
        dir="$WORK/strace-$flush"
        mkdir -p "$dir"
        settings "$dir/settings.toml" 16 "$rates" "$RUNTIME" "$flush" false
        log "-- syscalls: strace -c, log_flush_ms = $flush (load $(load1))"
        strace -f -c -e trace=write,writev,sendto -o "$dir/strace-c.txt" \
            "$BIN" --config "$dir/settings.toml" --base-port 0 --seed 1 \
            > "$dir/stdout.txt" 2> "$dir/stderr.txt" || true
        $PARSE strace --out "$RESULTS/syscalls.csv" --scenario syscalls \
            --label "strace -c, log_flush_ms = $flush" --summary "$dir/strace-c.txt" \
            --stdout "$dir/stdout.txt" --flush_ms "$flush" --runtime "$RUNTIME" --load1 "$(load1)"
        cp "$dir/strace-c.txt" "$RESULTS/strace-c-flush$flush.txt"
        rm -rf "$dir/logs"
    done
    table syscalls "load1,write,writev,sendto,log_lines,msgs_sent,events"
}

syscalls() {
    syscalls_cpu
    strace_counts
    perf_trace
}

# Every syscall per thread, with perf trace (kernel tracepoints, not ptrace:
# the run keeps its normal timing, unlike under strace). Part of `syscalls`.
perf_trace() {
    command -v perf > /dev/null || { log "perf is not installed: skipping perf trace"; return 0; }
    local flush dir rates
    rates="$(same_rates 16 1000)"
    for flush in 0 200; do
        dir="$WORK/perf-trace-$flush"
        mkdir -p "$dir"
        settings "$dir/settings.toml" 16 "$rates" "$RUNTIME" "$flush" false
        log "-- syscalls: perf trace -s, log_flush_ms = $flush (load $(load1))"
        perf trace -s -o "$dir/perf-trace.txt" \
            "$BIN" --config "$dir/settings.toml" --base-port 0 --seed 1 \
            > "$dir/stdout.txt" 2> "$dir/stderr.txt" || true
        cp "$dir/perf-trace.txt" "$RESULTS/perf-trace-flush$flush.txt"
        $PARSE perftrace --out "$RESULTS/syscalls-perf.csv" --scenario syscalls-perf \
            --label "perf trace, log_flush_ms = $flush" --summary "$dir/perf-trace.txt" \
            --stdout "$dir/stdout.txt" --flush_ms "$flush" --runtime "$RUNTIME" --load1 "$(load1)"
        rm -rf "$dir/logs"
    done
    table syscalls-perf "load1,write,writev,log_writes,socket_writes,eventfd_writes,log_lines,lines_per_log_write,msgs_sent,socket_writes_per_frame,actor_reads_per_frame,actor_syscalls,actor_epoll,actor_futex,writer_futex,all_syscalls,events"
}

# The file-descriptor limit: what 64 VMs need, and the error under a low
# hard limit (prlimit lowers it for that one process).
fd_limit() {
    local dir="$WORK/fd-limit" rc=0
    mkdir -p "$dir"
    settings "$dir/settings.toml" 64 "" 1 200 false
    {
        echo "soft/hard open-file limit of the shell: $(ulimit -Sn)/$(ulimit -Hn)"
        echo "\$ prlimit --nofile=1024:1024 logical-clocks --vm-count 64 --runtime 1 --base-port 0"
        prlimit --nofile=1024:1024 "$BIN" --config "$dir/settings.toml" --base-port 0 \
            > "$dir/out.txt" 2>&1 || rc=$?
        cat "$dir/out.txt"
        echo "exit code: $rc"
        rc=0
        echo "\$ prlimit --nofile=1024:20000 logical-clocks --vm-count 64 --runtime 1 --base-port 0"
        prlimit --nofile=1024:20000 "$BIN" --config "$dir/settings.toml" --base-port 0 \
            > "$dir/out.txt" 2>&1 || rc=$?
        grep -E 'mesh connected|messages:|error' "$dir/out.txt" || true
        echo "exit code: $rc"
    } | tee "$RESULTS/fd-limit.txt" >&2
}

# The timer alone, outside the model: how late tokio's sleep_until fires on
# this machine against std::thread::sleep (see benches/timer-probe).
timer() {
    log "== cargo build --release (benches/timer-probe)"
    (cd "$HERE/timer-probe" && CARGO_TARGET_DIR="$TARGET_DIR/timer-probe" cargo build --release --quiet)
    local probe="$TARGET_DIR/timer-probe/release/timer-probe" rep rate load
    for rate in 1000 100; do
        for ((rep = 1; rep <= REPS; rep++)); do
            load="$(load1)"
            log "-- timer: $rate ticks/s (rep $rep, load $load)"
            "$probe" "$rate" 5 | tee "$WORK/timer.txt" >&2
            python3 - "$RESULTS/timer.csv" "$rate" "$rep" "$load" "$WORK/timer.txt" <<'EOF2'
import re, sys, os, csv
out, rate, rep, load, text = sys.argv[1:6]
rows = []
for line in open(text):
    m = re.match(r"\s*(\S+): ticks\s+(\d+)\s+late p50\s+(\d+) us\s+p99\s+(\d+) us\s+p99.9\s+(\d+) us\s+max\s+(\d+) us\s+over 2 ms\s+([0-9.]+)%\s+cpu\s+([0-9.]+)%", line)
    if m:
        g = m.groups()
        rows.append({"scenario": "timer", "label": f"{g[0]} @ {rate}/s", "rep": rep, "load1": load,
                     "ticks": g[1], "late_p50_us": g[2], "late_p99_us": g[3], "late_p999_us": g[4],
                     "late_max_us": g[5], "over_2ms_pct": g[6], "cpu_pct": g[7]})
new = not os.path.exists(out)
with open(out, "a", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0]))
    if new:
        w.writeheader()
    w.writerows(rows)
EOF2
        done
    done
    table timer "load1,ticks,late_p50_us,late_p99_us,late_p999_us,late_max_us,over_2ms_pct,cpu_pct"
}

run_scenario() {
    case "$1" in
        tick-accuracy) tick_accuracy ;;
        scale) scale ;;
        sweep) sweep ;;
        latency) latency ;;
        virtual) virtual ;;
        analyzer) analyzer ;;
        default-run) default_run ;;
        syscalls) syscalls ;;
        syscalls-cpu) syscalls_cpu ;;
        strace) strace_counts ;;
        fd-limit) fd_limit ;;
        perf-trace) perf_trace ;;
        timer) timer ;;
        vector-clocks) vector_clocks ;;
        *) log "unknown scenario: $1"; exit 2 ;;
    esac
}

main() {
    local scenarios=("$@")
    [[ ${#scenarios[@]} -eq 0 ]] && scenarios=(all)
    if [[ " ${scenarios[*]} " == *" all "* ]]; then
        scenarios=(tick-accuracy scale sweep latency virtual vector-clocks analyzer syscalls fd-limit timer default-run)
    fi
    build
    machine
    local s
    for s in "${scenarios[@]}"; do
        run_scenario "$s"
    done
    log "results in $RESULTS"
}

main "$@"
