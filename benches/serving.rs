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
    ClusterView, Controller, ExecutorConfig, RequestStream, ScaleAction,
    simulate_controlled_cluster, simulate_llm_server,
};
use inferscale::engine::{RngStreams, SimDuration};

#[path = "peers/setups.rs"]
mod setups;

fn llm_replica(c: &mut Criterion) {
    let (roofline, config) = setups::vidur_70b_replica();
    let requests = 10_000;
    let mut group = c.benchmark_group("llm_replica");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(20);
    group.bench_function("vidur_70b_tp2_requests", |b| {
        b.iter(|| {
            simulate_llm_server(
                roofline.clone(),
                config.clone(),
                setups::poisson_512_128(2.0, 42).take(requests as usize),
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
                    setups::llama8b_cluster(replicas, seconds, true),
                    vec![RequestStream {
                        model: 0,
                        requests: Box::new(inferscale::workload::PlainArrivals(
                            setups::poisson_512_128(rate, 1).take(requests as usize),
                        )),
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
