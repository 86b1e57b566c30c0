//! `runs.parquet`: one row per simulated replication.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch, StringArray, UInt64Array};

use crate::batch::int64;
use arrow_schema::DataType;

use crate::{Provenance, ReportError, write_parquet_atomic};

/// What one replication measured. Times are seconds (`_s`), counts are exact. Every
/// statistic covers the **measurement window**: the requests that arrived after the
/// warm-up and the time from the warm-up's end to the end of the run (`window_s`);
/// only the `_total` columns include the warm-up.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index, from 0.
    pub replication: u64,
    /// Master seed of the scenario (streams derive from it and the replication).
    pub seed: u64,
    /// Hash of what the point's requests depend on (seed, duration, workload, the
    /// models' names and kinds): runs with the same hash and replication saw the same
    /// requests, so they pair (`inferscale compare`, the baseline differences).
    pub requests_id: String,
    /// Requests that arrived after the warm-up.
    pub arrivals: u64,
    /// Of those, requests that completed before the end.
    pub completed: u64,
    /// Of those, requests still in the system at the end. With `dropped` and
    /// `rejected` (cluster runs), `arrivals = completed + dropped + rejected +
    /// in_flight_at_end`.
    pub in_flight_at_end: u64,
    /// Mean time from arrival to start of service (generic models; null for LLMs,
    /// whose wait is in the TTFT columns).
    pub mean_wait_s: Option<f64>,
    /// Mean time from arrival to completion.
    pub mean_response_s: f64,
    /// Median response time.
    pub p50_response_s: f64,
    /// 90th percentile of response time.
    pub p90_response_s: f64,
    /// 99th percentile of response time.
    pub p99_response_s: f64,
    /// Busy share of the ready server-time: of a generic model's servers; of a
    /// cluster's ready replica-time (LLM replicas in iterations, classic replicas in
    /// batches), pooled over its models.
    pub utilization: f64,
    /// Time-average number of requests waiting (generic models).
    pub mean_queue_len: Option<f64>,
    /// Time-average number of requests in the system, waiting or in service (at the
    /// router or a replica, for clusters), summed over models.
    pub mean_in_system: Option<f64>,
    /// Length of the statistics window (duration minus warm-up).
    pub window_s: f64,
    /// Events the engine processed.
    pub events: u64,
    /// Wall-clock time the replication took. The only column that differs between
    /// two runs of the same scenario.
    pub wall_time_s: f64,
    /// The inference-cluster columns; `None` (all null) for generic models.
    pub llm: Option<LlmColumns>,
}

/// Columns of runs that serve LLMs (or classic models) on a cluster. Like the rest of
/// the row they cover the measurement window — requests that arrived after the
/// warm-up, and the bill from its end to the end of the run — except the `_total`
/// columns, which cover the whole run.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmColumns {
    /// Requests dropped (full queue, timeout, or a killed replica).
    pub dropped: u64,
    /// Requests refused as impossible (too long for any replica).
    pub rejected: u64,
    /// Requests whose output was cut at the context length (`max_model_len`).
    pub truncated: u64,
    /// Requests that completed within every SLA target of their model.
    pub sla_met: u64,
    /// Every other request that arrived after the warm-up: completed late, dropped,
    /// rejected, timed out, or not finished by the end. `arrivals = sla_met +
    /// sla_missed`.
    pub sla_missed: u64,
    /// Arrival → first token, quantiles.
    pub ttft_p50_s: f64,
    /// 90th percentile TTFT.
    pub ttft_p90_s: f64,
    /// 99th percentile TTFT.
    pub ttft_p99_s: f64,
    /// Time per output token, quantiles.
    pub tpot_p50_s: f64,
    /// 90th percentile TPOT.
    pub tpot_p90_s: f64,
    /// 99th percentile TPOT.
    pub tpot_p99_s: f64,
    /// `sla_met / arrivals`: the share of every request that arrived after the
    /// warm-up that completed within every SLA target of its model (see
    /// `sla_missed` for what counts as a miss).
    pub sla_attainment: f64,
    /// Requests per second that completed within their SLA.
    pub goodput_per_s: f64,
    /// Output tokens of completed requests.
    pub output_tokens: u64,
    /// Dollars billed in the measurement window: each node bills from its request to
    /// its release (or the end), rounded up to its granularity and at least its
    /// minimum (the rounding is billed when the node goes); the part of that bill
    /// after the warm-up. The integral of `timeseries.cost_rate_per_hour` over the
    /// window.
    pub cost_usd: f64,
    /// Dollars billed over the whole run, warm-up included.
    pub cost_total_usd: f64,
    /// `cost_usd` per 1,000 completed requests.
    pub cost_per_1k_requests: f64,
    /// `cost_usd` per million output tokens of completed requests.
    pub cost_per_1m_output_tokens: f64,
    /// Billed node-hours of GPU node types in the window.
    pub gpu_node_hours: f64,
    /// Billed node-hours of CPU node types in the window.
    pub cpu_node_hours: f64,
    /// Billed node-hours of GPU node types over the whole run.
    pub gpu_node_hours_total: f64,
    /// Billed node-hours of CPU node types over the whole run.
    pub cpu_node_hours_total: f64,
    /// Share of KV-cache blocks in use over the ready replica-time.
    pub kv_utilization: f64,
    /// Requests preempted (recomputed) for lack of KV cache.
    pub preemptions: u64,
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
    /// Most replicas asked for at once that the quotas left unplaced, summed over
    /// models.
    pub unplaced_replicas: u64,
    /// Changes the scaling loop made.
    pub scaling_actions: u64,
    /// Time-average of the replicas asked for over the measured window, summed over
    /// models.
    pub mean_replicas: f64,
    /// Most replicas asked for at once, summed over models.
    pub max_replicas: u64,
    /// Mean absolute percentage error of the rate forecasts (none without a
    /// predictor), 0–1.
    pub forecast_mape: Option<f64>,
    /// Root mean squared error of the rate forecasts, requests/s.
    pub forecast_rmse: Option<f64>,
    /// Decision ticks, summed over models, that went without a forecast because the
    /// external predictor had failed (`on_error: fallback`); 0 when it never failed.
    pub forecast_fallbacks: u64,
    /// Spot nodes that got a reclaim notice while in use.
    pub spot_reclaims: u64,
}

