//! `inferscale calibrate --check`: replays measured experiments (inference-perf's
//! folders, [`Experiment`]) and compares, stage by stage, what the simulator predicts
//! with what the real server measured.
//!
//! Each experiment's replay scenario ([`Experiment::replay_scenario`]) runs once with
//! every request recorded; a request belongs to the stage it was sent in, as
//! inference-perf counts it, and succeeds when it finished within the client's
//! timeout (after which the client gives up; the replay does not yet abort the
//! request at the server, which a real server does when the client disconnects, so
//! under overload the simulated server keeps working on what the client abandoned).
//!
//! The metrics, measured and simulated alike: TTFT p50 and p90, end-to-end p50 and
//! p90, time per output token after the first as (e2e p50 − TTFT p50) / (output − 1)
//! — not inference-perf's streamed `time_per_output_token`, which averages the gaps
//! between the tokens its tokenizer finds in the streamed text (streamed chunks carry
//! several tokens, so it comes out near half) — successful requests per second over
//! the stage's sends to its last answer, and the share of requests that failed.

pub mod fit;
pub mod iterations;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use inferscale_cluster::{
    ExecutorConfig, RequestLogging, RequestOutcome, RequestRecord, RequestSink,
    simulate_cluster_with,
};
use inferscale_engine::RngStreams;
use inferscale_report::CalibrationRow;
use inferscale_scenario::System;
use inferscale_scenario::experiment::{
    Experiment, ExperimentError, StageMeasurement, tpot_of_medians,
};

/// Why an experiment could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CalibrateError {
    /// The folder could not be read, or asks for what the replay cannot do.
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    /// The replay scenario was refused (a profile's fields, most likely).
    #[error("the replay of `{experiment}`: {source}")]
    Scenario {
        /// The experiment.
        experiment: String,
        /// What the reader said.
        source: inferscale_scenario::ScenarioError,
    },
    /// The replay did not finish.
    #[error("the replay of `{experiment}` failed: {source}")]
    Run {
        /// The experiment.
        experiment: String,
        /// Why.
        source: inferscale_cluster::RunError,
    },
}

/// What a replay measured in one stage, as inference-perf would have.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimulatedStage {
    /// Requests sent in the stage.
    pub sent: u64,
    /// Of those, finished within the client's timeout.
    pub successes: u64,
    /// TTFT p50 and p90 of the successes, seconds.
    pub ttft: Option<(f64, f64)>,
    /// End-to-end p50 and p90 of the successes, seconds.
    pub e2e: Option<(f64, f64)>,
    /// Successes per second, from the stage's first send to its last success.
    pub throughput_rps: f64,
}

impl SimulatedStage {
    /// The share of the stage's requests that failed.
    pub fn failure_share(&self) -> f64 {
        (self.sent - self.successes) as f64 / self.sent.max(1) as f64
    }
}

/// One stage: what the server measured and what the replay simulated.
#[derive(Clone, Debug, PartialEq)]
pub struct StageCheck {
    /// Requests per second asked for.
    pub rate_per_s: f64,
    /// The measurement.
    pub measured: StageMeasurement,
    /// The replay.
    pub simulated: SimulatedStage,
}

/// One experiment checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentCheck {
    /// The experiment's folder name.
    pub experiment: String,
    /// The catalog model replayed.
    pub model: String,
    /// Tensor parallelism.
    pub tp: u32,
    /// Output tokens per request.
    pub output_len: u32,
    /// The stages, in order.
    pub stages: Vec<StageCheck>,
    /// Wall time of the replay, seconds.
    pub wall_s: f64,
}

/// The metrics compared, in report order (the `metric` column's values).
pub const METRICS: [&str; 7] = [
    "ttft_p50_s",
    "ttft_p90_s",
    "tpot_s",
    "e2e_p50_s",
    "e2e_p90_s",
    "throughput_rps",
    "failure_share",
];

