"""inferscale from Python: load scenarios, run them into Arrow tables, and plug in
policies written in Python.

    import inferscale
    scenario = inferscale.load("scenarios/quickstart.yaml")
    results = inferscale.run(scenario, replications=3)
    results["runs"].to_pandas()          # or polars.from_arrow(results["runs"])

A decider is any object with ``decide(view) -> actions`` (the view and the actions
are those of the external decider protocol, ``docs/decider-protocol.md``), a
predictor any object with ``predict(history) -> forecast``; pass them to
:func:`run` to replace the scenario's own. :class:`Env` is a Gymnasium environment
whose step is one control interval (it needs ``gymnasium``: ``pip install
'./python[gym]'``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any, Optional, Protocol, Sequence, Union, runtime_checkable

from . import _native
from ._native import RunError, Scenario, ScenarioError

__all__ = [
    "Decider",
    "Env",
    "Predictor",
    "Results",
    "RunError",
    "Scenario",
    "ScenarioError",
    "decider_protocol_schema",
    "load",
    "loads",
    "run",
    "__version__",
]

__version__ = _native.version().split(" ")[-1]

PathLike = Union[str, "os.PathLike[str]"]


@runtime_checkable
class Decider(Protocol):
    """What :func:`run` takes as ``decider=``: shown the fleet's view at every tick
    (a ``dict``, the protocol's view: ``time_s``, ``interval_s``, ``cost_usd`` and per
    model its replicas, metrics, forecast and SLA counts), it answers the changes: a
    ``dict`` with ``actions``, a list of actions (``{"model": ..., "replicas": n}`` or
    ``{"model": ..., "delta": k}``, optionally ``node_type`` and ``reason``), or
    ``None`` for no change. Each run decides with its own ``copy.deepcopy`` of the
    object."""

    def decide(self, view: dict) -> Any: ...


@runtime_checkable
class Predictor(Protocol):
    """What :func:`run` takes as ``predictor=``: asked at every tick for one model's
    forecast, with ``history`` a ``dict`` of ``model``, ``interval_s``, ``steps``
    (how many intervals ahead), and ``t_s`` and ``arrival_rate``, the monitor's
    observations so far (the newest 10 000, oldest first; read them, do not change
    them). It answers the arrival rate ``steps`` intervals ahead, requests per second,
    or ``None`` while it has none. Each model of each run gets its own copy."""

    def predict(self, history: dict) -> Optional[float]: ...


class Results(dict):
    """The tables of a run or a sweep by name (``runs``, ``models``, ``timeseries``,
    ``fleet``, ``actions``, ``latency``, ``summary``, and ``requests`` when the
    scenario samples them), each a ``pyarrow.Table`` with the schema, types and
    metadata of the Parquet file of that name. Tables are also attributes:
    ``results.runs``."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"no table {name!r}; the tables are {sorted(self)}"
            ) from None


def load(path_or_dict: Union[PathLike, Mapping, Scenario]) -> Scenario:
    """A scenario from a YAML file (a path) or from a document (a ``dict`` with the
    file's fields; relative paths in it are taken from the working directory).

    Raises :class:`ScenarioError` (a ``ValueError``) with ``file``, ``line``,
    ``column``, ``field`` and ``message`` when the scenario is not valid."""
    if isinstance(path_or_dict, Scenario):
        return path_or_dict
    if isinstance(path_or_dict, Mapping):
        # JSON is YAML: the document goes through the file's own checks.
        return Scenario.from_text(json.dumps(path_or_dict, indent=2), "<dict>")
    if isinstance(path_or_dict, (str, os.PathLike)):
        return Scenario.from_path(os.fspath(path_or_dict))
    raise TypeError(
        f"load() takes a path or a dict, not {type(path_or_dict).__name__}"
    )


def loads(text: str, file: str = "<string>") -> Scenario:
    """A scenario from YAML text; ``file`` names it in errors and anchors relative
    paths."""
    return Scenario.from_text(text, file)


def run(
    scenario: Union[Scenario, PathLike, Mapping],
    *,
    threads: Optional[int] = None,
    replications: Optional[int] = None,
    set: Sequence[str] = (),
    only: Sequence[str] = (),
    decider: Optional[Decider] = None,
    predictor: Optional[Predictor] = None,
    out: Optional[PathLike] = None,
    progress: bool = False,
    reproducible: bool = False,
    resume: bool = False,
) -> Results:
    """Runs every run of ``scenario`` (each point of its sweep × its replications)
    on ``threads`` worker threads (default one per core) and returns its tables.

    ``replications``, ``set`` (``"PATH=VALUE"`` changes, as ``--set`` takes them) and
    ``only`` (point globs) change the scenario first, as the command line's options
    do. ``decider`` and ``predictor`` replace the scenario's decider and predictor
    (its ``policy:`` sets the interval, the monitor and the executor). ``out`` keeps
    the results directory (as ``inferscale run --out`` writes it; by default a
    temporary one is removed); ``resume`` keeps the runs already complete in it.
    ``reproducible`` writes 0 in the wall-clock columns. The same scenario, seed and
    objects give the same tables whatever ``threads`` is.

    Raises :class:`RunError` when a run fails (a decider that raises or answers what
    the protocol does not allow fails its run with the traceback)."""
    if isinstance(set, str) or isinstance(only, str):
        raise TypeError("set= and only= take a list of strings")
    scenario = load(scenario)
    if replications is not None or set or only:
        scenario = scenario.with_changes(
            set=list(set), replications=replications, only=list(only)
        )
    for name, obj, method in (("decider", decider, "decide"), ("predictor", predictor, "predict")):
        if obj is not None and not callable(getattr(obj, method, None)):
            raise TypeError(f"{name}= needs an object with a {method}() method")
    kwargs = dict(
        threads=threads,
        decider=decider,
        predictor=predictor,
        progress=progress,
        reproducible=reproducible,
        resume=resume,
    )
    if out is not None:
        return Results(_native.run(scenario, os.fspath(out), **kwargs))
    tmp = tempfile.mkdtemp(prefix="inferscale-")
    try:
        # The tables are read into memory before the directory goes.
        return Results(_native.run(scenario, os.path.join(tmp, "results"), **kwargs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def decider_protocol_schema() -> dict:
    """The JSON Schema of the decider protocol's view and answer
    (``docs/decider-protocol.schema.json``)."""
    return json.loads(_native.decider_protocol_schema())


def __getattr__(name: str):
    # The environment needs gymnasium, an optional dependency: imported when asked.
    if name == "Env":
        from .env import Env

        return Env
    raise AttributeError(f"module 'inferscale' has no attribute {name!r}")