/// The column that legitimately varies between identical runs.
pub const WALL_TIME_COLUMN: &str = "wall_time_s";

/// The rows as one Arrow batch with proper types: dictionary-encoded strings, Int64
/// counts (the seed, an identifier, is UInt64), Float64 seconds and dollars.
pub fn runs_batch(rows: &[RunRow]) -> RecordBatch {
    let i64_col = |f: fn(&RunRow) -> u64| -> ArrayRef { int64(rows.iter().map(|r| Some(f(r)))) };
    let f64_col = |f: fn(&RunRow) -> f64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Float64Array>())
    };
    let scenario: DictionaryArray<Int32Type> = rows.iter().map(|r| r.scenario.as_str()).collect();
    let opt_col = |f: fn(&RunRow) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let llm_f64 = |f: fn(&LlmColumns) -> f64| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| r.llm.as_ref().map(f))
                .collect::<Float64Array>(),
        )
    };
    let llm_opt = |f: fn(&LlmColumns) -> Option<f64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| r.llm.as_ref().and_then(f))
                .collect::<Float64Array>(),
        )
    };
    let llm_i64 = |f: fn(&LlmColumns) -> u64| -> ArrayRef {
        int64(rows.iter().map(|r| r.llm.as_ref().map(f)))
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("scenario", Arc::new(scenario)),
        ("replication", i64_col(|r| r.replication)),
        (
            "seed",
            Arc::new(rows.iter().map(|r| r.seed).collect::<UInt64Array>()),
        ),
        (
            "requests_id",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.requests_id.as_str()))
                    .collect::<StringArray>(),
            ),
        ),
        ("arrivals", i64_col(|r| r.arrivals)),
        ("completed", i64_col(|r| r.completed)),
        ("in_flight_at_end", i64_col(|r| r.in_flight_at_end)),
        ("mean_wait_s", opt_col(|r| r.mean_wait_s)),
        ("mean_response_s", f64_col(|r| r.mean_response_s)),
        ("p50_response_s", f64_col(|r| r.p50_response_s)),
        ("p90_response_s", f64_col(|r| r.p90_response_s)),
        ("p99_response_s", f64_col(|r| r.p99_response_s)),
        ("utilization", f64_col(|r| r.utilization)),
        ("mean_queue_len", opt_col(|r| r.mean_queue_len)),
        ("mean_in_system", opt_col(|r| r.mean_in_system)),
        ("window_s", f64_col(|r| r.window_s)),
        ("events", i64_col(|r| r.events)),
        ("dropped", llm_i64(|l| l.dropped)),
        ("rejected", llm_i64(|l| l.rejected)),
        ("truncated", llm_i64(|l| l.truncated)),
        ("sla_met", llm_i64(|l| l.sla_met)),
        ("sla_missed", llm_i64(|l| l.sla_missed)),
        ("ttft_p50_s", llm_f64(|l| l.ttft_p50_s)),
        ("ttft_p90_s", llm_f64(|l| l.ttft_p90_s)),
        ("ttft_p99_s", llm_f64(|l| l.ttft_p99_s)),
        ("tpot_p50_s", llm_f64(|l| l.tpot_p50_s)),
        ("tpot_p90_s", llm_f64(|l| l.tpot_p90_s)),
        ("tpot_p99_s", llm_f64(|l| l.tpot_p99_s)),
        ("sla_attainment", llm_f64(|l| l.sla_attainment)),
        ("goodput_per_s", llm_f64(|l| l.goodput_per_s)),
        ("output_tokens", llm_i64(|l| l.output_tokens)),
        ("cost_usd", llm_f64(|l| l.cost_usd)),
        ("cost_total_usd", llm_f64(|l| l.cost_total_usd)),
        ("cost_per_1k_requests", llm_f64(|l| l.cost_per_1k_requests)),
        (
            "cost_per_1m_output_tokens",
            llm_f64(|l| l.cost_per_1m_output_tokens),
        ),
        ("gpu_node_hours", llm_f64(|l| l.gpu_node_hours)),
        ("cpu_node_hours", llm_f64(|l| l.cpu_node_hours)),
        ("gpu_node_hours_total", llm_f64(|l| l.gpu_node_hours_total)),
        ("cpu_node_hours_total", llm_f64(|l| l.cpu_node_hours_total)),
        ("kv_utilization", llm_f64(|l| l.kv_utilization)),
        ("preemptions", llm_i64(|l| l.preemptions)),
        ("prefill_tokens", llm_i64(|l| l.prefill_tokens)),
        ("cached_prompt_tokens", llm_i64(|l| l.cached_prompt_tokens)),
        ("cache_queried_blocks", llm_i64(|l| l.cache_queried_blocks)),
        ("cache_hit_blocks", llm_i64(|l| l.cache_hit_blocks)),
        ("cache_hit_rate", llm_f64(|l| l.cache_hit_rate)),
        ("cache_token_hit_rate", llm_f64(|l| l.cache_token_hit_rate)),
        ("unplaced_replicas", llm_i64(|l| l.unplaced_replicas)),
        ("scaling_actions", llm_i64(|l| l.scaling_actions)),
        ("mean_replicas", llm_f64(|l| l.mean_replicas)),
        ("max_replicas", llm_i64(|l| l.max_replicas)),
        ("forecast_mape", llm_opt(|l| l.forecast_mape)),
        ("forecast_rmse", llm_opt(|l| l.forecast_rmse)),
        ("forecast_fallbacks", llm_i64(|l| l.forecast_fallbacks)),
        ("spot_reclaims", llm_i64(|l| l.spot_reclaims)),
        (WALL_TIME_COLUMN, f64_col(|r| r.wall_time_s)),
    ];
    // Null where a value does not apply: every float (no wait for an LLM run, no
    // forecast without a predictor) and every cluster column of a generic run.
    const ALWAYS: [&str; 8] = [
        "scenario",
        "replication",
        "seed",
        "requests_id",
        "arrivals",
        "completed",
        "in_flight_at_end",
        "events",
    ];
    crate::batch::record_batch(columns, |name, t| {
        matches!(t, DataType::Float64) || !ALWAYS.contains(&name)
    })
}

