//! Wall time of inferscale on the Vidur configuration (Llama-2-70B, 2 × A100, TP 2,
//! vLLM scheduling, 512 + 128 tokens, Poisson 2/s) for N requests; Vidur took about
//! 9 min 55 s for 100,000 on this machine (`data/reference/vidur/README.md`).
//!
//! Usage: `llm_scale [REQUESTS]` → one JSON line.

use std::time::Instant;

use inferscale::cluster::simulate_llm_server;

mod setups;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let (roofline, config) = setups::vidur_70b_replica();
    let requests = setups::poisson_512_128(2.0, 42).take(n as usize);
    let started = Instant::now();
    let report = simulate_llm_server(roofline, config, requests, None);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"requests\": {}, \"wall_s\": {secs:.3}, \"requests_per_wall_s\": {:.0}, \"iterations\": {}, \"events\": {}, \"vidur_wall_s\": 595, \"speedup_vs_vidur\": {:.0}}}",
        report.completed,
        report.completed as f64 / secs,
        report.iterations,
        report.events,
        595.0 / secs * (report.completed as f64 / 100_000.0)
    );
}