impl StageCheck {
    /// Measured and simulated values of `metric` (one of [`METRICS`]).
    pub fn values(&self, metric: &str, output_len: u32) -> (Option<f64>, Option<f64>) {
        let m = &self.measured;
        let s = &self.simulated;
        let tpot = |e2e: Option<(f64, f64)>, ttft: Option<(f64, f64)>| {
            tpot_of_medians(e2e?.0, ttft?.0, output_len)
        };
        match metric {
            "ttft_p50_s" => (m.ttft.map(|q| q.median), s.ttft.map(|q| q.0)),
            "ttft_p90_s" => (m.ttft.map(|q| q.p90), s.ttft.map(|q| q.1)),
            "tpot_s" => (m.tpot_from_medians(output_len), tpot(s.e2e, s.ttft)),
            "e2e_p50_s" => (m.e2e.map(|q| q.median), s.e2e.map(|q| q.0)),
            "e2e_p90_s" => (m.e2e.map(|q| q.p90), s.e2e.map(|q| q.1)),
            "throughput_rps" => (Some(m.throughput_rps), Some(s.throughput_rps)),
            "failure_share" => (Some(m.failure_share()), Some(s.failure_share())),
            other => panic!("unknown calibration metric `{other}`"),
        }
    }
}

/// (simulated − measured) / measured, where both exist and the measure is not zero.
pub fn relative_error(measured: Option<f64>, simulated: Option<f64>) -> Option<f64> {
    match (measured, simulated) {
        (Some(m), Some(s)) if m != 0.0 => Some((s - m) / m),
        _ => None,
    }
}

/// Keeps every request's record of a replay.
struct Collect(Rc<RefCell<Vec<RequestRecord>>>);

impl RequestSink for Collect {
    fn record(&mut self, record: &RequestRecord, _pool: Option<usize>) {
        self.0.borrow_mut().push(*record);
    }
}

/// Replays `experiment` with `serving` (extra YAML for the model's `serving:`, empty
/// for the defaults) and compares it stage by stage.
pub fn check(experiment: &Experiment, serving: &str) -> Result<ExperimentCheck, CalibrateError> {
    let started = std::time::Instant::now();
    let text = experiment.replay_scenario(serving)?;
    let file = experiment.dir.join("replay.yaml").display().to_string();
    let scenario =
        inferscale_scenario::parse(&text, &file).map_err(|source| CalibrateError::Scenario {
            experiment: experiment.name.clone(),
            source,
        })?;
    let System::Llm(system) = &scenario.system else {
        unreachable!("a replay scenario is an LLM scenario");
    };
    let streams = RngStreams::new(scenario.seed, 0);
    let records = Rc::new(RefCell::new(Vec::new()));
    simulate_cluster_with(
        system.cluster.clone(),
        crate::runner::request_streams(system, &streams),
        &streams,
        None,
        ExecutorConfig::default(),
        Some(RequestLogging {
            fraction: 1.0,
            sink: Box::new(Collect(records.clone())),
        }),
    )
    .map_err(|source| CalibrateError::Run {
        experiment: experiment.name.clone(),
        source,
    })?;
    let records = records.take();
    let windows = experiment.stage_windows();
    let timeout = experiment.load.timeout_s;
    let stages = windows
        .iter()
        .zip(&experiment.stages)
        .zip(&experiment.load.stages)
        .enumerate()
        .map(|(k, ((&(from, to), measured), &(rate, _)))| {
            let first = k == 0;
            let sent: Vec<&RequestRecord> = records
                .iter()
                .filter(|r| {
                    let t = r.request.arrival.as_secs_f64();
                    (t > from || first) && t <= to + 1e-9
                })
                .collect();
            StageCheck {
                rate_per_s: rate,
                measured: measured.clone(),
                simulated: simulate_stage(&sent, timeout),
            }
        })
        .collect();
    Ok(ExperimentCheck {
        experiment: experiment.name.clone(),
        model: system.cluster.models[0].name.clone(),
        tp: experiment.server.tensor_parallelism,
        output_len: experiment.load.output_len,
        stages,
        wall_s: started.elapsed().as_secs_f64(),
    })
}

