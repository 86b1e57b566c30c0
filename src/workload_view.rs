//! `inferscale workload`: what a scenario's load looks like before it is simulated —
//! the expected and the sampled arrival rate over time, and the token-count
//! distributions — printed as a table and drawn as a figure.
//!
//! The samples come from the same random streams as replication 0 of `inferscale run`,
//! so the figure shows exactly the requests that run will serve.

use inferscale_engine::{RngStreams, SimRng};
use inferscale_plot::{Axis, Chart, Figure, Mark, Series};
use inferscale_scenario::{RequestSource, Scenario, System};
use rand::Rng;

/// Token counts kept per workload for the size distributions (a uniform reservoir).
const RESERVOIR: usize = 200_000;

/// What one workload entry produced over the scenario's duration.
#[derive(Clone, Debug)]
pub struct WorkloadView {
    /// `workload[i] → model`.
    pub label: String,
    /// Where requests come from, in words.
    pub source: String,
    /// Requests generated over the duration.
    pub requests: u64,
    /// Expected mean rate per second over the duration (`None` for traces, whose rate
    /// is what they hold).
    pub expected_mean_per_s: Option<f64>,
    /// Sampled requests per second in each bin.
    pub sampled_per_s: Vec<f64>,
    /// Expected mean rate per second over each bin (empty for traces).
    pub expected_per_s: Vec<f64>,
    /// Input tokens of a uniform sample of the requests.
    pub input_tokens: Vec<f64>,
    /// Output tokens of the same requests.
    pub output_tokens: Vec<f64>,
}

/// The views of every workload entry, with the bin width in seconds.
#[derive(Clone, Debug)]
pub struct View {
    /// Bin width, seconds.
    pub bin_s: f64,
    /// One per workload entry.
    pub workloads: Vec<WorkloadView>,
}

/// Generates replication 0's requests of every workload of `scenario` and bins them
/// into `bins` windows over its duration.
pub fn view(scenario: &Scenario, bins: usize) -> View {
    let horizon_s = scenario.duration.as_secs_f64();
    let bins = bins.max(1);
    let bin_s = horizon_s / bins as f64;
    let streams = RngStreams::new(scenario.seed, 0);
    let mut reservoir_rng = streams.stream("describe");
    let workloads = match &scenario.system {
        System::Generic(station) => {
            let mut arrivals = station.arrivals.clone();
            let mut rng = streams.stream("arrivals");
            let mut counts = vec![0u64; bins];
            let mut now = inferscale_engine::SimTime::ZERO;
            let mut requests = 0;
            while let Some(t) = arrivals.next_after(now, &mut rng) {
                if t.as_secs_f64() > horizon_s {
                    break;
                }
                now = t;
                requests += 1;
                counts[bin_of(t.as_secs_f64(), bin_s, bins)] += 1;
            }
            vec![WorkloadView {
                label: "arrivals".into(),
                source: "arrival process".into(),
                requests,
                expected_mean_per_s: Some(station.arrivals.mean_rate_over(horizon_s)),
                sampled_per_s: counts.iter().map(|&c| c as f64 / bin_s).collect(),
                expected_per_s: bin_means(&station.arrivals, bins, bin_s),
                input_tokens: Vec::new(),
                output_tokens: Vec::new(),
            }]
        }
        System::Llm(system) => {
            let streams_of = crate::runner::request_streams(system, &streams);
            system
                .workloads
                .iter()
                .zip(streams_of)
                .enumerate()
                .map(|(i, (w, stream))| {
                    let model = &system.cluster.models[w.model];
                    let mut counts = vec![0u64; bins];
                    let (mut input, mut output) = (Vec::new(), Vec::new());
                    let mut requests = 0u64;
                    let mut source = stream.requests;
                    while let Some(r) = source.next_request() {
                        let t = r.arrival.as_secs_f64();
                        counts[bin_of(t, bin_s, bins)] += 1;
                        requests += 1;
                        keep_sample(
                            &mut input,
                            &mut output,
                            (r.prompt, r.output),
                            requests,
                            &mut reservoir_rng,
                        );
                    }
                    let (source, expected_mean, expected) = match &w.source {
                        RequestSource::Synthetic { arrivals, .. } => (
                            "synthetic".to_string(),
                            Some(arrivals.mean_rate_over(horizon_s)),
                            bin_means(arrivals, bins, bin_s),
                        ),
                        RequestSource::Trace { path, window, .. } => (
                            format!(
                                "trace {} ({} requests in its window)",
                                path.file_name()
                                    .map_or_else(String::new, |n| n.to_string_lossy().into()),
                                window.requests
                            ),
                            None,
                            Vec::new(),
                        ),
                    };
                    WorkloadView {
                        label: format!("workload[{i}] → {}", model.name),
                        source,
                        requests,
                        expected_mean_per_s: expected_mean,
                        sampled_per_s: counts.iter().map(|&c| c as f64 / bin_s).collect(),
                        expected_per_s: expected,
                        input_tokens: input,
                        output_tokens: output,
                    }
                })
                .collect()
        }
    };
    View { bin_s, workloads }
}

