//! `timeseries.parquet`: per replication, model and sampling interval, what the
//! cluster looked like — the table behind timelines of load, capacity and latency.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch};

use crate::batch::int64;

use crate::{Provenance, ReportError, write_parquet_atomic};

/// One model over one interval of one replication. Intervals are `output.sample_interval`
/// long on a grid from time zero, with a boundary at the end of the warm-up and the
/// last one ending at the end of the run (either may be shorter), so the rows with
/// `time_s` after the warm-up cover exactly the measurement window. Counts are per
/// interval, over every request (the warm-up's too): their sums are the run's totals.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeseriesRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index.
    pub replication: u64,
    /// End of the interval, seconds since the start.
    pub time_s: f64,
    /// Length of the interval, seconds.
    pub interval_s: f64,
    /// Model name.
    pub model: String,
    /// Node type of its replicas.
    pub node_type: String,
    /// Requests that arrived in the interval.
    pub arrivals: u64,
    /// Requests that completed in the interval.
    pub completions: u64,
    /// Requests dropped or rejected in the interval.
    pub dropped: u64,
    /// Replicas whose node is booting, at the end of the interval.
    pub replicas_provisioning: u64,
    /// Replicas loading weights.
    pub replicas_loading: u64,
    /// Replicas serving (draining ones included).
    pub replicas_ready: u64,
    /// Replicas draining: finishing their requests before they go.
    pub replicas_draining: u64,
    /// Requests waiting for admission.
    pub queued: u64,
    /// Requests admitted and unfinished.
    pub running: u64,
    /// Share of ready replicas' KV blocks in use.
    pub kv_utilization: f64,
    /// Median TTFT of first tokens in the interval (null when none).
    pub ttft_p50_s: Option<f64>,
    /// 99th percentile TTFT in the interval.
    pub ttft_p99_s: Option<f64>,
    /// 99th percentile end-to-end latency of completions in the interval.
    pub e2e_p99_s: Option<f64>,
    /// 99th percentile TPOT of completions (of more than one token) in the interval.
    pub tpot_p99_s: Option<f64>,
    /// Prompt tokens the model's replicas computed (prefilled) in the interval,
    /// counted when a replica admits a request.
    pub prefill_tokens: u64,
    /// Prompt tokens taken from their prefix caches instead.
    pub cached_prompt_tokens: u64,
    /// Share of the full prompt blocks looked up in the interval that were cached
    /// (null when none was looked up).
    pub cache_hit_rate: Option<f64>,
    /// Dollars billed in the interval for the model's share of the nodes, per hour of
    /// the interval: `Σ cost_rate_per_hour · interval_s / 3600` over the rows after
    /// the warm-up is the model's `cost_usd`, over all rows its `cost_total_usd`.
    pub cost_rate_per_hour: f64,
    /// The scaling loop's arrival-rate forecast for the end of this interval (made one
    /// horizon earlier); null without a predictor.
    pub forecast_per_s: Option<f64>,
}

/// The rows as one Arrow batch.
pub fn timeseries_batch(rows: &[TimeseriesRow]) -> RecordBatch {
    let u = |f: fn(&TimeseriesRow) -> u64| -> ArrayRef { int64(rows.iter().map(|r| Some(f(r)))) };
    let x = |f: fn(&TimeseriesRow) -> f64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Float64Array>())
    };
    let o = |f: fn(&TimeseriesRow) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let d = |f: fn(&TimeseriesRow) -> &str| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<DictionaryArray<Int32Type>>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("scenario", d(|r| &r.scenario)),
        ("replication", u(|r| r.replication)),
        ("time_s", x(|r| r.time_s)),
        ("interval_s", x(|r| r.interval_s)),
        ("model", d(|r| &r.model)),
        ("node_type", d(|r| &r.node_type)),
        ("arrivals", u(|r| r.arrivals)),
        ("completions", u(|r| r.completions)),
        ("dropped", u(|r| r.dropped)),
        ("replicas_provisioning", u(|r| r.replicas_provisioning)),
        ("replicas_loading", u(|r| r.replicas_loading)),
        ("replicas_ready", u(|r| r.replicas_ready)),
        ("replicas_draining", u(|r| r.replicas_draining)),
        ("queued", u(|r| r.queued)),
        ("running", u(|r| r.running)),
        ("kv_utilization", x(|r| r.kv_utilization)),
        ("ttft_p50_s", o(|r| r.ttft_p50_s)),
        ("ttft_p99_s", o(|r| r.ttft_p99_s)),
        ("e2e_p99_s", o(|r| r.e2e_p99_s)),
        ("tpot_p99_s", o(|r| r.tpot_p99_s)),
        ("prefill_tokens", u(|r| r.prefill_tokens)),
        ("cached_prompt_tokens", u(|r| r.cached_prompt_tokens)),
        ("cache_hit_rate", o(|r| r.cache_hit_rate)),
        ("cost_rate_per_hour", x(|r| r.cost_rate_per_hour)),
        ("forecast_per_s", o(|r| r.forecast_per_s)),
    ];
    // The interval's latency quantiles, hit rate and the forecast may be missing.
    crate::batch::record_batch(columns, |name, _| {
        (name.ends_with("_s") && !matches!(name, "time_s" | "interval_s"))
            || name == "cache_hit_rate"
    })
}

/// Writes `rows` to `path` atomically.
pub fn write_timeseries(
    path: &Path,
    rows: &[TimeseriesRow],
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_parquet_atomic(path, &timeseries_batch(rows), provenance)
}
