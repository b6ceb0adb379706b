#!/usr/bin/env bash
# Byte-identical virtual-time logs, checked across two builds: runs nine virtual-time runs
# (seeds 1 to 3: three VMs for 300 s; four VMs with every fault kind and uniform latency,
# benches/same-logs-faults.toml; six VMs for 60 s) with each binary and compares every VM log
# byte for byte. A refactor must print "all 9 runs identical".
#   benches/same_logs.sh OLD_BINARY NEW_BINARY
# e.g. build the old commit in a worktree (git worktree add /tmp/old REV && cargo build
# --manifest-path /tmp/old/Cargo.toml), then compare with target/debug/logical-clocks.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run_all() { # BINARY DIR
    local bin=$1 out=$2 s
    for s in 1 2 3; do
        "$bin" --virtual-time --seed "$s" --runtime 300 --log-dir "$out/plain-$s" >/dev/null 2>&1
        "$bin" --virtual-time --seed "$s" --config "$here/same-logs-faults.toml" \
            --log-dir "$out/faults-$s" >/dev/null 2>&1
        "$bin" --virtual-time --seed "$s" --vm-count 6 --runtime 60 --log-dir "$out/six-$s" >/dev/null 2>&1
    done
}
run_all "$(readlink -f "$1")" "$work/old"
run_all "$(readlink -f "$2")" "$work/new"
differ=0
for dir in "$work"/old/*; do
    name=$(basename "$dir")
    for log in "$dir"/*/vm-*.log; do
        other=$(echo "$work"/new/"$name"/*/)$(basename "$log")
        cmp -s "$log" "$other" || { echo "differs: $name $(basename "$log")"; differ=1; }
    done
done
[ "$differ" = 0 ] && echo "all 9 runs identical"
exit "$differ"
