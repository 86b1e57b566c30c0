#!/usr/bin/env bash
# How a run's cost grows with the fleet: N replicas of Llama-3.1-8B (8 per A100 node,
# no quota) under 20 requests/s for 10 simulated minutes, with a target-tracking loop
# ticking every 15 s (so placement at the start, every tick and every sample see the
# whole fleet). Power-of-two routing, so the per-request cost does not depend on N;
# with least_outstanding each request also scans the ready replicas. Prints N, wall
# seconds (best of REPEAT) and peak memory.
#
#   benches/fleet_scale.sh [N...]          # default: 8000 16000 32000 64000 128000
#   ROUTING=least_outstanding benches/fleet_scale.sh 16000 32000
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repeat="${REPEAT:-3}"
routing="${ROUTING:-power_of_two}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(8000 16000 32000 64000 128000)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '%10s %10s %10s\n' replicas wall_s peak_MB
for n in "${sizes[@]}"; do
    cat > "$tmp/fleet.yaml" <<YAML
name: fleet-$n
duration: 10m
hardware:
  - {name: gpu, preset: a100-80gb}
models:
  - name: chat
    llm: {preset: llama-3.1-8b}
    placement: gpu
    replicas: $n
    routing: $routing
workload:
  - model: chat
    arrivals: {poisson: {rate: 20/s}}
    input_tokens: {uniform: [100, 200]}
    output_tokens: {uniform: [10, 20]}
policy:
  interval: 15s
  decider: {kind: target_tracking, metric: concurrency, target: 4, min: $n, max: $((n + n / 4))}
YAML
    best="" mem=""
    for _ in $(seq "$repeat"); do
        rm -rf "$tmp/out"
        line=$( { /usr/bin/time -f '%e %M' "$bin" run "$tmp/fleet.yaml" -q --out "$tmp/out" >/dev/null; } 2>&1 | tail -1)
        s=${line% *}; kb=${line#* }
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; mem=$kb; fi
    done
    printf '%10s %10s %10s\n' "$n" "$best" "$((mem / 1024))"
done