/// A stage's requests as inference-perf would report them.
fn simulate_stage(sent: &[&RequestRecord], timeout_s: f64) -> SimulatedStage {
    let mut ttft = Vec::new();
    let mut e2e = Vec::new();
    let (mut first_send, mut last_end) = (f64::INFINITY, f64::NEG_INFINITY);
    for r in sent {
        let arrival = r.request.arrival.as_secs_f64();
        first_send = first_send.min(arrival);
        let (RequestOutcome::Completed, Some(first), Some(end)) = (r.outcome, r.first_token, r.end)
        else {
            continue;
        };
        let latency = end.as_secs_f64() - arrival;
        if latency > timeout_s {
            continue;
        }
        last_end = last_end.max(end.as_secs_f64());
        ttft.push(first.as_secs_f64() - arrival);
        e2e.push(latency);
    }
    let successes = e2e.len() as u64;
    let pair = |mut v: Vec<f64>| {
        (!v.is_empty()).then(|| {
            v.sort_by(f64::total_cmp);
            (percentile(&v, 0.5), percentile(&v, 0.9))
        })
    };
    SimulatedStage {
        sent: sent.len() as u64,
        successes,
        throughput_rps: if successes > 0 && last_end > first_send {
            successes as f64 / (last_end - first_send)
        } else {
            0.0
        },
        ttft: pair(ttft),
        e2e: pair(e2e),
    }
}

/// The `p` quantile of sorted `v` by linear interpolation between order statistics
/// (numpy's default, which inference-perf's summaries use).
pub fn percentile(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - h.floor()) * (v[hi] - v[lo])
}

/// The table rows of `checks`.
pub fn rows(checks: &[ExperimentCheck]) -> Vec<CalibrationRow> {
    let mut rows = Vec::new();
    for c in checks {
        for (k, stage) in c.stages.iter().enumerate() {
            for metric in METRICS {
                let (measured, simulated) = stage.values(metric, c.output_len);
                rows.push(CalibrationRow {
                    experiment: c.experiment.clone(),
                    model: c.model.clone(),
                    tp: c.tp,
                    stage: k as u32,
                    rate_per_s: stage.rate_per_s,
                    kept_up: stage.measured.kept_up(),
                    metric: metric.to_owned(),
                    measured,
                    simulated,
                    relative_error: relative_error(measured, simulated),
                });
            }
        }
    }
    rows
}

/// Per metric, over the stages the measured server kept up with: the median and the
/// largest absolute relative error, and how many stages have one.
pub fn error_summary(rows: &[CalibrationRow]) -> Vec<(&'static str, f64, f64, usize)> {
    METRICS
        .iter()
        .filter(|&&m| m != "failure_share")
        .filter_map(|&metric| {
            let mut errors: Vec<f64> = rows
                .iter()
                .filter(|r| r.kept_up && r.metric == metric)
                .filter_map(|r| r.relative_error.map(f64::abs))
                .collect();
            if errors.is_empty() {
                return None;
            }
            errors.sort_by(f64::total_cmp);
            let n = errors.len();
            Some((metric, percentile(&errors, 0.5), errors[n - 1], n))
        })
        .collect()
}

/// The metrics a fit weighs: on the stages the measured server kept up with, TTFT
/// p50, TPOT and end-to-end p50 (the bounds a profile is held to).
pub const FITTED: [&str; 3] = ["ttft_p50_s", "tpot_s", "e2e_p50_s"];

/// The least-squares objective of a fit: the root mean square of
/// ln(simulated / measured) over the [`FITTED`] metrics of the stages the measured
/// server kept up with (a log error weighs 10% too fast as 10% too slow), and how
/// many values it covers.
pub fn fit_objective(rows: &[CalibrationRow]) -> (f64, usize) {
    let logs: Vec<f64> = rows
        .iter()
        .filter(|r| r.kept_up && FITTED.contains(&r.metric.as_str()))
        .filter_map(|r| match (r.measured, r.simulated) {
            (Some(m), Some(s)) if m > 0.0 && s > 0.0 => Some((s / m).ln()),
            _ => None,
        })
        .collect();
    let n = logs.len();
    let sum: f64 = logs.iter().map(|l| l * l).sum();
    ((sum / n.max(1) as f64).sqrt(), n)
}

