"""A Gymnasium environment over an inferscale scenario: one step is one control
interval of the scenario's scaling loop, the agent deciding instead of its decider.

    env = inferscale.Env("scenarios/quickstart.yaml", miss_penalty=0.01)
    obs, info = env.reset(seed=1)
    while True:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            break
    info["results"]["runs"]              # the episode's tables

The observation is the controller's view as arrays (one row per model of the
scenario, in its order); the action is the replica count of each model
(``MultiDiscrete``), or the decider protocol's answer (a ``dict`` or list of
actions) for moves between node types; ``None`` changes nothing. The default reward
is minus the interval's cost in dollars minus ``miss_penalty`` per request that
missed its SLA in the interval; over an episode the rewards add up to minus the run's
whole bill (``cost_total_usd``, the warm-up included) minus ``miss_penalty`` ×
``sla_missed`` of its runs table: the first step carries what came before the first
tick, the last what the run billed and judged after the last one (the requests
still in flight).

A seed fixes the episode: the workload's random streams derive from it alone
(common random numbers), so two policies reset with the same seed see the same
requests, and the same actions give the same observations and rewards.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as e:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "inferscale.Env is a Gymnasium environment: install gymnasium "
        "(pip install './python[gym]' or pip install gymnasium)"
    ) from e

from . import _native, load

#: The columns of ``obs["replicas"]``.
REPLICA_COLUMNS = ("desired", "ready", "starting", "draining")
#: The columns of ``obs["metrics"]``: the monitor's window averages
#: (``arrival_rate``, ``utilization``, ``in_flight``), the newest scrape's signals and
#: the forecast at the horizon; 0 where the monitor or the predictor has nothing
#: (``obs["observed"]`` says which models have metrics).
METRIC_COLUMNS = (
    "arrival_rate",
    "utilization",
    "in_flight",
    "router_queue",
    "waiting",
    "kv_utilization",
    "ttft_p99_s",
    "output_tokens_per_s",
    "forecast_per_s",
)
#: The columns of ``obs["sla"]``: requests judged so far.
SLA_COLUMNS = ("met", "missed")

#: A step's terms, as a reward function is given them.
Interval = dict


def default_reward(miss_penalty: float) -> Callable[[Interval], float]:
    """Minus the interval's cost minus ``miss_penalty`` per SLA miss."""

    def reward(interval: Interval) -> float:
        return -interval["cost_usd"] - miss_penalty * interval["sla_missed"]

    return reward


