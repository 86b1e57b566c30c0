"""inferscale as a library: loading with located errors, running into Arrow tables
with the Parquet files' schemas, and deciders and predictors written in Python giving
exactly the built-in stages' results."""

import argparse
import math

import pyarrow.parquet as pq
import pytest

import inferscale
from conftest import ROOT, threshold_module

EXTERNAL = ROOT / "scenarios" / "external-decider.yaml"
RULE = dict(metric="concurrency", upper=40.0, lower=12.0, min=1, max=4)
# Columns that name the run or the point rather than measure it.
KEYS = {"run_id", "point", "point_index", "variant", "wall_time_s"}


def rows(table, point=None):
    """A table's rows as dicts, without the columns naming the run or the point,
    those of `point` only when given."""
    out = []
    for row in table.to_pylist():
        if point is not None and row.get("point") != point:
            continue
        out.append({k: v for k, v in row.items() if k not in KEYS})
    return out


def same(a, b):
    """Equal rows, NaN equal to NaN (a float column with no signal)."""
    assert len(a) == len(b) and a, (len(a), len(b))
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) and isinstance(y[k], float):
                assert x[k] == y[k] or (math.isnan(x[k]) and math.isnan(y[k])), (k, x[k], y[k])
            else:
                assert x[k] == y[k], (k, x[k], y[k])


class PythonThreshold:
    """The Decider protocol around the example program's rule: one rule state per
    model, as the program keeps."""

    def __init__(self, **rule):
        module = threshold_module()
        defaults = dict(step_up=1, step_down=1, cooldown_up=60.0, cooldown_down=300.0)
        self.args = argparse.Namespace(**{**defaults, **rule})
        self.rule = module.Threshold
        self.rules = {}

    def decide(self, view):
        actions = []
        for model in view["models"]:
            if not model["controlled"] or model["metrics"] is None:
                continue
            rule = self.rules.setdefault(model["name"], self.rule(self.args))
            replicas, reason = rule.decide(view["time_s"], model)
            actions.append({"model": model["name"], "replicas": replicas, "reason": reason})
        return {"actions": actions}


def test_load_reads_a_file_and_a_dict():
    s = inferscale.load(EXTERNAL)
    assert s.name == "external-decider"
    assert s.points == ["external", "builtin"]
    assert s.replications == 2 and s.run_count == 4
    assert s.models("builtin") == ["chat"]
    d = inferscale.load(
        {
            "name": "from-a-dict",
            "duration": "10m",
            "models": [{"name": "m", "generic": {"servers": 2, "service_time": {"exponential": {"mean": "100ms"}}}}],
            "workload": [{"model": "m", "arrivals": {"poisson": {"rate": "5/s"}}}],
        }
    )
    assert d.name == "from-a-dict" and d.file == "<dict>"
    runs = inferscale.run(d).runs
    assert runs.num_rows == 1 and runs.column("arrivals")[0].as_py() > 2000


def test_errors_are_located_as_on_the_command_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nduration: 1h\nmodels:\n  - name: a\n    generic: {servers: two}\n")
    with pytest.raises(inferscale.ScenarioError) as e:
        inferscale.load(bad)
    err = e.value
    assert isinstance(err, ValueError)
    assert err.file == str(bad) and err.line == 5 and err.column > 0
    assert "servers" in err.field and err.message
    with pytest.raises(inferscale.ScenarioError) as e:
        inferscale.load({"name": "x", "duration": "1h", "models": [{"name": "a", "bogus": 1}]})
    assert e.value.field == "models[0].bogus" and "unknown field" in e.value.message
    with pytest.raises(inferscale.ScenarioError) as e:
        inferscale.load(tmp_path / "missing.yaml")
    assert "cannot read" in str(e.value)
    with pytest.raises(inferscale.ScenarioError) as e:
        inferscale.run(EXTERNAL, set=["policy.interval=soon"])
    assert "policy.interval" in e.value.message


def test_tables_have_the_parquet_files_schemas(tmp_path):
    out = tmp_path / "results"
    results = inferscale.run(EXTERNAL, only=["builtin"], out=out, threads=2)
    assert {"runs", "models", "timeseries", "fleet", "actions", "latency", "summary"} <= set(results)
    for name, table in results.items():
        on_disk = pq.read_table(out / f"{name}.parquet")
        assert table.schema.equals(on_disk.schema, check_metadata=True), name
        assert table.equals(on_disk), name
    assert results.runs.num_rows == 2
    # polars and pandas take them as they are.
    frame = results.runs.to_pandas()
    assert str(frame["arrivals"].dtype) == "int64"


def test_a_python_decider_is_the_built_in_rule_through_both_protocols():
    # Built-in and external points as the file has them; the Python object replaces
    # the built-in point's decider.
    files = inferscale.run(EXTERNAL, reproducible=True)
    python = inferscale.run(
        EXTERNAL, only=["builtin"], decider=PythonThreshold(**RULE), reproducible=True
    )
    for table in ["actions", "runs", "timeseries", "models"]:
        builtin = rows(files[table], "builtin")
        same(rows(files[table], "external"), builtin)
        same(rows(python[table]), builtin)
    reasons = [a["reason"] for a in rows(python["actions"])]
    assert any("> 40" in r for r in reasons) and any("< 12" in r for r in reasons)


