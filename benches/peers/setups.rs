//! The configurations the speed measurements share (`llm_scale`, `cluster_scale` and
//! the criterion bench `serving`), written once so they stay the same workload.
//! Each target includes this file as a module and uses what it needs.
#![allow(dead_code)]

use inferscale::cluster::{
    ClusterConfig, Deployment, Efficiency, LlmServerConfig, NodePool, Request, Roofline,
    RoutingPolicy, Serving, Sla,
};
use inferscale::engine::{RngStreams, SimDuration, SimTime};
use inferscale::scenario::catalog;
use rand_distr::{Distribution, Exp1};

/// Vidur's configuration: Llama-2-70B on two A100-80GB with TP 2, vLLM scheduling
/// (batch cap 128, 4,096 tokens per batch, 16-token blocks, 3,328 blocks).
pub fn vidur_70b_replica() -> (Roofline, LlmServerConfig) {
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
        prefix_caching: true,
        client_latency: SimDuration::ZERO,
        deliver_after_next_step: false,
        client_timeout: None,
    };
    (roofline, config)
}

/// `replicas` Llama-3.1-8B replicas on A100-80GB nodes (TP 1, eight per node), vLLM
/// defaults, power-of-two routing, per-second billing with a one-minute minimum,
/// 10 s samples, for `seconds`; cold (boot, then load) unless `initial_ready`.
pub fn llama8b_cluster(replicas: u32, seconds: f64, initial_ready: bool) -> ClusterConfig {
    let node_type = catalog::node_type("a100-80gb").expect("catalog node");
    let roofline = Roofline::new(
        catalog::model("llama-3.1-8b").expect("catalog model"),
        node_type.accelerator.clone(),
        1,
        Efficiency::CALIBRATED,
    );
    let server = LlmServerConfig::vllm_defaults(&roofline, 0.1, 8192);
    ClusterConfig {
        pools: vec![NodePool {
            node_type,
            billing_granularity: SimDuration::from_secs(1),
            billing_minimum: SimDuration::from_secs(60),
            spot: None,
            reserved: None,
        }],
        models: vec![Deployment {
            name: "llama-3.1-8b".into(),
            serving: Serving::Llm { roofline, server },
            pool: 0,
            replicas,
            container_start: SimDuration::from_secs(30),
            sla: Sla {
                ttft: Some(SimDuration::from_secs(2)),
                tpot: Some(SimDuration::from_millis(100)),
                e2e: None,
            },
            routing: RoutingPolicy::PowerOfTwo,
            max_queue: None,
            initial_ready,
        }],
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs_f64(seconds),
        sample_interval: Some(SimDuration::from_secs(10)),
        replica_changes: Vec::new(),
        router_groups: Vec::new(),
        watchdog: Default::default(),
    }
}

/// Requests of 512 prompt and 128 output tokens at Poisson `rate` per second, from
/// the `arrivals` stream of `seed`, without end (callers `take` what they need).
pub fn poisson_512_128(rate: f64, seed: u64) -> impl Iterator<Item = Request> + Send + 'static {
    let mut rng = RngStreams::new(seed, 0).stream("arrivals");
    let mut t = 0.0;
    std::iter::repeat_with(move || {
        let gap: f64 = Exp1.sample(&mut rng);
        t += gap / rate;
        Request {
            id: 0,
            arrival: SimTime::from_secs_f64(t),
            prompt: 512,
            output: 128,
            chain: 0,
        }
    })
}
