#!/usr/bin/env python3
"""What a policy written in Python costs: the policy shoot-out's threshold point at a
15 s interval, run with the built-in rule and with the same rule as a Python object
(examples/threshold_decider.py's `Threshold` behind the Decider protocol), alternated
A/B/A/B on one thread so machine noise hits both alike; and the Gymnasium
environment's steps per second on the same cluster. Figures go in benches/README.md.

    python benches/python_overhead.py [--rounds 5]

Needs the package installed (pip install './python[gym]').
"""

import argparse
import importlib.util
import pathlib
import statistics
import time

import numpy as np

import inferscale

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHOOTOUT = ROOT / "scenarios" / "policy-shootout.yaml"
RULE = dict(metric="concurrency", upper=20.0, lower=6.0, step_up=1, step_down=1,
            cooldown_up=60.0, cooldown_down=300.0, min=1, max=4)
SET = ["sweep.variants.threshold.policy.interval=15s"]


def threshold_class():
    spec = importlib.util.spec_from_file_location("threshold_decider", ROOT / "examples" / "threshold_decider.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Threshold


class PythonThreshold:
    def __init__(self):
        self.args = argparse.Namespace(**RULE)
        self.rule = threshold_class()
        self.rules = {}

    def decide(self, view):
        actions = []
        for model in view["models"]:
            if model["controlled"] and model["metrics"] is not None:
                rule = self.rules.setdefault(model["name"], self.rule(self.args))
                replicas, reason = rule.decide(view["time_s"], model)
                actions.append({"model": model["name"], "replicas": replicas, "reason": reason})
        return {"actions": actions}


def timed(**kw):
    t = time.perf_counter()
    r = inferscale.run(SHOOTOUT, only=["threshold"], set=SET, threads=1, reproducible=True, **kw)
    return time.perf_counter() - t, r


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    builtin, python = [], []
    timed()  # warm caches (the model presets, the page cache)
    for _ in range(a.rounds):
        t, rb = timed()
        builtin.append(t)
        t, rp = timed(decider=PythonThreshold())
        python.append(t)
    same = rb["actions"].equals(rp["actions"])
    runs = rb["runs"].num_rows
    ticks = int(3 * 3600 / 15) * runs
    mb, mp = statistics.median(builtin), statistics.median(python)
    print(f"shoot-out threshold point, {runs} runs of 3 h at 15 s ({ticks} ticks), 1 thread, {a.rounds} rounds")
    print(f"  built-in rule   median {mb:.3f} s  ({', '.join(f'{x:.3f}' for x in builtin)})")
    print(f"  Python Decider  median {mp:.3f} s  ({', '.join(f'{x:.3f}' for x in python)})")
    print(f"  overhead {100 * (mp / mb - 1):+.1f}%  ({1e6 * (mp - mb) / ticks:.0f} us per tick); identical actions: {same}")

    env = inferscale.Env(SHOOTOUT, point="threshold", set=SET, max_replicas=4)
    rates = []
    for seed in range(a.rounds):
        obs, _ = env.reset(seed=seed)
        n, t = 0, time.perf_counter()
        while True:
            obs, _, terminated, _, _ = env.step(np.array([2, 1]))
            n += 1
            if terminated:
                break
        rates.append(n / (time.perf_counter() - t))
    print(f"  Env: {n} steps per episode, median {statistics.median(rates):.0f} steps/s "
          f"({', '.join(f'{x:.0f}' for x in rates)})")


if __name__ == "__main__":
    main()