class Env(gymnasium.Env):
    """One point of a scenario as a Gymnasium environment.

    ``scenario``: a :class:`inferscale.Scenario`, a path or a ``dict``; ``point``: the
    sweep point (its label) when the file is a sweep; ``set``: ``"PATH=VALUE"``
    changes applied first. ``max_replicas`` bounds each model's action (one number,
    or one per model). ``reward``: a function of the step's :data:`Interval`
    (``cost_usd``, ``sla_missed``, ``sla_met`` over the interval, ``time_s`` and the
    ``view``) returning the reward; by default :func:`default_reward` with
    ``miss_penalty`` dollars per miss."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        scenario: Any,
        *,
        point: Optional[str] = None,
        set: Sequence[str] = (),
        max_replicas: Union[int, Sequence[int]] = 16,
        miss_penalty: float = 0.01,
        reward: Optional[Callable[[Interval], float]] = None,
    ):
        scenario = load(scenario)
        if set:
            scenario = scenario.with_changes(set=list(set))
        self.scenario = scenario
        self._core = _native.EnvCore(scenario, point)
        self.models = list(scenario.models(point))
        n = len(self.models)
        bounds = (
            [int(max_replicas)] * n
            if np.isscalar(max_replicas)
            else [int(m) for m in max_replicas]
        )
        if len(bounds) != n or min(bounds, default=1) < 0:
            raise ValueError(f"max_replicas: one bound ≥ 0 per model ({n} models)")
        self.max_replicas = np.array(bounds, dtype=np.int64)
        self.miss_penalty = float(miss_penalty)
        self.reward_fn = reward or default_reward(self.miss_penalty)
        self.interval_s = self._core.interval_s
        big = np.finfo(np.float64).max
        self.observation_space = spaces.Dict(
            {
                "time_s": spaces.Box(0.0, big, shape=(1,), dtype=np.float64),
                "cost_usd": spaces.Box(0.0, big, shape=(1,), dtype=np.float64),
                "replicas": spaces.Box(
                    0, np.iinfo(np.int64).max, shape=(n, len(REPLICA_COLUMNS)), dtype=np.int64
                ),
                "metrics": spaces.Box(
                    0.0, big, shape=(n, len(METRIC_COLUMNS)), dtype=np.float64
                ),
                "observed": spaces.MultiBinary(n),
                "sla": spaces.Box(
                    0, np.iinfo(np.int64).max, shape=(n, len(SLA_COLUMNS)), dtype=np.int64
                ),
            }
        )
        self.action_space = spaces.MultiDiscrete(self.max_replicas + 1)
        self._seed: Optional[int] = None
        self._view: Optional[dict] = None
        self._obs = None
        self._totals = (0.0, 0, 0)
        self._done = True

    # -- observations -----------------------------------------------------------

    def _observe(self, view: dict) -> dict:
        n = len(self.models)
        replicas = np.zeros((n, len(REPLICA_COLUMNS)), dtype=np.int64)
        metrics = np.zeros((n, len(METRIC_COLUMNS)), dtype=np.float64)
        observed = np.zeros(n, dtype=np.int8)
        sla = np.zeros((n, len(SLA_COLUMNS)), dtype=np.int64)
        for i, m in enumerate(view["models"]):
            r = m["replicas"]
            replicas[i] = [r[c] for c in REPLICA_COLUMNS]
            sla[i] = [m["sla"]["met"], m["sla"]["missed"]]
            mm = m["metrics"]
            if mm is not None:
                observed[i] = 1
                latest = mm["latest"]
                forecast = m["forecast"]
                row = [
                    mm["arrival_rate"],
                    mm["utilization"],
                    mm["in_flight"],
                    latest["router_queue"],
                    latest["waiting"],
                    latest["kv_utilization"],
                    latest["ttft_p99_s"],
                    latest["output_tokens_per_s"],
                    None if forecast is None else forecast["at_horizon_per_s"],
                ]
                metrics[i] = [0.0 if v is None else max(float(v), 0.0) for v in row]
        return {
            "time_s": np.array([view["time_s"]], dtype=np.float64),
            "cost_usd": np.array([view["cost_usd"]], dtype=np.float64),
            "replicas": replicas,
            "metrics": metrics,
            "observed": observed,
            "sla": sla,
        }

    @staticmethod
    def _totals_of(view: dict):
        return (
            float(view["cost_usd"]),
            sum(int(m["sla"]["missed"]) for m in view["models"]),
            sum(int(m["sla"]["met"]) for m in view["models"]),
        )

    # -- the Gymnasium API ------------------------------------------------------

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        """Starts an episode. ``seed``: the run's master seed (the scenario's own by
        default at the first reset; each later reset without one takes the previous
        seed plus one)."""
        super().reset(seed=seed)
        if seed is not None:
            self._seed = int(seed)
        elif self._seed is None:
            self._seed = int(self.scenario.seed)
        else:
            self._seed += 1
        if not 0 <= self._seed < 2**64:
            raise ValueError("seed: an integer from 0 to 2**64 - 1")
        text, results = self._core.reset(self._seed)
        if text is None:
            raise _native.RunError(
                "the run ended before its first control tick: nothing to step"
            )
        self._view = json.loads(text)
        # The first step's reward carries what was billed and judged before the first
        # tick too (nothing is lost from the episode's sum).
        self._totals = (0.0, 0, 0)
        self._obs = self._observe(self._view)
        self._done = False
        return self._obs, self._info(self._view)

    def _info(self, view: Optional[dict], results=None) -> dict:
        cost, missed, met = self._totals
        info = {
            "seed": self._seed,
            "time_s": None if view is None else view["time_s"],
            "cost_usd": cost,
            "sla_missed": missed,
            "sla_met": met,
            "view": view,
        }
        if results is not None:
            info["results"] = results
        return info

    def _answer(self, action) -> str:
        if action is None:
            return "null"
        # The protocol's answer: a dict with `actions`, or a list of action dicts.
        if isinstance(action, dict) or (
            isinstance(action, list) and all(isinstance(a, dict) for a in action)
        ):
            return json.dumps(action)
        counts = np.asarray(action).reshape(-1)
        if counts.shape[0] != len(self.models):
            raise ValueError(
                f"an action is one replica count per model ({len(self.models)}: "
                f"{', '.join(self.models)}), not {counts.shape[0]}"
            )
        if np.any(counts < 0) or np.any(counts > self.max_replicas):
            raise ValueError(
                f"replica counts must be within 0..max_replicas {self.max_replicas.tolist()}, "
                f"not {counts.tolist()}"
            )
        return json.dumps(
            {
                "actions": [
                    {"model": name, "replicas": int(c), "reason": "env"}
                    for name, c in zip(self.models, counts)
                ]
            }
        )

    def step(self, action):
        """Answers the current tick with ``action`` and runs one control interval."""
        if self._done:
            raise RuntimeError("the episode is over: call reset()")
        text, results = self._core.step(self._answer(action))
        before = self._totals
        if text is not None:
            view = json.loads(text)
            self._view = view
            self._totals = self._totals_of(view)
            self._obs = self._observe(view)
            terminated = False
        else:
            # The run ended: what it billed and judged after the last tick (up to the
            # horizon, and the requests in flight there) comes from its tables.
            runs = results["runs"]
            self._totals = (
                float(runs.column("cost_total_usd")[0].as_py()),
                int(runs.column("sla_missed")[0].as_py()),
                int(runs.column("sla_met")[0].as_py()),
            )
            view = None
            terminated = True
            self._done = True
        interval = {
            "cost_usd": self._totals[0] - before[0],
            "sla_missed": self._totals[1] - before[1],
            "sla_met": self._totals[2] - before[2],
            "time_s": None if view is None else view["time_s"],
            "view": view,
        }
        reward = float(self.reward_fn(interval))
        return self._obs, reward, terminated, False, self._info(view, results)

    def close(self):
        """Ends the episode in progress."""
        self._core.close()
        self._done = True
