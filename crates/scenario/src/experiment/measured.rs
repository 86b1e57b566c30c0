//! What one load stage measured: inference-perf's `stage_<k>_lifecycle_metrics.json`.

use std::path::Path;

use serde::Deserialize;

use super::{ExperimentError, read_text};

/// A distribution as inference-perf summarises it (seconds, or tokens).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct Quantiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// One stage's measurements (successful requests only, as inference-perf reports
/// them; failures are counted).
#[derive(Clone, Debug, PartialEq)]
pub struct StageMeasurement {
    /// Requests per second asked for.
    pub requested_rate: f64,
    /// Requests per second sent.
    pub achieved_rate: f64,
    /// Requests sent.
    pub sent: u64,
    /// Requests that succeeded.
    pub successes: u64,
    /// Requests that failed (the client's timeout, errors).
    pub failures: u64,
    /// Send → first streamed token.
    pub ttft: Option<Quantiles>,
    /// Send → last token.
    pub e2e: Option<Quantiles>,
    /// inference-perf's `time_per_output_token`: the mean gap between the tokens its
    /// tokenizer counts in the streamed text — not (e2e − TTFT) / (output − 1), which
    /// is what the comparison uses (streamed chunks carry several tokens).
    pub tpot_streamed: Option<Quantiles>,
    /// Prompt tokens, as the client's tokenizer counted them.
    pub prompt_len: Option<Quantiles>,
    /// Output tokens, as the client's tokenizer counted the streamed text.
    pub output_len: Option<Quantiles>,
    /// Successful requests per second (over the stage's sends to its last answer).
    pub throughput_rps: f64,
    /// Output tokens per second.
    pub output_tokens_per_s: f64,
}

#[derive(Deserialize)]
struct Raw {
    load_summary: RawLoad,
    successes: RawSuccesses,
    failures: RawFailures,
}

#[derive(Deserialize)]
struct RawLoad {
    count: u64,
    requested_rate: f64,
    achieved_rate: f64,
}

#[derive(Deserialize)]
struct RawSuccesses {
    count: u64,
    #[serde(default)]
    latency: Option<RawLatency>,
    #[serde(default)]
    throughput: Option<RawThroughput>,
    #[serde(default)]
    prompt_len: Option<Quantiles>,
    #[serde(default)]
    output_len: Option<Quantiles>,
}

#[derive(Deserialize)]
struct RawLatency {
    #[serde(default)]
    request_latency: Option<Quantiles>,
    #[serde(default)]
    time_to_first_token: Option<Quantiles>,
    #[serde(default)]
    time_per_output_token: Option<Quantiles>,
}

#[derive(Deserialize)]
struct RawThroughput {
    requests_per_sec: f64,
    #[serde(default)]
    output_tokens_per_sec: f64,
}

#[derive(Deserialize)]
struct RawFailures {
    count: u64,
}

impl StageMeasurement {
    /// Reads a `stage_<k>_lifecycle_metrics.json`.
    pub fn read(path: &Path) -> Result<StageMeasurement, ExperimentError> {
        let text = read_text(path)?;
        let raw: Raw = serde_json::from_str(&text).map_err(|e| ExperimentError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let latency = raw.successes.latency;
        let pick = |f: fn(&RawLatency) -> Option<Quantiles>| latency.as_ref().and_then(f);
        let throughput = raw.successes.throughput;
        Ok(StageMeasurement {
            requested_rate: raw.load_summary.requested_rate,
            achieved_rate: raw.load_summary.achieved_rate,
            sent: raw.load_summary.count,
            successes: raw.successes.count,
            failures: raw.failures.count,
            ttft: pick(|l| l.time_to_first_token),
            e2e: pick(|l| l.request_latency),
            tpot_streamed: pick(|l| l.time_per_output_token),
            prompt_len: raw.successes.prompt_len,
            output_len: raw.successes.output_len,
            throughput_rps: throughput.as_ref().map_or(0.0, |t| t.requests_per_sec),
            output_tokens_per_s: throughput.as_ref().map_or(0.0, |t| t.output_tokens_per_sec),
        })
    }

    /// The share of sent requests that failed.
    pub fn failure_share(&self) -> f64 {
        self.failures as f64 / (self.successes + self.failures).max(1) as f64
    }

    /// Whether the server kept up: no request failed.
    pub fn kept_up(&self) -> bool {
        self.failures == 0
    }

    /// Time per output token after the first, (e2e p50 − TTFT p50) / (output − 1):
    /// the decode rate a request saw, from the medians (the per-request ratio is not
    /// published).
    pub fn tpot_from_medians(&self, output_len: u32) -> Option<f64> {
        tpot_of_medians(self.e2e?.median, self.ttft?.median, output_len)
    }
}

/// Time per output token after the first from the medians of end-to-end latency
/// and TTFT: (e2e p50 − TTFT p50) / (output − 1); none for a single-token output.
/// How measured and simulated stages are both compared.
pub fn tpot_of_medians(e2e_p50: f64, ttft_p50: f64, output_len: u32) -> Option<f64> {
    (output_len > 1).then(|| (e2e_p50 - ttft_p50) / f64::from(output_len - 1))
}
