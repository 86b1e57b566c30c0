#!/usr/bin/env python3
"""Fan the shards of an inferscale sweep out over a Ray cluster and gather one dataset.

Each Ray task runs ``inferscale run SCENARIO --shard I/N`` into a scratch directory on
its node and sends back the shard's part files (so no shared file system is needed);
the driver unpacks them into ``OUT/parts/`` (run ids are distinct across shards, so
the parts form one dataset) and runs ``inferscale merge OUT``. The result is the same
``runs.parquet`` as running the sweep on one machine, byte for byte with
``--reproducible``.

The inferscale binary is shipped to the workers through Ray's object store, so the
nodes need the same OS and CPU architecture as the driver, not a Rust toolchain.
Scenarios that read files (traces, ServeGen windows) need those files at the same
path on every node, as with any batch system.

Usage::

    python scripts/ray_sweep.py scenarios/policy-shootout.yaml --shards 16 \\
        --out results/policy-shootout [--address ray://head:10001] [-- --reproducible]

A failed shard is retried by Ray (``--retries``); a shard whose task still fails
leaves the others' parts in ``OUT/parts/`` and the script exits non-zero, naming the
shards to rerun with ``--only-shards``.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import ray

ROOT = Path(__file__).resolve().parent.parent


@ray.remote
def run_shard(binary: bytes, scenario_path: str, scenario_text: str, index: int,
              count: int, extra: list[str]) -> tuple[int, bytes, str]:
    """Runs shard ``index`` of ``count`` on this node; returns its parts as a tar."""
    with tempfile.TemporaryDirectory(prefix=f"inferscale-shard{index}-") as scratch:
        scratch = Path(scratch)
        exe = scratch / "inferscale"
        exe.write_bytes(binary)
        exe.chmod(0o755)
        # The scenario as the driver has it; relative paths inside it resolve against
        # its own directory when that exists here too (a shared file system).
        if Path(scenario_path).exists():
            scenario = scenario_path
        else:
            scenario = str(scratch / Path(scenario_path).name)
            Path(scenario).write_text(scenario_text)
        out = scratch / "out"
        proc = subprocess.run(
            [str(exe), "run", scenario, "--quiet", "--shard", f"{index}/{count}",
             "--out", str(out), *extra],
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"shard {index}/{count} failed ({proc.returncode}): {proc.stderr}")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(out / "parts", arcname="parts")
        return index, buffer.getvalue(), proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Options after -- go to every `inferscale run` (e.g. -- --reproducible).")
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--shards", type=int, default=None,
                        help="number of shards (default: the cluster's CPU count)")
    parser.add_argument("--out", type=Path, required=True, help="results directory")
    parser.add_argument("--address", default=None,
                        help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    parser.add_argument("--binary", type=Path,
                        default=Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
                        / "release" / "inferscale",
                        help="the inferscale binary to ship (default: target/release/inferscale)")
    parser.add_argument("--retries", type=int, default=2, help="Ray retries per failed shard")
    parser.add_argument("--only-shards", default=None,
                        help="comma-separated shard indices to (re)run, keeping the parts "
                             "already in OUT (after a failure)")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    if not args.binary.exists():
        print(f"error: no inferscale binary at {args.binary}; build it with "
              "`cargo build --release`", file=sys.stderr)
        return 2
    binary_path = args.binary.resolve()
    # Check the scenario (and expand its sweep) locally first: errors name the file
    # and line here rather than in a worker's log.
    check = subprocess.run([str(binary_path), "validate", str(args.scenario)],
                           capture_output=True, text=True)
    if check.returncode != 0:
        print(check.stderr, file=sys.stderr, end="")
        return check.returncode

    ray.init(address=args.address, log_to_driver=False)
    shards = args.shards or max(1, int(ray.cluster_resources().get("CPU", 1)))
    out = args.out.resolve()
    if args.only_shards is None:
        indices = list(range(shards))
        if (out / "parts").exists():
            shutil.rmtree(out / "parts")
    else:
        indices = [int(i) for i in args.only_shards.split(",") if i.strip()]
    out.mkdir(parents=True, exist_ok=True)

    binary = ray.put(binary_path.read_bytes())
    scenario_text = args.scenario.read_text()
    started = time.time()
    pending = [
        run_shard.options(max_retries=args.retries, retry_exceptions=True).remote(
            binary, str(args.scenario.resolve()), scenario_text, i, shards, extra)
        for i in indices
    ]
    failed = []
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        try:
            index, archive, _log = ray.get(done[0])
        except Exception as err:  # noqa: BLE001 - report every failed shard, go on
            failed.append(str(err).split("shard ", 1)[-1].split("/", 1)[0])
            print(f"error: {err}", file=sys.stderr)
            continue
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            tar.extractall(out, filter="data")
        print(f"shard {index}/{shards} done ({time.time() - started:.1f} s)", file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(indices)} shards failed; their runs are missing from "
              f"{out}/parts. Rerun them with: --shards {shards} --only-shards {','.join(failed)}",
              file=sys.stderr)
        return 1
    merged = subprocess.run([str(binary_path), "merge", str(out)])
    return merged.returncode


if __name__ == "__main__":
    sys.exit(main())