/// Writes `rows` to `path` atomically.
pub fn write_runs(
    path: &Path,
    rows: &[RunRow],
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_parquet_atomic(path, &runs_batch(rows), provenance)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::read_parquet;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    pub(crate) fn row(replication: u64, wait: f64) -> RunRow {
        RunRow {
            scenario: "mmc".into(),
            replication,
            seed: 42,
            requests_id: "r42".into(),
            arrivals: 1000 + replication,
            completed: 990,
            in_flight_at_end: 10 + replication,
            mean_wait_s: Some(wait),
            mean_response_s: wait + 1.0,
            p50_response_s: 1.0,
            p90_response_s: 2.0,
            p99_response_s: 4.0,
            utilization: 0.9,
            mean_queue_len: Some(6.3),
            mean_in_system: Some(13.5),
            window_s: 3600.0,
            events: 2000,
            wall_time_s: 0.01,
            llm: None,
        }
    }

    #[test]
    fn round_trips_with_types_and_provenance() {
        let dir = std::env::temp_dir().join(format!("inferscale-runs-{}", std::process::id()));
        let path = dir.join("runs.parquet");
        let prov = Provenance {
            scenario_text: "name: mmc\n".into(),
            version: "inferscale test".into(),
            params: Vec::new(),
            ..Provenance::default()
        };
        write_runs(&path, &[row(0, 0.8), row(1, 0.9)], &prov).unwrap();
        let table = read_parquet(&path).unwrap();
        let batch = &table.batches[0];
        assert_eq!(batch.num_rows(), 2);
        let schema = &table.schema;
        assert_eq!(
            schema
                .metadata()
                .get(crate::parquet_io::SCENARIO_KEY)
                .unwrap(),
            "name: mmc\n"
        );
        assert_eq!(
            schema.field_with_name("scenario").unwrap().data_type(),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        );
        assert_eq!(
            schema.field_with_name("arrivals").unwrap().data_type(),
            &DataType::Int64
        );
        let wait = batch
            .column_by_name("mean_wait_s")
            .unwrap()
            .as_primitive::<arrow_array::types::Float64Type>();
        assert_eq!(wait.value(1), 0.9);
        assert_eq!(wait.null_count(), 0);
        // LLM columns are present and null for a generic run.
        let ttft = batch.column_by_name("ttft_p99_s").unwrap();
        assert_eq!(ttft.null_count(), 2);
        assert_eq!(
            schema.field_with_name("dropped").unwrap().data_type(),
            &DataType::Int64
        );
        // No temporary file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
