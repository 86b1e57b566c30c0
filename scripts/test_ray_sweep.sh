#!/usr/bin/env bash
# Tests scripts/ray_sweep.py on a local Ray instance: the quickstart sweep fanned out
# as 3 shards over Ray must give the same runs.parquet, byte for byte, as the sweep
# run directly (both with --reproducible). Creates scripts/.venv-ray with Ray on
# first use (needs pip access; the wheel is large, so this is not part of the default
# test run).
#
#   scripts/test_ray_sweep.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/scripts/.venv-ray"
if ! "$venv/bin/python" -c "import ray" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "ray[default]"
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
scenario="$root/scenarios/quickstart-sweep.yaml"

"$bin" run "$scenario" --quiet --reproducible --out "$tmp/direct"
RAY_ADDRESS= "$venv/bin/python" "$root/scripts/ray_sweep.py" "$scenario" --shards 3 \
    --binary "$bin" --out "$tmp/ray" -- --reproducible

for table in runs models timeseries actions latency summary; do
    cmp "$tmp/direct/$table.parquet" "$tmp/ray/$table.parquet"
done
runs=$(ls "$tmp/ray/parts/runs" | wc -l)
echo "ok: 3 Ray shards gave the same $runs runs as one machine (every table byte for byte)"
