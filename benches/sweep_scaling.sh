#!/usr/bin/env bash
# Sweep speed-up over threads: the policy shoot-out (11 policies) with 6 replications
# each, 66 runs, timed end to end (`inferscale run`: expanding the sweep, simulating,
# writing every run's parts, merging the tables, writing the summary). Timings on a
# shared machine drift by ±8%, so each repetition times 1 thread and then each other
# thread count back to back, and the speed-up reported is the median of the
# per-repetition ratios (with the medians and ranges of the times). Also checks that
# every thread count gives the same runs.parquet, byte for byte (--reproducible).
#
#   benches/sweep_scaling.sh [THREADS...]     # default: 2
#   REPEAT=7 benches/sweep_scaling.sh 2 4
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repeat="${REPEAT:-5}"
threads=("$@")
[ ${#threads[@]} -eq 0 ] && threads=(2)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed 's/^replications: 5/replications: 6/' "$root/scenarios/policy-shootout.yaml" > "$tmp/sweep.yaml"
runs=$(( 11 * 6 ))

seconds() { # threads → wall seconds of one sweep
    local start end
    start=$(date +%s.%N)
    "$bin" run "$tmp/sweep.yaml" --quiet --reproducible --threads "$1" --out "$tmp/out-$1"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f-%.2f", v[1], v[NR] }'; }

declare -A times ratios
for _ in $(seq "$repeat"); do
    one=$(seconds 1)
    times[1]+="$one"$'\n'
    for t in "${threads[@]}"; do
        s=$(seconds "$t")
        times[$t]+="$s"$'\n'
        ratios[$t]+="$(awk -v a="$one" -v b="$s" 'BEGIN { print a / b }')"$'\n'
    done
done

echo "sweep: $runs runs (policy-shootout.yaml, 6 replications), $repeat repetitions, $(nproc) cores"
printf '%8s %10s %13s %10s %9s %13s\n' threads "median s" range "runs/s" speed-up "ratio range"
m1=$(printf '%s' "${times[1]}" | median)
printf '%8d %10.2f %13s %10.2f %8.2fx\n' 1 "$m1" "$(printf '%s' "${times[1]}" | spread)" \
    "$(awk -v r="$runs" -v s="$m1" 'BEGIN { print r / s }')" 1
for t in "${threads[@]}"; do
    m=$(printf '%s' "${times[$t]}" | median)
    printf '%8d %10.2f %13s %10.2f %8.2fx %13s\n' "$t" "$m" "$(printf '%s' "${times[$t]}" | spread)" \
        "$(awk -v r="$runs" -v s="$m" 'BEGIN { print r / s }')" \
        "$(printf '%s' "${ratios[$t]}" | median)" "$(printf '%s' "${ratios[$t]}" | spread)"
    cmp "$tmp/out-1/runs.parquet" "$tmp/out-$t/runs.parquet" \
        && echo "         runs.parquet identical to 1 thread's (byte for byte, --reproducible)"
done
