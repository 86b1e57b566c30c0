//! Single-thread engine throughput: M/M/c customers per second through the full
//! station (event queue, random streams, measurements), and the bare event queue
//! under the classic "hold" workload.
//!
//! Run: `cargo bench --bench engine`. Figures are in `benches/README.md`.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use inferscale::cluster::{GenericModel, StationConfig, simulate_station};
use inferscale::engine::{Dist, EventQueue, RngStreams, SimDuration, SimTime};
use inferscale::workload::ArrivalProcess;
use rand::Rng;

/// M/M/c with c = 8 at ρ = 0.9 (λ = 7.2/s, μ = 1/s), `customers` expected arrivals.
fn mmc(customers: u64) -> StationConfig {
    let rate = 7.2;
    StationConfig {
        model: GenericModel {
            servers: 8,
            service_time: Dist::exponential(1.0).expect("valid mean"),
        },
        arrivals: ArrivalProcess::poisson(rate).expect("valid rate"),
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs_f64(customers as f64 / rate),
        watchdog: Default::default(),
    }
}

fn station(c: &mut Criterion) {
    let customers = 200_000;
    let config = mmc(customers);
    let mut group = c.benchmark_group("mmc_station");
    group.throughput(Throughput::Elements(customers));
    group.sample_size(20);
    let mut replication = 0;
    group.bench_function("c8_rho0.9_customers", |b| {
        b.iter(|| {
            replication += 1;
            simulate_station(&config, &RngStreams::new(1, replication))
        })
    });
    group.finish();
}

/// The hold model: a queue of `size` events; each operation pops the earliest and
/// pushes one a random (exponential) time later, so the size stays constant.
fn event_queue(c: &mut Criterion) {
    let ops = 100_000u64;
    let mut group = c.benchmark_group("event_queue_hold");
    group.throughput(Throughput::Elements(ops));
    for size in [16usize, 1_024, 65_536] {
        group.bench_function(format!("size_{size}"), |b| {
            b.iter_batched(
                || {
                    let mut rng = RngStreams::new(2, size as u64).stream("hold");
                    let mut q = EventQueue::with_capacity(size);
                    for i in 0..size {
                        q.push(SimTime::from_nanos(rng.next_u64() % 1_000_000_000), i);
                    }
                    (q, rng)
                },
                |(mut q, mut rng)| {
                    for _ in 0..ops {
                        let (t, e) = q.pop().expect("the queue never empties");
                        let delay = SimDuration::from_nanos(rng.next_u64() % 2_000_000_000);
                        q.push(t + delay, e);
                    }
                    q
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, station, event_queue);
criterion_main!(benches);
