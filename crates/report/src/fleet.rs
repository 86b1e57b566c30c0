//! `fleet.parquet`: per replication, node type and sampling interval, the nodes and
//! their bill — the table behind "how many machines, of which kind, and what they
//! cost" over time.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Float64Array, RecordBatch};

use crate::batch::int64;

/// One node type over one interval of one replication (the intervals of
/// `timeseries.parquet`).
#[derive(Clone, Debug, PartialEq)]
pub struct FleetRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index.
    pub replication: u64,
    /// End of the interval, seconds since the start.
    pub time_s: f64,
    /// Length of the interval, seconds.
    pub interval_s: f64,
    /// Node type name (a `hardware:` entry).
    pub node_type: String,
    /// `gpu` or `cpu`.
    pub device: String,
    /// Spot capacity (reclaimed by the provider) rather than on-demand.
    pub spot: bool,
    /// Nodes alive (requested and not yet released) at the end of the interval.
    pub nodes: u64,
    /// Of those, nodes still booting.
    pub nodes_booting: u64,
    /// Node-hours billed in the interval (the billing rounding included when a node
    /// goes): summed over the rows after the warm-up, the run's `gpu_node_hours` or
    /// `cpu_node_hours`.
    pub node_hours: f64,
    /// Dollars billed in the interval per hour of it: `Σ cost_rate_per_hour ·
    /// interval_s / 3600` over the rows after the warm-up is the run's `cost_usd`.
    pub cost_rate_per_hour: f64,
    /// Spot reclaim notices the node type's nodes received in the interval (each
    /// node is reclaimed once, its notice some time before).
    pub reclaims: u64,
}

/// The rows as one Arrow batch.
pub fn fleet_batch(rows: &[FleetRow]) -> RecordBatch {
    let x = |f: fn(&FleetRow) -> f64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Float64Array>())
    };
    let d = |f: fn(&FleetRow) -> &str| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<DictionaryArray<Int32Type>>())
    };
    let u = |f: fn(&FleetRow) -> u64| -> ArrayRef { int64(rows.iter().map(|r| Some(f(r)))) };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("scenario", d(|r| &r.scenario)),
        ("replication", u(|r| r.replication)),
        ("time_s", x(|r| r.time_s)),
        ("interval_s", x(|r| r.interval_s)),
        ("node_type", d(|r| &r.node_type)),
        ("device", d(|r| &r.device)),
        (
            "spot",
            Arc::new(rows.iter().map(|r| Some(r.spot)).collect::<BooleanArray>()),
        ),
        ("nodes", u(|r| r.nodes)),
        ("nodes_booting", u(|r| r.nodes_booting)),
        ("node_hours", x(|r| r.node_hours)),
        ("cost_rate_per_hour", x(|r| r.cost_rate_per_hour)),
        ("reclaims", u(|r| r.reclaims)),
    ];
    crate::batch::record_batch(columns, |_, _| false)
}
