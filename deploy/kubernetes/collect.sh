#!/usr/bin/env bash
# Copies every pod's run directory out of the StatefulSet `vm` (deploy/kubernetes)
# and analyses them as one run with `logical-clocks analyze --merge`.
#
#   deploy/kubernetes/collect.sh [OUT_DIR]     (default: deploy/logs/kubernetes/<UTC time>)
#
# It first waits until every pod is Ready, which in this StatefulSet means that
# its node has exited (the readiness probe looks for /data/node-exit-status).
#
# Environment (deliberately not LOGICAL_CLOCKS_*: the program reads those as settings):
#   NAMESPACE  namespace of the pods (default: kubectl's current one)
#   LC_WAIT    how long to wait for the nodes to finish (default 10m)
#   LC_BIN     the logical-clocks binary on this machine (default: `logical-clocks`
#              on PATH, else target/release/logical-clocks in this repository)
#
# Exit status: 0 when every node exited 0 and the analysis ran; 1 otherwise.
set -euo pipefail

selector=app.kubernetes.io/name=logical-clocks
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/deploy/logs/kubernetes/$(date -u +%Y-%m-%dT%H-%M-%SZ)}
kc=(kubectl)
if [ -n "${NAMESPACE:-}" ]; then kc+=(--namespace "$NAMESPACE"); fi

replicas=$("${kc[@]}" get statefulset vm -o jsonpath='{.spec.replicas}')
echo "== waiting up to ${LC_WAIT:-10m} for the $replicas nodes to finish"
"${kc[@]}" wait --for=condition=Ready pod --selector "$selector" --timeout "${LC_WAIT:-10m}"

mapfile -t pods < <("${kc[@]}" get pods --selector "$selector" \
    -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
if [ "${#pods[@]}" -ne "$replicas" ]; then
    echo "found ${#pods[@]} pods (${pods[*]}), expected $replicas" >&2
    exit 1
fi

failed=0
dirs=()
for pod in "${pods[@]}"; do
    status=$("${kc[@]}" exec "$pod" -- cat /data/node-exit-status)
    # Run ids are UTC timestamps, so the last name is the newest run. More than
    # one means the container was restarted and ran again.
    mapfile -t runs < <("${kc[@]}" exec "$pod" -- ls -1 /data/logs)
    if [ "${#runs[@]}" -eq 0 ]; then
        echo "$pod: node exited with status $status and left no run directory" >&2
        failed=1
        continue
    fi
    run=${runs[${#runs[@]}-1]}
    if [ "${#runs[@]}" -gt 1 ]; then
        echo "$pod: ${#runs[@]} run directories (a restarted container?); taking the newest, $run" >&2
    fi
    mkdir -p "$out/$pod"
    # kubectl cp needs tar in the container; debian:bookworm-slim has it.
    "${kc[@]}" cp "$pod:/data/logs/$run" "$out/$pod/$run"
    echo "$pod: node exited with status $status; run $run copied to $out/$pod/$run"
    [ "$status" = 0 ] || failed=1
    dirs+=("$out/$pod/$run")
done

if [ "${#dirs[@]}" -eq 0 ]; then
    echo "no run directory to analyse" >&2
    exit 1
fi

bin=${LC_BIN:-}
if [ -z "$bin" ]; then
    if command -v logical-clocks >/dev/null; then
        bin=logical-clocks
    elif [ -x "$repo/target/release/logical-clocks" ]; then
        bin=$repo/target/release/logical-clocks
    fi
fi
if [ -z "$bin" ]; then
    echo "no logical-clocks binary here (cargo build --release, or set LC_BIN); analyse with:" >&2
    echo "  logical-clocks analyze --merge ${dirs[*]}" >&2
    exit 1
fi
echo "== $bin analyze --merge ${dirs[*]}"
"$bin" analyze --merge "${dirs[@]}" || failed=1
exit "$failed"
