#!/usr/bin/env bash
# Runs notebooks/compare_policies.ipynb headless against fresh results, so the notebook
# never silently breaks (CI runs this from .ci/run). Creates notebooks/.venv with
# polars, pandas, pyarrow, DuckDB, matplotlib and nbclient on first use (needs pip
# access), runs scenarios/quickstart-sweep.yaml into a temporary directory (or reads
# RESULTS_DIR if given), executes every cell, and keeps the executed notebook next to
# the results. Any failing cell (the Pareto cell asserts a non-empty front that agrees
# with the command's summary) fails the script. Without RESULTS_DIR the temporary
# results, executed notebook included, are removed at the end.
#
#   scripts/notebook.sh [RESULTS_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/notebooks/.venv"
if ! "$venv/bin/python" -c "import polars, pandas, pyarrow, duckdb, matplotlib, nbclient, nbformat, ipykernel" 2>/dev/null; then
    echo "== creating $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        polars pandas pyarrow duckdb matplotlib nbclient nbformat ipykernel
fi
if [ $# -ge 1 ]; then
    results="$(cd "$1" && pwd)"
else
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    bin="${CARGO_TARGET_DIR:-$root/target}/release/inferscale"
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