def test_results_do_not_depend_on_threads():
    one = inferscale.run(EXTERNAL, only=["builtin"], decider=PythonThreshold(**RULE), threads=1, reproducible=True)
    two = inferscale.run(EXTERNAL, only=["builtin"], decider=PythonThreshold(**RULE), threads=2, reproducible=True)
    for table in ["actions", "runs", "timeseries"]:
        assert one[table].equals(two[table]), table


class LastValue:
    """The built-in `last_value` predictor, in Python."""

    def predict(self, history):
        assert history["model"] == "chat" and history["interval_s"] == 15.0
        assert len(history["t_s"]) == len(history["arrival_rate"]) >= 1
        return history["arrival_rate"][-1]


def test_a_python_predictor_is_the_built_in_one():
    builtin = inferscale.run(
        EXTERNAL, only=["builtin"], set=["policy.predictor={kind: last_value}"], reproducible=True
    )
    python = inferscale.run(
        EXTERNAL,
        only=["builtin"],
        set=["policy.predictor={kind: last_value}"],
        predictor=LastValue(),
        reproducible=True,
    )
    for table in ["actions", "runs", "timeseries", "models"]:
        same(rows(python[table]), rows(builtin[table]))
    # The forecasts were used: without a predictor the runs differ.
    none = inferscale.run(EXTERNAL, only=["builtin"], set=["policy.predictor=null"], reproducible=True)
    assert rows(none["actions"]) != rows(builtin["actions"])


class Raises:
    def decide(self, view):
        if view["time_s"] > 100:
            raise KeyError("no such metric")
        return None


class Answers:
    def __init__(self, answer):
        self.answer = answer

    def decide(self, view):
        return self.answer

    def predict(self, history):
        return self.answer


@pytest.mark.parametrize(
    "decider, says",
    [
        (Raises(), "KeyError"),
        (Answers({"actions": [{"model": "nope", "replicas": 2}]}), "nope"),
        (Answers([{"model": "chat", "replicas": 2, "delta": 1}]), "chat"),
        (Answers({"actions": [], "extra": 1}), "extra"),
        (Answers(object()), "not JSON"),
    ],
)
def test_a_bad_decider_fails_the_run_saying_why(decider, says):
    with pytest.raises(inferscale.RunError) as e:
        inferscale.run(EXTERNAL, only=["builtin"], replications=1, decider=decider)
    assert says in str(e.value), str(e.value)


@pytest.mark.parametrize("answer, says", [(-1.0, "answered -1"), ("lots", "a number"), (math.nan, "answered NaN")])
def test_a_bad_predictor_fails_the_run_saying_why(answer, says):
    with pytest.raises(inferscale.RunError) as e:
        inferscale.run(EXTERNAL, only=["builtin"], replications=1, predictor=Answers(answer))
    assert says in str(e.value), str(e.value)


def test_protocol_schema_is_the_committed_one():
    import json

    committed = json.loads((ROOT / "docs" / "decider-protocol.schema.json").read_text())
    assert inferscale.decider_protocol_schema() == committed
    assert isinstance(PythonThreshold(**RULE), inferscale.Decider)
    assert isinstance(LastValue(), inferscale.Predictor)


INTERRUPTED = r"""
import os, signal, sys
import pyarrow.parquet as pq
import inferscale

class Interrupts:
    # Presses Ctrl-C (sends itself SIGINT) at its first decision.
    def __init__(self):
        self.sent = False
    def decide(self, view):
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)
        return None

out = sys.argv[2]
try:
    inferscale.run(sys.argv[1], only=["threshold"], threads=1, decider=Interrupts(), out=out)
except KeyboardInterrupt:
    parts = [p for p in os.listdir(os.path.join(out, "parts", "runs"))]
    print("interrupted", len(parts))
else:
    print("finished")
"""


def test_ctrl_c_stops_a_run_keeping_the_runs_done(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED, str(ROOT / "scenarios" / "policy-shootout.yaml"), str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    said = done.stdout.split()
    # The first run's decider sends the signal at its first tick; the run in flight
    # then finishes and is kept, and no run starts after the stop is seen (within a
    # 20 ms poll: a 3 h run takes ~0.2 s here, so 1 of the 5 is kept).
    assert said[0] == "interrupted" and 1 <= int(said[1]) < 5, done.stdout


def test_a_python_decider_replaces_an_external_program_without_starting_it():
    # The file's `external` point names a program; one that does not exist fails
    # the run when it is started, so a run that succeeds never started it.
    missing = ["policy.decider.command=[/nonexistent/decider]"]
    with pytest.raises(inferscale.RunError, match="nonexistent"):
        inferscale.run(EXTERNAL, only=["external"], replications=1, set=missing)
    python = inferscale.run(
        EXTERNAL, only=["external"], set=missing, decider=PythonThreshold(**RULE), reproducible=True
    )
    builtin = inferscale.run(EXTERNAL, only=["builtin"], reproducible=True)
    same(rows(python["actions"]), rows(builtin["actions"]))
