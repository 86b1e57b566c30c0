#!/usr/bin/env bash
# Runs scenarios/autoscale-hpa.yaml with the scikit-learn SVR predictor of
# examples/svr_predictor.py as an external process, next to the built-in linear trend,
# and prints both summaries. Creates scripts/.venv-svr with numpy and scikit-learn on
# first use (needs pip access).
#
#   scripts/external_svr.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/scripts/.venv-svr"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check numpy scikit-learn
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
base="$(sed -n '/^policy:/q;p' "$root/scenarios/autoscale-hpa.yaml")"
policy() {
    printf '%s\npolicy:\n  interval: 15s\n  predictor: %s\n  horizon: 3m\n' "$base" "$1"
    printf '  decider:\n    kind: hpa\n    minReplicas: 1\n    maxReplicas: 16\n'
    printf '    metrics: [{type: Pods, pods: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 24}}}]\n'
}
policy "{kind: external, command: [$venv/bin/python, $root/examples/svr_predictor.py]}" \
    | sed 's/^name: autoscale-hpa/name: hpa-svr/' > "$tmp/svr.yaml"
policy "{kind: linear_trend, window: 10m}" \
    | sed 's/^name: autoscale-hpa/name: hpa-linear/' > "$tmp/linear.yaml"
for kind in svr linear; do
    echo "== $kind"
    "$bin" run "$tmp/$kind.yaml" --out "$tmp/out-$kind" 2>/dev/null \
        | grep -E '^(sla_attainment|cost_usd|mean_replicas|scaling_actions|forecast_mape) '
done
