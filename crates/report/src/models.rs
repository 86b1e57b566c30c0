//! `models.parquet`: one row per simulated replication and model, for scenarios that
//! serve several LLM models (a CPU pool against a GPU pool, say) and want them apart.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch, UInt64Array};

use crate::batch::int64;

use crate::{Provenance, ReportError, write_parquet_atomic};

/// What one model saw in one replication, over the measurement window (requests that
/// arrived after the warm-up; the bill after it), like `runs.parquet`. Requests sent
/// to a model are its own whichever of its variants served them: a `variant_of:`
/// model's row has its replicas, utilization and cost, and no requests.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index.
    pub replication: u64,
    /// Master seed.
    pub seed: u64,
    /// Model name (as in the scenario).
    pub model: String,
    /// Node type its replicas run on.
    pub node_type: String,
    /// Replicas that became ready.
    pub ready_replicas: u64,
    /// Requests that arrived after the warm-up.
    pub arrivals: u64,
    /// Of those, requests that completed.
    pub completed: u64,
    /// Of those, requests dropped (full queue, timeout, or a killed replica).
    pub dropped: u64,
    /// Of those, requests refused as impossible.
    pub rejected: u64,
    /// Of the arrivals, requests whose output was cut at the context length
    /// (`max_model_len`); they count as completed when they finish.
    pub truncated: u64,
    /// Of those, requests still in the system at the end: `arrivals = completed +
    /// dropped + rejected + in_flight_at_end`.
    pub in_flight_at_end: u64,
    /// Of the arrivals, requests that completed within every SLA target.
    pub sla_met: u64,
    /// Every other arrival (late, dropped, rejected, unfinished): `arrivals =
    /// sla_met + sla_missed`.
    pub sla_missed: u64,
    /// TTFT quantiles, seconds.
    pub ttft_p50_s: f64,
    /// 99th percentile TTFT.
    pub ttft_p99_s: f64,
    /// TPOT quantiles, seconds.
    pub tpot_p50_s: f64,
    /// 99th percentile TPOT.
    pub tpot_p99_s: f64,
    /// End-to-end latency quantiles, seconds.
    pub e2e_p50_s: f64,
    /// 99th percentile end-to-end latency.
    pub e2e_p99_s: f64,
    /// `sla_met / arrivals`.
    pub sla_attainment: f64,
    /// Completed requests within the SLA, per second.
    pub goodput_per_s: f64,
    /// Output tokens of completed requests.
    pub output_tokens: u64,
    /// Busy share of the model's ready replica-time (LLM replicas in iterations,
    /// classic replicas in batches).
    pub utilization: f64,
    /// Share of KV blocks in use over the ready replica-time.
    pub kv_utilization: f64,
    /// Prompt tokens computed (prefilled) in the window, counted when a replica
    /// admits a request (a preempted request's recompute counts again).
    pub prefill_tokens: u64,
    /// Prompt tokens taken from replicas' prefix caches instead of computed.
    pub cached_prompt_tokens: u64,
    /// Full prompt blocks looked up in prefix caches (up to each prompt's hit limit:
    /// never its last token).
    pub cache_queried_blocks: u64,
    /// Of those, blocks found cached.
    pub cache_hit_blocks: u64,
    /// `cache_hit_blocks / cache_queried_blocks` (null when nothing was looked up:
    /// no prefix cache, or no workload naming its prompts' content).
    pub cache_hit_rate: f64,
    /// `cached_prompt_tokens / (prefill_tokens + cached_prompt_tokens)`: the share of
    /// prompt work the caches saved.
    pub cache_token_hit_rate: f64,
    /// Time-average number of the model's requests in the system (at the router or
    /// a replica).
    pub mean_in_system: f64,
    /// Billed node-hours attributed to the model in the window (by accelerators
    /// occupied); group by `node_type` for node-hours per node type.
    pub node_hours: f64,
    /// Billed node-hours attributed over the whole run, warm-up included.
    pub node_hours_total: f64,
    /// Dollars attributed to the model in the window.
    pub cost_usd: f64,
    /// Dollars attributed over the whole run, warm-up included.
    pub cost_total_usd: f64,
    /// Dollars per 1,000 completed requests.
    pub cost_per_1k_requests: f64,
    /// Time-average of the replicas asked for over the measured window.
    pub mean_replicas: f64,
    /// Most replicas asked for at once.
    pub max_replicas: u64,
}

