#!/usr/bin/env bash
# The policy shoot-out of scenarios/policy-shootout.yaml: the same load and fleet under
# each contender, each decider also paired with the oracle predictor (the true future
# rate: an upper bound on what forecasting can buy). Prints a Markdown table of mean
# cost and SLA attainment with 95% confidence intervals over the replications.
# (Issue 6's sweeps will express this as one scenario; until then the script swaps
# the `policy:` block.)
#
#   scripts/policy_shootout.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/results/policy-shootout}"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
base="$(sed -n '/^policy:/q;p' "$root/scenarios/policy-shootout.yaml")"
mkdir -p "$out"

hpa='{kind: hpa, minReplicas: 1, maxReplicas: 4, metrics: [{type: Pods, pods: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 16}}}]}'
kpa='{kind: kpa, target: 16, target-utilization-percentage: 100, min-scale: 1, max-scale: 4}'
threshold='{kind: threshold, metric: concurrency, upper: 20, lower: 6, cooldown_up: 60s, cooldown_down: 300s, min: 1, max: 4}'
queueing='{kind: queueing, service_rate: 0.8/s, servers_per_replica: 16, percentile: 0.99, target: 8s, min: 1, max: 4}'
cost='{kind: cost_optimal, headroom: 0.8, options: [{model: small, capacity: 12/s}, {model: small-cpu, capacity: 3.5/s}]}'
hw='{kind: holt_winters, season: 30m, alpha: 0.3, beta: 0.02, gamma: 0.3}'
linear='{kind: linear_trend, window: 5m}'

# name | interval | predictor | decider
contenders=(
    "static-3|30s||{kind: static, replicas: 3}"
    "threshold|30s||$threshold"
    "threshold+oracle|30s|{kind: oracle}|$threshold"
    "hpa|15s||$hpa"
    "hpa+oracle|15s|{kind: oracle}|$hpa"
    "kpa|2s||$kpa"
    "kpa+oracle|2s|{kind: oracle}|$kpa"
    "queueing+linear_trend|30s|$linear|$queueing"
    "queueing+oracle|30s|{kind: oracle}|$queueing"
    "cost_optimal+holt_winters|30s|$hw|$cost"
    "cost_optimal+oracle|30s|{kind: oracle}|$cost"
)

field() { # metric name → "mean [lo, hi]" from the summary table
    awk -v m="$1" '$1 == m { v = $2; lo = $(NF-1); hi = $NF; gsub(/[\[,]/, "", lo); gsub(/\]/, "", hi); print v " [" lo ", " hi "]" }'
}
echo "| policy | cost \$ (95% CI) | SLA attainment (95% CI) | mean replicas | actions |"
echo "|---|---|---|---|---|"
for c in "${contenders[@]}"; do
    IFS='|' read -r name interval predictor decider <<< "$c"
    file="$out/$name.yaml"
    {
        printf '%s\n' "$base" | sed "s/^name: policy-shootout/name: shootout-${name//+/-}/"
        printf 'policy:\n  interval: %s\n  horizon: 3m\n' "$interval"
        [ -n "$predictor" ] && printf '  predictor: %s\n' "$predictor"
        printf '  decider: %s\n' "$decider"
    } > "$file"
    summary="$("$bin" run "$file" --out "$out/$name" 2>/dev/null)"
    cost="$(printf '%s\n' "$summary" | field cost_usd)"
    sla="$(printf '%s\n' "$summary" | field sla_attainment)"
    replicas="$(printf '%s\n' "$summary" | awk '$1 == "mean_replicas" { print $2 }')"
    actions="$(printf '%s\n' "$summary" | awk '$1 == "scaling_actions" { print $2 }')"
    echo "| $name | $cost | $sla | $replicas | $actions |"
done
