//! The scale target of issue 3: one simulated hour of a 100-replica LLM cluster at
//! 1,000 requests/s (3.6 M requests), single thread. Llama-3.1-8B on A100-80GB (TP 1,
//! eight per node), vLLM defaults, power-of-two routing, lognormal-free fixed sizes
//! (512 prompt + 128 output tokens) so the run is about the engine, not the sampler.
//!
//! Usage: `cluster_scale [SIMULATED_SECONDS] [RATE_PER_S] [REPLICAS] [WORKLOAD]
//! [ROUTING]` → one JSON line. Run it for 900 s, 1800 s and 3600 s to see memory stay
//! flat as the duration grows.
//!
//! `WORKLOAD`: `plain` (the default: requests that name no prompt content),
//! `shared` (a shared-prefix workload of the same sizes — 64 system prompts of 384
//! tokens × 64 users with 128-token questions, 128 output tokens — served with
//! prefix caching) or `shared-nocache` (the same requests, caching off). `ROUTING`:
//! `p2c` (power of two, the default) or `kv_aware`.

use std::time::Instant;

use inferscale::cluster::{RequestStream, RoutingPolicy, Serving, simulate_cluster};
use inferscale::engine::{RngStreams, SimTime};
use inferscale::workload::{
    ArrivalProcess, Arrivals, PlainArrivals, RequestSource, SharedPrefix, Sizes, TokenDist,
};

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

    let workload = std::env::args().nth(4).unwrap_or_else(|| "plain".into());
    let routing = std::env::args().nth(5).unwrap_or_else(|| "p2c".into());

    let mut config = setups::llama8b_cluster(replicas, seconds, false);
    if routing == "kv_aware" {
        config.models[0].routing = RoutingPolicy::KvAware {
            prefix: 3.0,
            queue: 2.0,
            running: 0.0,
            kv_utilization: 2.0,
        };
    }
    let end = SimTime::from_secs_f64(seconds);
    let streams = RngStreams::new(1, 0);
    let requests: Box<dyn Arrivals> = match workload.as_str() {
        "plain" => Box::new(PlainArrivals(
            setups::poisson_512_128(rate, 1).take_while(move |r| r.arrival < end),
        )),
        "shared" | "shared-nocache" => {
            if workload == "shared-nocache"
                && let Serving::Llm { server, .. } = &mut config.models[0].serving
            {
                server.prefix_caching = false;
            }
            let source = RequestSource::Synthetic {
                arrivals: ArrivalProcess::poisson(rate).expect("a positive rate"),
                sizes: Sizes::SharedPrefix(SharedPrefix {
                    groups: 64,
                    users: 64,
                    system_tokens: 384,
                    question: TokenDist::fixed(128),
                    output: TokenDist::fixed(128),
                    multi_turn: false,
                }),
            };
            Box::new(source.requests(0, &streams, end))
        }
        other => panic!("unknown workload `{other}`: plain, shared or shared-nocache"),
    };
    let started = Instant::now();
    let report = simulate_cluster(config, vec![RequestStream { model: 0, requests }], &streams)
        .expect("a fixed fleet's run finishes");
    let wall = started.elapsed().as_secs_f64();
    let m = &report.models[0];
    println!(
        "{{\"simulated_s\": {seconds}, \"rate\": {rate}, \"replicas\": {replicas}, \"arrivals\": {}, \"completed\": {}, \"wall_s\": {wall:.2}, \"events\": {}, \"events_per_s\": {:.0}, \"ttft_p50_s\": {:.3}, \"tpot_p50_s\": {:.4}, \"sla\": {:.3}, \"utilization\": {:.3}, \"cost\": {:.2}, \"cache_token_hit_rate\": {:.4}}}",
        m.arrivals,
        m.outcomes.completed,
        report.events,
        report.events as f64 / wall,
        m.outcomes.ttft.quantile_s(0.5),
        m.outcomes.tpot.quantile_s(0.5),
        m.outcomes.met_sla as f64 / m.outcomes.measured.max(1) as f64,
        m.replica_time.utilization(),
        report.cost,
        m.prefix.token_hit_rate()
    );
}
