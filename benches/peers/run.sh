#!/usr/bin/env bash
# Peer comparison: the same M/M/c (c = 8, rho = 0.9, 10^6 customers) in inferscale, a
# bare hand-written Rust heap loop (the ceiling), SimPy and Ciw, in one run.
# Creates benches/peers/.venv with SimPy and Ciw on first use (needs pip access).
#
#   benches/peers/run.sh [CUSTOMERS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
customers="${1:-1000000}"

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "simpy==4.1.2" "ciw==3.2.7"
fi

cargo build --release --quiet --manifest-path "$root/Cargo.toml" --example bare_mmc --example inferscale_mmc
bin_dir="${CARGO_TARGET_DIR:-$root/target}/release/examples"
"$venv/bin/python" "$here/compare.py" "$bin_dir" "$customers"
