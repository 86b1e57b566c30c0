//! How a run starts: `initial: ready` fleets serve steady load from the first second;
//! cold ones wait for boot and load.

use inferscale::runner::run_replications;

use crate::support::repo;

/// The mean over replications of the TTFT median of `scenarios/warm-start.yaml` run
/// for `duration` with `warmup`, with each `(from, to)` edit applied.
fn ttft_p50(duration: &str, warmup: &str, edits: &[(&str, &str)]) -> f64 {
    let path = repo().join("scenarios/warm-start.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [("duration: 1h", duration), ("warmup: 1m", warmup)]
        .into_iter()
        .chain(edits.iter().copied())
    {
        assert!(text.contains(from), "warm-start.yaml has no `{from}`");
        text = text.replace(from, to);
    }
    let scenario = inferscale::scenario::parse(&text, &path.to_string_lossy())
        .unwrap_or_else(|e| panic!("{e}"));
    let runs = run_replications(&scenario, Some(2)).unwrap();
    runs.iter()
        .map(|r| r.llm.as_ref().unwrap().ttft_p50_s)
        .sum::<f64>()
        / runs.len() as f64
}

/// With `initial: ready`, the TTFT median of the requests of a steady load's first
/// 10 minutes (a 10-minute run without warm-up) is within 5% of that of its last 10
/// minutes (an hour-long run measuring after 50 minutes): the same requests in both
/// (common random numbers), so the start is already steady. Cold, the first 10
/// minutes wait minutes for the node.
#[test]
fn a_ready_fleet_starts_in_steady_state() {
    let first = ttft_p50("duration: 10m", "warmup: 0s", &[]);
    let last = ttft_p50("duration: 1h", "warmup: 50m", &[]);
    let err = first / last - 1.0;
    println!("TTFT p50: first 10 minutes {first:.4} s, last 10 minutes {last:.4} s");
    assert!(
        err.abs() < 0.05,
        "TTFT p50: first 10 minutes {first:.4} s, last 10 minutes {last:.4} s ({:+.1}%)",
        100.0 * err
    );
    let cold = ttft_p50(
        "duration: 10m",
        "warmup: 0s",
        &[("initial: ready", "initial: cold")],
    );
    println!("TTFT p50 of a cold start's first 10 minutes: {cold:.2} s");
    assert!(cold > 20.0 * last, "cold start: TTFT p50 {cold:.2} s");
}
