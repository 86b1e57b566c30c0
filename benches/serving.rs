//! The serving hot path, single thread: one LLM replica's scheduler fed directly
//! (the Vidur configuration of `peers/llm_scale.rs`), and a cluster of 20 replicas
//! behind power-of-two routing with nodes, billing and time-series sampling (the
//! configuration of `peers/cluster_scale.rs`, smaller), with and without a scaling
//! loop's ticks. Regressions in the cluster's dispatch, the router, the replica trait
//! or the scheduler show here, not only in the engine bench.
//!
//! Run: `cargo bench --bench serving`. Figures are in `benches/README.md`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use inferscale::cluster::{
    ClusterConfig, ClusterView, Controller, Deployment, Efficiency, ExecutorConfig,
    LlmServerConfig, NodePool, Request, RequestStream, Roofline, RoutingPolicy, ScaleAction,
    Serving, Sla, simulate_controlled_cluster, simulate_llm_server,
};
use inferscale::engine::{RngStreams, SimDuration, SimTime};
use inferscale::scenario::catalog;
use rand_distr::{Distribution, Exp1};

/// `n` requests of 512 + 128 tokens at Poisson `rate` per second.
fn poisson(n: u64, rate: f64, seed: u64) -> impl Iterator<Item = Request> + Send + 'static {
    let mut rng = RngStreams::new(seed, 0).stream("arrivals");
    let mut t = 0.0;
    (0..n).map(move |_| {
        let gap: f64 = Exp1.sample(&mut rng);
        t += gap / rate;
        Request {
            arrival: SimTime::from_secs_f64(t),
            prompt: 512,
            output: 128,
        }
    })
}

fn llm_replica(c: &mut Criterion) {
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
    let requests = 10_000;
    let mut group = c.benchmark_group("llm_replica");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(20);
    group.bench_function("vidur_70b_tp2_requests", |b| {
        b.iter(|| {
            simulate_llm_server(
                roofline.clone(),
                config.clone(),
                poisson(requests, 2.0, 42),
                None,
            )
        })
    });
    group.finish();
}

/// Asks for the same replica count at every tick: the loop's cost (a view of every
/// live replica per tick) without any change to the fleet.
struct Hold(u32);

impl Controller for Hold {
    fn interval(&self) -> SimDuration {
        SimDuration::from_secs(15)
    }
    fn tick(&mut self, _view: &ClusterView) -> Result<Vec<ScaleAction>, String> {
        Ok(vec![ScaleAction {
            model: 0,
            replicas: self.0,
            reason: "hold".into(),
            forecast_per_s: None,
        }])
    }
}

fn cluster_config(replicas: u32, seconds: f64) -> ClusterConfig {
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
            initial_ready: true,
        }],
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs_f64(seconds),
        sample_interval: Some(SimDuration::from_secs(10)),
        replica_changes: Vec::new(),
        router_groups: Vec::new(),
        watchdog: Default::default(),
    }
}

fn cluster(c: &mut Criterion) {
    let (replicas, rate, seconds) = (20, 200.0, 300.0);
    let requests = (rate * seconds) as u64;
    let mut group = c.benchmark_group("cluster");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(10);
    for (name, controlled) in [
        ("20_replicas_requests", false),
        ("20_replicas_loop_requests", true),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let controller: Option<Box<dyn Controller>> =
                    controlled.then(|| Box::new(Hold(replicas)) as Box<dyn Controller>);
                simulate_controlled_cluster(
                    cluster_config(replicas, seconds),
                    vec![RequestStream {
                        model: 0,
                        requests: Box::new(poisson(requests, rate, 1)),
                    }],
                    &RngStreams::new(1, 0),
                    controller,
                    ExecutorConfig::default(),
                )
                .expect("a held fleet's run finishes")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, llm_replica, cluster);
criterion_main!(benches);
