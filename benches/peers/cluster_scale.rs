//! The scale target of issue 3: one simulated hour of a 100-replica LLM cluster at
//! 1,000 requests/s (3.6 M requests), single thread. Llama-3.1-8B on A100-80GB (TP 1,
//! eight per node), vLLM defaults, power-of-two routing, lognormal-free fixed sizes
//! (512 prompt + 128 output tokens) so the run is about the engine, not the sampler.
//!
//! Usage: `cluster_scale [SIMULATED_SECONDS] [RATE_PER_S] [REPLICAS]` → one JSON line.
//! Run it for 900 s, 1800 s and 3600 s to see memory stay flat as the duration grows.

use std::time::Instant;

use inferscale::cluster::{RequestStream, simulate_cluster};
use inferscale::engine::{RngStreams, SimTime};

mod setups;

fn main() {
    let arg = |i: usize, default: f64| {
        std::env::args()
            .nth(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or(default)
    };
    let seconds = arg(1, 3600.0);
    let rate = arg(2, 1000.0);
    let replicas = arg(3, 100.0) as u32;

    let config = setups::llama8b_cluster(replicas, seconds, false);
    let end = SimTime::from_secs_f64(seconds);
    let requests = setups::poisson_512_128(rate, 1).take_while(move |r| r.arrival < end);
    let started = Instant::now();
    let report = simulate_cluster(
        config,
        vec![RequestStream {
            model: 0,
            requests: Box::new(inferscale::workload::PlainArrivals(requests)),
        }],
        &RngStreams::new(1, 0),
    )
    .expect("a fixed fleet's run finishes");
    let wall = started.elapsed().as_secs_f64();
    let m = &report.models[0];
    println!(
        "{{\"simulated_s\": {seconds}, \"rate\": {rate}, \"replicas\": {replicas}, \"arrivals\": {}, \"completed\": {}, \"wall_s\": {wall:.2}, \"events\": {}, \"events_per_s\": {:.0}, \"ttft_p50_s\": {:.3}, \"tpot_p50_s\": {:.4}, \"sla\": {:.3}, \"utilization\": {:.3}, \"cost\": {:.2}}}",
        m.arrivals,
        m.outcomes.completed,
        report.events,
        report.events as f64 / wall,
        m.outcomes.ttft.quantile_s(0.5),
        m.outcomes.tpot.quantile_s(0.5),
        m.outcomes.met_sla as f64 / m.outcomes.measured.max(1) as f64,
        m.replica_time.utilization(),
        report.cost
    );
}
