//! Running a scenario: every replication in parallel, one [`RunRow`] each.

use std::time::Instant;

use inferscale_cluster::{StationReport, simulate_station};
use inferscale_engine::RngStreams;
use inferscale_report::RunRow;
use inferscale_scenario::Scenario;
use rayon::prelude::*;

/// A thread pool could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} worker threads: {source}")]
pub struct PoolError {
    threads: usize,
    source: rayon::ThreadPoolBuildError,
}

/// Runs every replication of `scenario` on `threads` worker threads (default: one per
/// core) and returns the rows in replication order.
///
/// Each replication draws from its own random streams, derived from the scenario seed
/// and the replication index only, so the rows are identical whatever the thread count
/// and whichever replication finishes first.
pub fn run_replications(
    scenario: &Scenario,
    threads: Option<usize>,
) -> Result<Vec<RunRow>, PoolError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        builder = builder.num_threads(threads);
    }
    let pool = builder.build().map_err(|source| PoolError {
        threads: threads.unwrap_or(0),
        source,
    })?;
    Ok(pool.install(|| {
        (0..u64::from(scenario.replications))
            .into_par_iter()
            .map(|replication| run_one(scenario, replication))
            .collect()
    }))
}

/// Runs replication `replication` of `scenario`.
pub fn run_one(scenario: &Scenario, replication: u64) -> RunRow {
    let started = Instant::now();
    let report = simulate_station(
        &scenario.station,
        &RngStreams::new(scenario.seed, replication),
    );
    to_row(
        scenario,
        replication,
        &report,
        started.elapsed().as_secs_f64(),
    )
}

fn to_row(scenario: &Scenario, replication: u64, r: &StationReport, wall_time_s: f64) -> RunRow {
    RunRow {
        scenario: scenario.name.clone(),
        replication,
        seed: scenario.seed,
        arrivals: r.arrivals,
        completed: r.completed,
        in_flight_at_end: r.in_flight_at_end,
        mean_wait_s: r.wait.mean_s(),
        mean_response_s: r.response.mean_s(),
        p50_response_s: r.response.quantile_s(0.50),
        p90_response_s: r.response.quantile_s(0.90),
        p99_response_s: r.response.quantile_s(0.99),
        utilization: r.utilization,
        mean_queue_len: r.mean_queue_len,
        mean_in_system: r.mean_in_system,
        window_s: r.window_s,
        events: r.events,
        wall_time_s,
    }
}