/// The report a person reads: per experiment and stage, measured against simulated
/// with the relative error, then the error summary.
pub fn format_report(checks: &[ExperimentCheck], skipped: &[(String, String)]) -> String {
    let mut out = String::new();
    let pct = |e: Option<f64>| e.map_or("–".to_owned(), |e| format!("{:+.0}%", 100.0 * e));
    let ms = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{:.1}", 1e3 * v));
    let s = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.2}"));
    out.push_str(
        "TTFT and TPOT in ms, end-to-end in s, throughput in requests/s; each cell measured / simulated (error).\n\
         TPOT = (e2e p50 − TTFT p50) / (output − 1). Stages marked * are overload (requests failed).\n\n",
    );
    out.push_str(&format!(
        "{:<46} {:>5} {:>24} {:>24} {:>22} {:>22} {:>22} {:>14}\n",
        "experiment", "rate", "TTFT p50", "TTFT p90", "TPOT", "e2e p50", "throughput", "failed"
    ));
    for c in checks {
        for stage in &c.stages {
            let cell = |metric: &str, fmt: &dyn Fn(Option<f64>) -> String| {
                let (m, v) = stage.values(metric, c.output_len);
                format!("{} / {} ({})", fmt(m), fmt(v), pct(relative_error(m, v)))
            };
            let (mf, sf) = stage.values("failure_share", c.output_len);
            out.push_str(&format!(
                "{:<46} {:>4}{} {:>24} {:>24} {:>22} {:>22} {:>22} {:>14}\n",
                c.experiment,
                stage.rate_per_s,
                if stage.measured.kept_up() { " " } else { "*" },
                cell("ttft_p50_s", &ms),
                cell("ttft_p90_s", &ms),
                cell("tpot_s", &ms),
                cell("e2e_p50_s", &s),
                cell("throughput_rps", &s),
                format!(
                    "{:.0}% / {:.0}%",
                    100.0 * mf.unwrap_or(0.0),
                    100.0 * sf.unwrap_or(0.0)
                ),
            ));
        }
    }
    let summary = error_summary(&rows(checks));
    if !summary.is_empty() {
        out.push_str("\nAbsolute relative error over the stages the server kept up with:\n");
        out.push_str(&format!(
            "{:<16} {:>8} {:>8} {:>7}\n",
            "metric", "median", "worst", "stages"
        ));
        for (metric, median, worst, n) in summary {
            out.push_str(&format!(
                "{metric:<16} {:>7.1}% {:>7.1}% {n:>7}\n",
                100.0 * median,
                100.0 * worst
            ));
        }
    }
    let (rms, n) = fit_objective(&rows(checks));
    if n > 0 {
        out.push_str(&format!(
            "\nfit objective: rms of ln(simulated/measured) over {n} values (TTFT p50, TPOT, e2e p50): {rms:.4}\n"
        ));
    }
    for (name, why) in skipped {
        out.push_str(&format!("\nnot checked: {name}: {why}\n"));
    }
    out
}

/// The experiments checked, and those passed over with why (their names first).
pub type Checked = (Vec<ExperimentCheck>, Vec<(String, String)>);

/// Every experiment folder under `dir` (or `dir` itself), read, in folder order. A
/// folder that breaks the layout is an error.
pub fn read_all(dir: &Path) -> Result<Vec<Experiment>, CalibrateError> {
    Ok(Experiment::folders(dir)?
        .iter()
        .map(|f| Experiment::read(f))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Checks `experiments` in parallel: the checks in their order, and those not
/// checked with why (a model the catalog lacks).
pub fn check_experiments(
    experiments: &[Experiment],
    serving: &str,
) -> Result<Checked, CalibrateError> {
    use rayon::prelude::*;
    let results: Vec<_> = experiments
        .par_iter()
        .map(|e| (e, check(e, serving)))
        .collect();
    let mut checks = Vec::new();
    let mut skipped = Vec::new();
    for (experiment, result) in results {
        match result {
            Ok(c) => checks.push(c),
            Err(CalibrateError::Experiment(e @ ExperimentError::Unsupported { .. })) => {
                skipped.push((experiment.name.clone(), e.to_string()));
            }
            Err(e) => return Err(e),
        }
    }
    Ok((checks, skipped))
}

/// Checks every experiment folder under `dir` (or `dir` itself): [`read_all`] then
/// [`check_experiments`].
pub fn check_all(dir: &Path, serving: &str) -> Result<Checked, CalibrateError> {
    check_experiments(&read_all(dir)?, serving)
}
