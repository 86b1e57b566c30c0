//! Wall time of inferscale on the Vidur configuration (Llama-2-70B, 2 × A100, TP 2,
//! vLLM scheduling, 512 + 128 tokens, Poisson 2/s) for N requests; Vidur took about
//! 9 min 55 s for 100,000 on this machine (`data/reference/vidur/README.md`).
//!
//! Usage: `llm_scale [REQUESTS]` → one JSON line.

use std::time::Instant;

use inferscale::cluster::{Efficiency, LlmServerConfig, Request, Roofline, simulate_llm_server};
use inferscale::engine::{RngStreams, SimTime};
use inferscale::scenario::catalog;
use rand_distr::{Distribution, Exp1};

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let model = catalog::model("llama-2-70b").expect("catalog model");
    let gpu = catalog::node_type("a100-80gb")
        .expect("catalog node")
        .accelerator;
    let roofline = Roofline::new(model, gpu, 2, Efficiency::CALIBRATED);
    let config = LlmServerConfig {
        max_batch: 128,
        max_batched_tokens: 4096,
        block_size: 16,
        kv_blocks: 3328,
        watermark_blocks: 33,
        chunked_prefill: false,
        timeout: None,
        max_model_len: None,
    };
    let mut rng = RngStreams::new(42, 0).stream("arrivals");
    let mut t = 0.0;
    let requests = (0..n).map(move |_| {
        let gap: f64 = Exp1.sample(&mut rng);
        t += gap / 2.0;
        Request {
            arrival: SimTime::from_secs_f64(t),
            prompt: 512,
            output: 128,
        }
    });
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
