//! inferscale's side of `benches/peers`: the same M/M/c (c = 8, ρ = 0.9) through the
//! full station (engine, named streams, HDR histograms, time averages), timed in
//! process so that start-up and file output are not counted.
//!
//! Usage: `inferscale_mmc CUSTOMERS` → prints one JSON line.

use std::time::Instant;

use inferscale::cluster::{GenericModel, StationConfig, simulate_station};
use inferscale::engine::{Dist, RngStreams, SimTime};
use inferscale::workload::ArrivalProcess;

fn main() {
    let customers: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rate = 7.2;
    let config = StationConfig {
        model: GenericModel {
            servers: 8,
            service_time: Dist::exponential(1.0).expect("valid mean"),
        },
        arrivals: ArrivalProcess::poisson(rate).expect("valid rate"),
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs_f64(customers as f64 / rate),
        watchdog: Default::default(),
    };
    let started = Instant::now();
    let report = simulate_station(&config, &RngStreams::new(1, 0)).expect("an M/M/c run finishes");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"simulator\": \"inferscale\", \"customers\": {}, \"seconds\": {secs:.6}, \"mean_wait_s\": {:.6}}}",
        report.completed,
        report.wait.mean_s()
    );
}
