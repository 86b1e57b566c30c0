#!/usr/bin/env bash
# Sweep speed-up over threads: the policy shoot-out (11 policies) with 6 replications
# each, 66 runs, timed end to end (`inferscale run`, writing every part and the merged
# tables) on 1 thread and on each of the other thread counts given. Prints the median
# of REPEAT timings per thread count and the speed-up over 1 thread, and checks the
# results are the same (runs.parquet without its wall-time column).
#
#   benches/sweep_scaling.sh [THREADS...]     # default: 2
#   REPEAT=5 benches/sweep_scaling.sh 2 4
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
repeat="${REPEAT:-3}"
threads=("$@")
[ ${#threads[@]} -eq 0 ] && threads=(2)
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
sed 's/^replications: 5/replications: 6/' "$root/scenarios/policy-shootout.yaml" > "$tmp/sweep.yaml"
runs=$(( 11 * 6 ))

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
time_with() { # threads → median seconds
    for _ in $(seq "$repeat"); do
        local start end
        start=$(date +%s.%N)
        "$bin" run "$tmp/sweep.yaml" --quiet --reproducible --threads "$1" --out "$tmp/out-$1"
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
    done | median
}

echo "sweep: $runs runs (policy-shootout.yaml, 6 replications), median of $repeat, $(nproc) cores"
one=$(time_with 1)
printf '%8s %10s %10s %9s\n' threads seconds "runs/s" speed-up
printf '%8d %10.2f %10.2f %8.2fx\n' 1 "$one" "$(awk -v r="$runs" -v s="$one" 'BEGIN { print r / s }')" 1
for t in "${threads[@]}"; do
    s=$(time_with "$t")
    printf '%8d %10.2f %10.2f %8.2fx\n' "$t" "$s" "$(awk -v r="$runs" -v s="$s" 'BEGIN { print r / s }')" "$(awk -v a="$one" -v s="$s" 'BEGIN { print a / s }')"
    cmp "$tmp/out-1/runs.parquet" "$tmp/out-$t/runs.parquet" \
        && echo "         runs.parquet identical to 1 thread's (byte for byte, --reproducible)"
done
