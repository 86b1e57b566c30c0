//! `actions.parquet`: every change the scaling loop made, with why and how long it
//! took to take effect.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch};

use crate::batch::int64;

use crate::{Provenance, ReportError, write_parquet_atomic};

/// One scaling action of one replication.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index.
    pub replication: u64,
    /// When it was decided, seconds since the start.
    pub time_s: f64,
    /// Model name.
    pub model: String,
    /// Node type of the replicas concerned.
    pub node_type: String,
    /// `scale_up` or `scale_down`.
    pub action: String,
    /// Replicas asked for before.
    pub from_replicas: u64,
    /// Replicas asked for after.
    pub to_replicas: u64,
    /// New nodes requested for it.
    pub nodes_requested: u64,
    /// Replicas that could not be placed (quota).
    pub unplaced: u64,
    /// Why (the decider's words).
    pub reason: String,
    /// Seconds until the last added replica was ready or the last removed one gone;
    /// null if that had not happened by the end.
    pub took_s: Option<f64>,
}

/// The rows as one Arrow batch.
pub fn actions_batch(rows: &[ActionRow]) -> RecordBatch {
    let u = |f: fn(&ActionRow) -> u64| -> ArrayRef { int64(rows.iter().map(|r| Some(f(r)))) };
    let d = |f: fn(&ActionRow) -> &str| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<DictionaryArray<Int32Type>>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("scenario", d(|r| &r.scenario)),
        ("replication", u(|r| r.replication)),
        (
            "time_s",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.time_s))
                    .collect::<Float64Array>(),
            ),
        ),
        ("model", d(|r| &r.model)),
        ("node_type", d(|r| &r.node_type)),
        ("action", d(|r| &r.action)),
        ("from_replicas", u(|r| r.from_replicas)),
        ("to_replicas", u(|r| r.to_replicas)),
        ("nodes_requested", u(|r| r.nodes_requested)),
        ("unplaced", u(|r| r.unplaced)),
        (
            "reason",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.reason.as_str()))
                    .collect::<arrow_array::StringArray>(),
            ),
        ),
        (
            "took_s",
            Arc::new(rows.iter().map(|r| r.took_s).collect::<Float64Array>()),
        ),
    ];
    crate::batch::record_batch(columns, |name, _| name == "took_s")
}

/// Writes `rows` to `path` atomically.
pub fn write_actions(
    path: &Path,
    rows: &[ActionRow],
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_parquet_atomic(path, &actions_batch(rows), provenance)
}
