"""examples/policy_search.py: the search runs, ranks by its score, and scores a
candidate the same every time (common random numbers)."""

import importlib.util

from conftest import ROOT


def test_the_policy_search_example_ranks_candidates_on_common_random_numbers():
    spec = importlib.util.spec_from_file_location("policy_search", ROOT / "examples" / "policy_search.py")
    search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(search)
    results = search.search(quick=True)
    assert len(results) == 4
    scores = [r["score_usd"] for r in results]
    assert scores == sorted(scores) and scores[0] < scores[-1]
    again = search.evaluate(results[0]["target"], results[0]["down_delay_s"], 1)
    assert again == results[0]
