#!/usr/bin/env python3
"""A policy search over a Python decider's parameters, on common random numbers.

The policy sizes each model for a target number of requests in flight per replica
(the shape of Knative's and KEDA's rules) and waits `down_delay` seconds of lower
demand before it scales down. A grid over (target, down_delay) is evaluated with
`inferscale.run`: every candidate sees the same requests (the scenario's seed fixes
the workload's streams), so differences between candidates are the policy's alone.
Each candidate is scored by its mean bill plus a price per SLA miss, and the grid is
printed best first.

    pip install ./python
    python examples/policy_search.py            # 4 x 3 grid, 3 replications each
    python examples/policy_search.py --quick    # 2 x 2 grid, 1 replication (CI)

Nothing is trained: it is a plain grid search, the loop a smarter search (random,
Bayesian, evolutionary, an LLM proposing policies) would replace.
"""

import argparse
import itertools
import math
import pathlib

import inferscale

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "external-decider.yaml"
POINT = "builtin"  # the point whose decider the Python policy replaces
MISS_PRICE_USD = 0.01  # what one request that missed its SLA is worth


class TargetInFlight:
    """Replicas = ceil(in flight / target), within [1, max]; scale down only after
    `down_delay` seconds of asking for fewer."""

    def __init__(self, target, down_delay, max_replicas=4):
        self.target = target
        self.down_delay = down_delay
        self.max = max_replicas
        self.lower_since = {}

    def decide(self, view):
        actions = []
        for m in view["models"]:
            if not m["controlled"] or m["metrics"] is None:
                continue
            want = math.ceil(m["metrics"]["in_flight"] / self.target)
            want = min(max(want, 1), self.max)
            have = m["replicas"]["desired"]
            if want < have:
                since = self.lower_since.setdefault(m["name"], view["time_s"])
                if view["time_s"] - since < self.down_delay:
                    continue
            self.lower_since.pop(m["name"], None)
            if want != have:
                actions.append({"model": m["name"], "replicas": want,
                                "reason": f"target {self.target} in flight"})
        return actions


def evaluate(target, down_delay, replications):
    runs = inferscale.run(SCENARIO, only=[POINT], replications=replications,
                          decider=TargetInFlight(target, down_delay))["runs"]
    cost = runs.column("cost_usd").to_pylist()
    missed = runs.column("sla_missed").to_pylist()
    attainment = runs.column("sla_attainment").to_pylist()
    n = len(cost)
    return {
        "target": target,
        "down_delay_s": down_delay,
        "cost_usd": sum(cost) / n,
        "sla_attainment": sum(attainment) / n,
        "score_usd": sum(c + MISS_PRICE_USD * m for c, m in zip(cost, missed)) / n,
    }


def search(quick=False):
    targets = [16, 32] if quick else [8, 16, 24, 32]
    delays = [0, 300] if quick else [0, 120, 300]
    replications = 1 if quick else 3
    results = [evaluate(t, d, replications) for t, d in itertools.product(targets, delays)]
    return sorted(results, key=lambda r: r["score_usd"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a 2 x 2 grid, one replication")
    a = p.parse_args()
    results = search(a.quick)
    print(f"{'target':>6} {'down_delay':>10} {'cost $':>8} {'SLA met':>8} {'score $':>8}")
    for r in results:
        print(f"{r['target']:>6} {r['down_delay_s']:>9}s {r['cost_usd']:>8.3f} "
              f"{r['sla_attainment']:>8.1%} {r['score_usd']:>8.3f}")
    best = results[0]
    print(f"best: target {best['target']} in flight per replica, scale down after "
          f"{best['down_delay_s']} s (score ${best['score_usd']:.3f} per run, "
          f"a miss priced ${MISS_PRICE_USD})")


if __name__ == "__main__":
    main()
