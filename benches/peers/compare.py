"""Runs the same M/M/c (c = 8, rho = 0.9) in inferscale, a bare Rust heap loop, SimPy
and Ciw, in one run, and prints customers per second and the ratios as a Markdown
table (the one in benches/README.md). Called by run.sh, which builds the binaries and
the virtual environment first.

Usage: python compare.py BIN_DIR CUSTOMERS [PY_CUSTOMERS]
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def best_of(cmd, repeats):
    """The fastest of `repeats` runs: the least disturbed by the rest of the machine."""
    results = [run(cmd) for _ in range(repeats)]
    return min(results, key=lambda r: r["seconds"])


def main():
    bin_dir, customers = sys.argv[1], int(sys.argv[2])
    py_customers = int(sys.argv[3]) if len(sys.argv) > 3 else customers
    py = sys.executable
    rows = [
        best_of([os.path.join(bin_dir, "bare_mmc"), str(customers)], 5),
        best_of([os.path.join(bin_dir, "inferscale_mmc"), str(customers)], 5),
        best_of([py, os.path.join(HERE, "simpy_mmc.py"), str(py_customers)], 1),
        best_of([py, os.path.join(HERE, "ciw_mmc.py"), str(py_customers)], 1),
    ]
    for r in rows:
        r["rate"] = r["customers"] / r["seconds"]
    by = {r["simulator"]: r for r in rows}
    ours = by["inferscale"]["rate"]
    print("| simulator | customers | seconds | customers/s | inferscale ÷ it | mean wait (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['simulator']} | {r['customers']:,} | {r['seconds']:.3f} | "
              f"{r['rate']:,.0f} | {ours / r['rate']:.2f}× | {r['mean_wait_s']:.4f} |")
    print()
    print("Closed form (Erlang C) mean wait: 0.8769 s.")
    vs_simpy = ours / by["simpy"]["rate"]
    vs_bare = ours / by["bare-rust-heap"]["rate"]
    print(f"inferscale vs SimPy: {vs_simpy:.0f}× (target ≥ 150×) — {'met' if vs_simpy >= 150 else 'MISSED'}")
    print(f"inferscale vs bare loop: {100 * vs_bare:.0f}% (target ≥ 60%) — {'met' if vs_bare >= 0.6 else 'MISSED'}")


if __name__ == "__main__":
    main()
