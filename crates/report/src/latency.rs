//! `latency.parquet`: each run's latency distributions as log-scale histograms, so
//! CDFs can be drawn (and pooled across replications exactly) without per-request
//! records.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch};

use crate::batch::int64;

/// One histogram bucket of one latency of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index.
    pub replication: u64,
    /// The model (LLM runs: one histogram per model; a run's are their sums), or
    /// the scenario's name (generic runs).
    pub model: String,
    /// `ttft`, `tpot` or `e2e` (LLM runs), `response` (generic runs).
    pub metric: String,
    /// Upper bound of the bucket, seconds (buckets grow by 5%).
    pub upper_s: f64,
    /// Measured requests in the bucket.
    pub count: u64,
}

/// The rows as one Arrow batch.
pub fn latency_batch(rows: &[LatencyRow]) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "scenario",
            Arc::new(
                rows.iter()
                    .map(|r| r.scenario.as_str())
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
        ),
        (
            "replication",
            int64(rows.iter().map(|r| Some(r.replication))),
        ),
        (
            "model",
            Arc::new(
                rows.iter()
                    .map(|r| r.model.as_str())
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
        ),
        (
            "metric",
            Arc::new(
                rows.iter()
                    .map(|r| r.metric.as_str())
                    .collect::<DictionaryArray<Int32Type>>(),
            ),
        ),
        (
            "upper_s",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.upper_s))
                    .collect::<Float64Array>(),
            ),
        ),
        ("count", int64(rows.iter().map(|r| Some(r.count)))),
    ];
    crate::batch::record_batch(columns, |_, _| false)
}
