//! Cache-aware routing on the Mooncake conversation trace (the README's figure,
//! `scenarios/mooncake-routing.yaml`): at 8 replicas, the KV-aware scorer keeps more
//! of each prompt's prefix where it was computed than routers that ignore caches, so
//! it hits more and its median request waits less for its first token.

use inferscale::report::RunRow;

use crate::support::repo;

/// The routing example's run under `routing` (a YAML value for `models.0.routing`).
fn run(routing: &str) -> RunRow {
    let path = repo().join("scenarios/mooncake-routing.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The base scenario, without its sweep, under one router.
    let base = text.split("\nsweep:").next().unwrap();
    let text = base.replace(
        "    initial: ready\n",
        &format!("    initial: ready\n    routing: {routing}\n"),
    );
    assert!(text.contains("routing:"), "the example has its model entry");
    let scenario = inferscale::scenario::parse(&text, path.to_str().unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    inferscale::runner::run_one(&scenario, 0).unwrap().run
}

#[test]
fn kv_aware_routing_hits_more_and_starts_sooner_than_cache_blind_routers() {
    let kv = run("kv_aware");
    let kv_llm = kv.llm.as_ref().unwrap();
    for blind in ["round_robin", "least_outstanding"] {
        let other = run(blind);
        let o = other.llm.as_ref().unwrap();
        // Every router saw the same requests.
        assert_eq!(other.arrivals, kv.arrivals, "{blind}");
        assert!(
            kv_llm.cache_hit_rate > 2.0 * o.cache_hit_rate,
            "hit rate: kv_aware {} vs {blind} {}",
            kv_llm.cache_hit_rate,
            o.cache_hit_rate
        );
        assert!(
            kv_llm.ttft_p50_s < 0.95 * o.ttft_p50_s,
            "TTFT p50: kv_aware {} vs {blind} {}",
            kv_llm.ttft_p50_s,
            o.ttft_p50_s
        );
        // Fewer prompt tokens computed for the same requests.
        assert!(kv_llm.prefill_tokens < o.prefill_tokens, "{blind}");
        assert_eq!(
            kv_llm.prefill_tokens + kv_llm.cached_prompt_tokens,
            o.prefill_tokens + o.cached_prompt_tokens,
            "{blind}: the same prompts, counted once each (no preemption)"
        );
    }
}
