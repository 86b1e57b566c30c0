"""inferscale.Env: the Gymnasium API, determinism for a seed (common random numbers
across episodes and policies), and rewards that add up to the run's tables."""

import math

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

import inferscale
from conftest import ROOT

SCENARIO = ROOT / "scenarios" / "external-decider.yaml"
PENALTY = 0.01


def make(**kw):
    return inferscale.Env(SCENARIO, point="builtin", max_replicas=4, miss_penalty=PENALTY, **kw)


def scripted(obs):
    """Scale on the requests in flight per desired replica (a policy that reads the
    observation)."""
    desired = int(obs["replicas"][0, 0])
    in_flight = obs["metrics"][0, 2]
    if in_flight > 40 * max(desired, 1):
        desired += 1
    elif in_flight < 12 * desired:
        desired -= 1
    return np.array([min(max(desired, 1), 4)])


def episode(env, seed, policy):
    obs, info = env.reset(seed=seed)
    observations, rewards = [obs], []
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        observations.append(obs)
        rewards.append(reward)
        assert not truncated
        if terminated:
            return observations, rewards, info


def test_it_is_a_gymnasium_env():
    env = make()
    assert isinstance(env, gymnasium.Env)
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs), obs
    assert env.action_space == gymnasium.spaces.MultiDiscrete([5])
    assert info["time_s"] == pytest.approx(env.interval_s)
    from gymnasium.utils.env_checker import check_env

    check_env(make(), skip_render_check=True)


def test_one_seed_gives_the_same_episode():
    env = make()
    a_obs, a_rewards, a_info = episode(env, 11, scripted)
    b_obs, b_rewards, b_info = episode(env, 11, scripted)
    assert len(a_obs) == len(b_obs) == 241  # 1 h in 15 s steps, and the first view
    assert a_rewards == b_rewards
    for x, y in zip(a_obs, b_obs):
        for k in x:
            assert np.array_equal(x[k], y[k]), k
    runs = lambda info: info["results"]["runs"].drop_columns(["wall_time_s"])
    assert runs(a_info).equals(runs(b_info))
    # Another seed is another workload.
    c_obs, c_rewards, _ = episode(env, 12, scripted)
    assert c_rewards != a_rewards


def test_two_policies_see_the_same_requests_for_a_seed():
    env = make()
    _, _, hold = episode(env, 5, lambda obs: np.array([2]))
    _, _, scaled = episode(env, 5, scripted)
    arrivals = lambda info: info["results"]["timeseries"].column("arrivals").to_pylist()
    assert arrivals(hold) == arrivals(scaled)
    # ... and the policies made a difference on them.
    outcome = lambda info: [info["results"]["runs"].column(c)[0].as_py() for c in ("cost_total_usd", "sla_missed")]
    assert outcome(hold) != outcome(scaled)


def test_a_random_policy_runs_to_the_end_and_rewards_add_up_to_the_tables():
    env = make()
    env.action_space.seed(3)
    _, rewards, info = episode(env, 3, lambda obs: env.action_space.sample())
    results = info["results"]
    runs = results["runs"].to_pylist()[0]
    # The bill, independently: the fleet table's cost rate integrated over its
    # intervals (every node type, the warm-up included).
    fleet = results["fleet"].to_pylist()
    billed = sum(r["cost_rate_per_hour"] * r["interval_s"] / 3600 for r in fleet)
    assert billed == pytest.approx(runs["cost_total_usd"], rel=1e-9)
    assert runs["sla_missed"] > 0 and runs["sla_met"] > 0
    expected = -runs["cost_total_usd"] - PENALTY * runs["sla_missed"]
    assert math.fsum(rewards) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # A bill only grows and misses only add up: no step rewards.
    assert all(r <= 0 for r in rewards)
    assert len(rewards) == 240
    # The actions were the agent's: every one is logged with its reason.
    actions = results["actions"].to_pylist()
    assert actions and all(a["reason"] == "env" for a in actions)


def test_the_reward_is_configurable_and_bad_actions_are_refused():
    seen = []

    def reward(interval):
        seen.append(interval)
        return -interval["sla_missed"]

    env = make(reward=reward)
    env.reset(seed=2)
    with pytest.raises(ValueError, match="one replica count per model"):
        env.step(np.array([1, 2]))
    with pytest.raises(ValueError, match="within 0..max_replicas"):
        env.step(np.array([9]))
    _, r, *_ = env.step(None)
    assert r == -seen[-1]["sla_missed"] and seen[-1]["cost_usd"] > 0
    # The protocol's answer is an action too.
    obs, *_ = env.step({"actions": [{"model": "chat", "delta": 1}]})
    assert obs["replicas"][0, 0] == 2
    env.close()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(None)


def test_a_sweep_needs_a_point_and_a_policy():
    with pytest.raises(ValueError, match="choose one with point="):
        inferscale.Env(SCENARIO)
    with pytest.raises(ValueError, match="policy"):
        inferscale.Env(ROOT / "scenarios" / "external-decider.yaml", point="builtin", set=["policy=null"])
