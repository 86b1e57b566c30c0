#!/usr/bin/env python3
"""inferscale's built-in threshold rule (`decider: {kind: threshold}`), written as an
external decider: a read-eval-print loop over JSON lines (docs/decider-protocol.md).

Every tick inferscale writes the fleet's view on one line of stdin; this program
answers one line of actions on stdout. For each model the loop controls, the rule
compares a per-replica metric with two thresholds and steps the replica count up or
down, each step followed by a cooldown, within [min, max]. It mirrors
crates/policy/src/decide.rs (`Threshold`) operation for operation, so a run with it
is identical to one with the built-in rule (tests/it/external_decider.rs checks so).

    python3 threshold_decider.py --metric concurrency --upper 40 --lower 12 --max 4

Only the standard library: any Python 3.8+ runs it.
"""

import argparse
import json
import math
import sys


def rust_display(x):
    """A float as Rust's `{}` prints it (shortest round trip, no trailing `.0`), so
    the action log's reasons are the built-in rule's, byte for byte."""
    if x == int(x) and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def metric_value(metric, model):
    """The per-replica metric, scaled by the forecast's load ratio where it is a load
    (the built-in `metric_value`)."""
    m = model["metrics"]
    latest = m["latest"]
    forecast = model["forecast"]
    if forecast is not None and m["arrival_rate"] > 0.0:
        ratio = max(forecast["at_horizon_per_s"] / m["arrival_rate"], 0.0)
    else:
        ratio = 1.0
    ready = max(latest["ready"], 1)
    if metric == "utilization":
        return m["utilization"] * ratio
    if metric == "concurrency":
        return m["in_flight"] / ready * ratio
    if metric == "ttft_p99":
        value = latest["ttft_p99_s"]
        return math.nan if value is None else value
    if metric == "kv_utilization":
        return latest["kv_utilization"] * ratio
    if metric == "queue_length":
        return latest["waiting"] / ready * ratio
    raise SystemExit(f"unknown metric {metric!r}")


class Threshold:
    """One model's rule and its state (when it last stepped)."""

    def __init__(self, args):
        self.args = args
        self.last_step_s = None

    def decide(self, now_s, model):
        a = self.args
        value = metric_value(a.metric, model)
        current = model["metrics"]["latest"]["desired"]
        since = math.inf if self.last_step_s is None else now_s - self.last_step_s
        if value > a.upper and since >= a.cooldown_up:
            target = current + a.step_up
            reason = f"threshold: {value:.3f} > {rust_display(a.upper)}"
        elif value < a.lower and since >= a.cooldown_down:
            target = current - a.step_down
            reason = f"threshold: {value:.3f} < {rust_display(a.lower)}"
        else:
            target, reason = current, ""
        replicas = min(max(target, a.min), max(a.max, a.min))
        if replicas != current:
            self.last_step_s = now_s
        return replicas, reason


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--metric", default="utilization")
    p.add_argument("--upper", type=float, required=True)
    p.add_argument("--lower", type=float, required=True)
    p.add_argument("--step-up", type=int, default=1)
    p.add_argument("--step-down", type=int, default=1)
    p.add_argument("--cooldown-up", type=float, default=60.0, help="seconds")
    p.add_argument("--cooldown-down", type=float, default=300.0, help="seconds")
    p.add_argument("--min", type=int, default=1)
    p.add_argument("--max", type=int, default=100)
    args = p.parse_args()
    rules = {}
    for line in sys.stdin:
        view = json.loads(line)
        if view["version"] != 1:
            raise SystemExit(f"protocol version {view['version']} is not 1")
        actions = []
        for model in view["models"]:
            if not model["controlled"] or model["metrics"] is None:
                continue
            rule = rules.setdefault(model["name"], Threshold(args))
            replicas, reason = rule.decide(view["time_s"], model)
            actions.append({"model": model["name"], "replicas": replicas, "reason": reason})
        print(json.dumps({"actions": actions}), flush=True)


if __name__ == "__main__":
    main()