/// The expected mean rate over each bin (not the rate at its midpoint, which would
/// miss spikes narrower than a bin).
fn bin_means(arrivals: &inferscale_workload::ArrivalProcess, bins: usize, bin_s: f64) -> Vec<f64> {
    (0..bins)
        .map(|b| arrivals.expected_count(b as f64 * bin_s, (b + 1) as f64 * bin_s) / bin_s)
        .collect()
}

fn bin_of(t: f64, bin_s: f64, bins: usize) -> usize {
    ((t / bin_s) as usize).min(bins - 1)
}

/// Algorithm R: after `seen` requests, each is in the sample with probability
/// RESERVOIR / seen.
fn keep_sample(
    input: &mut Vec<f64>,
    output: &mut Vec<f64>,
    (i, o): (u32, u32),
    seen: u64,
    rng: &mut SimRng,
) {
    if input.len() < RESERVOIR {
        input.push(f64::from(i));
        output.push(f64::from(o));
    } else {
        let j = ((u128::from(rng.next_u64()) * u128::from(seen)) >> 64) as usize;
        if j < RESERVOIR {
            input[j] = f64::from(i);
            output[j] = f64::from(o);
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// The table `inferscale workload` prints.
pub fn format_view(view: &View) -> String {
    let mut out = String::new();
    for w in &view.workloads {
        let horizon = view.bin_s * w.sampled_per_s.len() as f64;
        let sampled_mean = w.requests as f64 / horizon.max(f64::MIN_POSITIVE);
        let peak = w.sampled_per_s.iter().copied().fold(0.0, f64::max);
        out.push_str(&format!("{} ({})\n", w.label, w.source));
        out.push_str(&format!(
            "  requests {:>12}   mean rate {:>10.3}/s sampled{}   peak {:.3}/s (bins of {})\n",
            w.requests,
            sampled_mean,
            w.expected_mean_per_s
                .map(|e| format!(", {e:.3}/s expected"))
                .unwrap_or_default(),
            peak,
            human_duration(view.bin_s),
        ));
        for (name, values) in [("input", &w.input_tokens), ("output", &w.output_tokens)] {
            if values.is_empty() {
                continue;
            }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
            out.push_str(&format!(
                "  {name:<6} tokens  mean {mean:>9.1}   p50 {:>7}   p90 {:>7}   p99 {:>7}   max {:>7}\n",
                quantile(&sorted, 0.5),
                quantile(&sorted, 0.9),
                quantile(&sorted, 0.99),
                quantile(&sorted, 1.0),
            ));
        }
    }
    out
}

fn human_duration(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.3} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.3} min", s / 60.0)
    } else {
        format!("{s:.3} s")
    }
}

/// The figure: arrival rate over time (sampled solid, expected dashed) and the CDFs
/// of input and output tokens (log scale).
pub fn figure(scenario_name: &str, view: &View) -> Figure {
    let horizon = view.bin_s * view.workloads.first().map_or(0, |w| w.sampled_per_s.len()) as f64;
    let (unit, scale) = if horizon >= 2.0 * 86_400.0 {
        ("days", 86_400.0)
    } else if horizon >= 2.0 * 3600.0 {
        ("hours", 3600.0)
    } else {
        ("minutes", 60.0)
    };
    let mut rate = Vec::new();
    for w in &view.workloads {
        let at = |b: usize| (b as f64 + 0.5) * view.bin_s / scale;
        rate.push(Series::new(
            format!("{} sampled", w.label),
            w.sampled_per_s
                .iter()
                .enumerate()
                .map(|(b, &r)| (at(b), r))
                .collect(),
            Mark::Line,
        ));
        if !w.expected_per_s.is_empty() {
            rate.push(Series::new(
                format!("{} expected", w.label),
                w.expected_per_s
                    .iter()
                    .enumerate()
                    .map(|(b, &r)| (at(b), r))
                    .collect(),
                Mark::Dashed,
            ));
        }
    }
    let mut charts = vec![Chart {
        title: format!("{scenario_name}: arrival rate"),
        x: Axis::linear(format!("time ({unit})")),
        y: Axis::linear("requests per second"),
        series: rate,
    }];
    for (what, pick) in [("input tokens", 0usize), ("output tokens", 1usize)] {
        let series: Vec<Series> = view
            .workloads
            .iter()
            .filter(|w| !w.input_tokens.is_empty())
            .map(|w| {
                let mut values = if pick == 0 {
                    w.input_tokens.clone()
                } else {
                    w.output_tokens.clone()
                };
                Series::new(
                    w.label.clone(),
                    inferscale_plot::cdf_points(&mut values, 400),
                    Mark::Line,
                )
            })
            .collect();
        if !series.is_empty() {
            charts.push(Chart {
                title: format!("{what} per request (CDF)"),
                x: Axis::log(what),
                y: Axis {
                    label: "fraction of requests ≤ x".into(),
                    range: Some((0.0, 1.0)),
                    ..Axis::default()
                },
                series,
            });
        }
    }
    Figure::new(charts)
}
