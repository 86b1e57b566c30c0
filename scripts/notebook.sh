#!/usr/bin/env bash
# Runs notebooks/compare_policies.ipynb headless against fresh results, so the notebook
# never silently breaks (CI runs this from .ci/run). Creates a virtual environment with
# polars, pandas, pyarrow, DuckDB, matplotlib and nbclient on first use (needs pip
# access) under the build directory (target/notebook-venv, or $CARGO_TARGET_DIR's):
# ignored by git and out of the source folders. Without RESULTS_DIR it runs
# scenarios/quickstart-sweep.yaml into a temporary directory with the release binary —
# the one already built if there is one (INFERSCALE_BUILD=1 rebuilds it first; none
# built: it is built) — and removes the results at the end; with RESULTS_DIR it reads
# those and keeps the executed notebook next to them. Any failing cell (the Pareto cell
# asserts a non-empty front that agrees with the command's summary) fails the script.
#
#   scripts/notebook.sh [RESULTS_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/notebook-venv"
if ! "$venv/bin/python" -c "import polars, pandas, pyarrow, duckdb, matplotlib, nbclient, nbformat, ipykernel" 2>/dev/null; then
    echo "== creating $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        polars pandas pyarrow duckdb matplotlib nbclient nbformat ipykernel
fi
if [ $# -ge 1 ]; then
    results="$(cd "$1" && pwd)"
else
    bin="$target/release/inferscale"
    if [ ! -x "$bin" ] || [ "${INFERSCALE_BUILD:-0}" = 1 ]; then
        cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    else
        echo "== using the built $bin (INFERSCALE_BUILD=1 rebuilds it)"
    fi
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    results="$tmp/quickstart-sweep"
    "$bin" run "$root/scenarios/quickstart-sweep.yaml" --quiet --out "$results"
fi
echo "== executing notebooks/compare_policies.ipynb on $results"
INFERSCALE_RESULTS="$results" "$venv/bin/python" - "$root/notebooks/compare_policies.ipynb" "$results/compare_policies.ipynb" "${tmp:+temporary}" <<'PY'
import sys

import nbformat
from nbclient import NotebookClient

source, target = sys.argv[1], sys.argv[2]
nb = nbformat.read(source, as_version=4)
# The kernel inherits INFERSCALE_RESULTS; cells run from the notebooks/ directory.
NotebookClient(nb, timeout=300, kernel_name="python3",
               resources={"metadata": {"path": str(__import__("pathlib").Path(source).parent)}},
               ).execute()
nbformat.write(nb, target)
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.get("name") == "stdout" and "Pareto front" in out.get("text", ""):
            print(out["text"].strip())
print("ok: every cell ran" + ("" if sys.argv[3] == "temporary" else f"; executed notebook at {target}"))
PY