/// The rows as one Arrow batch.
pub fn models_batch(rows: &[ModelRow]) -> RecordBatch {
    let u = |f: fn(&ModelRow) -> u64| -> ArrayRef { int64(rows.iter().map(|r| Some(f(r)))) };
    let x = |f: fn(&ModelRow) -> f64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Float64Array>())
    };
    let d = |f: fn(&ModelRow) -> &str| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<DictionaryArray<Int32Type>>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("scenario", d(|r| &r.scenario)),
        ("replication", u(|r| r.replication)),
        (
            "seed",
            Arc::new(rows.iter().map(|r| r.seed).collect::<UInt64Array>()),
        ),
        ("model", d(|r| &r.model)),
        ("node_type", d(|r| &r.node_type)),
        ("ready_replicas", u(|r| r.ready_replicas)),
        ("arrivals", u(|r| r.arrivals)),
        ("completed", u(|r| r.completed)),
        ("dropped", u(|r| r.dropped)),
        ("rejected", u(|r| r.rejected)),
        ("truncated", u(|r| r.truncated)),
        ("in_flight_at_end", u(|r| r.in_flight_at_end)),
        ("sla_met", u(|r| r.sla_met)),
        ("sla_missed", u(|r| r.sla_missed)),
        ("ttft_p50_s", x(|r| r.ttft_p50_s)),
        ("ttft_p99_s", x(|r| r.ttft_p99_s)),
        ("tpot_p50_s", x(|r| r.tpot_p50_s)),
        ("tpot_p99_s", x(|r| r.tpot_p99_s)),
        ("e2e_p50_s", x(|r| r.e2e_p50_s)),
        ("e2e_p99_s", x(|r| r.e2e_p99_s)),
        ("sla_attainment", x(|r| r.sla_attainment)),
        ("goodput_per_s", x(|r| r.goodput_per_s)),
        ("output_tokens", u(|r| r.output_tokens)),
        ("utilization", x(|r| r.utilization)),
        ("kv_utilization", x(|r| r.kv_utilization)),
        ("prefill_tokens", u(|r| r.prefill_tokens)),
        ("cached_prompt_tokens", u(|r| r.cached_prompt_tokens)),
        ("cache_queried_blocks", u(|r| r.cache_queried_blocks)),
        ("cache_hit_blocks", u(|r| r.cache_hit_blocks)),
        ("cache_hit_rate", x(|r| r.cache_hit_rate)),
        ("cache_token_hit_rate", x(|r| r.cache_token_hit_rate)),
        ("mean_in_system", x(|r| r.mean_in_system)),
        ("node_hours", x(|r| r.node_hours)),
        ("node_hours_total", x(|r| r.node_hours_total)),
        ("cost_usd", x(|r| r.cost_usd)),
        ("cost_total_usd", x(|r| r.cost_total_usd)),
        ("cost_per_1k_requests", x(|r| r.cost_per_1k_requests)),
        ("mean_replicas", x(|r| r.mean_replicas)),
        ("max_replicas", u(|r| r.max_replicas)),
    ];
    // Floats are null where they have no value (no request completed: no latency
    // quantile, no cost per request).
    crate::batch::record_batch(columns, |_, t| matches!(t, arrow_schema::DataType::Float64))
}

/// Writes `rows` to `path` atomically.
pub fn write_models(
    path: &Path,
    rows: &[ModelRow],
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_parquet_atomic(path, &models_batch(rows), provenance)
}

/// Per model, the mean over replications of the headline metrics, as a text table.
pub fn format_model_table(rows: &[ModelRow]) -> String {
    let batch = models_batch(rows);
    format_model_table_of(&crate::ParquetTable {
        schema: batch.schema(),
        batches: vec![batch],
    })
}

/// [`format_model_table`] of a `models.parquet` read back.
pub fn format_model_table_of(table: &crate::ParquetTable) -> String {
    use std::fmt::Write;
    let models = table.string_column("model").unwrap_or_default();
    let node_types = table.string_column("node_type").unwrap_or_default();
    let column = |name: &str| -> Vec<f64> {
        table
            .f64_column(name)
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect()
    };
    let [ttft, tpot, e2e, sla, cost, per_1k] = [
        "ttft_p99_s",
        "tpot_p99_s",
        "e2e_p99_s",
        "sla_attainment",
        "cost_usd",
        "cost_per_1k_requests",
    ]
    .map(column);
    let mut names: Vec<&str> = Vec::new();
    for m in &models {
        if !names.contains(&m.as_str()) {
            names.push(m);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "model", "node type", "ttft p99", "tpot p99", "e2e p99", "SLA met", "cost $", "$ / 1k req"
    );
    for name in names {
        let mine: Vec<usize> = (0..models.len()).filter(|&i| models[i] == name).collect();
        let mean = |c: &[f64]| mine.iter().map(|&i| c[i]).sum::<f64>() / mine.len() as f64;
        let secs = |v: f64, decimals: usize| {
            if v.is_finite() {
                format!("{v:.decimals$}s")
            } else {
                "-".to_owned()
            }
        };
        let _ = writeln!(
            out,
            "{:<18} {:<14} {:>10} {:>10} {:>10} {:>9.1}% {:>10.2} {:>10.4}",
            name,
            node_types.get(mine[0]).map_or("", String::as_str),
            secs(mean(&ttft), 3),
            secs(mean(&tpot), 4),
            secs(mean(&e2e), 3),
            100.0 * mean(&sla),
            mean(&cost),
            mean(&per_1k),
        );
    }
    out
}
