#!/usr/bin/env bash
# Policy overhead: simulation wall time of scenarios/diurnal.yaml (one replication, one
# thread; the run's own `wall_time_s`, so process start-up and file writing are left out)
# with no scaling loop, with a loop that ticks every 15 s and decides nothing
# (`static`), and with the HPA on a fleet capped at its starting size (so the cluster
# does the same work and only the loop's cost differs). Median of N runs each.
#
#   benches/peers/policy_overhead.sh [RUNS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-7}"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

base="$(sed -e 's/^replications: 3/replications: 1/' "$root/scenarios/diurnal.yaml")"
printf '%s\n' "$base" > "$tmp/none.yaml"
printf '%s\npolicy:\n  interval: 15s\n  decider: {kind: static}\n' "$base" > "$tmp/static.yaml"
printf '%s\npolicy:\n  interval: 15s\n  predictor: {kind: linear_trend, window: 5m}\n  decider:\n    kind: hpa\n    minReplicas: 4\n    maxReplicas: 4\n    metrics: [{type: Pods, pods: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 24}}}]\n' "$base" > "$tmp/hpa.yaml"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for kind in none static hpa; do
    for _ in $(seq "$runs"); do
        # The run's own wall time (simulation only: no start-up, no Parquet writing).
        "$bin" run "$tmp/$kind.yaml" --threads 1 --out "$tmp/out-$kind" 2>/dev/null \
            | awk '$1 == "wall_time_s" { print $2 }'
    done | median > "$tmp/$kind.t"
done
none=$(cat "$tmp/none.t")
for kind in none static hpa; do
    t=$(cat "$tmp/$kind.t")
    printf '%-7s %.3f s   overhead %+.1f%%\n' "$kind" "$t" "$(echo "($t / $none - 1) * 100" | bc -l)"
done
