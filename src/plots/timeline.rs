//! `timeline-<group>-<model>` figures: one run's load and forecast, replicas (with
//! spot reclaims), TTFT and TPOT over time, the warm-up shaded; and the mean
//! replicas over time per group.

use std::collections::{BTreeMap, HashSet};

use inferscale_plot::{Axis, Chart, Figure, Mark, Series};
use inferscale_report::ParquetTable;

use super::{Columns, Group};

/// What the figures need from the scenario stored with the results: the warm-up and
/// each model's SLA targets (of the sweep's base; its points may change them).
#[derive(Clone, Debug, Default)]
pub(super) struct ScenarioFacts {
    /// End of the warm-up, seconds (0: none).
    pub warmup_s: f64,
    /// Per model: its SLA's TTFT, TPOT and end-to-end targets, seconds.
    pub targets: BTreeMap<String, [Option<f64>; 3]>,
}

impl ScenarioFacts {
    /// The facts of the scenario text stored in `table` (none if it has none or it
    /// no longer parses).
    pub(super) fn of(table: &ParquetTable) -> Self {
        let Some(text) = table.scenario_text() else {
            return Self::default();
        };
        let Ok(scenario) = inferscale_scenario::parse(text, "results") else {
            return Self::default();
        };
        let secs = |d: Option<inferscale_engine::SimDuration>| d.map(|d| d.as_secs_f64());
        match &scenario.system {
            inferscale_scenario::System::Llm(system) => ScenarioFacts {
                warmup_s: system.cluster.warmup.as_secs_f64(),
                targets: system
                    .cluster
                    .models
                    .iter()
                    .map(|m| {
                        (
                            m.name.clone(),
                            [secs(m.sla.ttft), secs(m.sla.tpot), secs(m.sla.e2e)],
                        )
                    })
                    .collect(),
            },
            inferscale_scenario::System::Generic(station) => ScenarioFacts {
                warmup_s: station.warmup.as_secs_f64(),
                targets: BTreeMap::new(),
            },
        }
    }

    /// `model`'s target number `k` (0 TTFT, 1 TPOT, 2 end-to-end); `None` for the
    /// model: the first model with one.
    pub(super) fn target(&self, model: Option<&str>, k: usize) -> Option<f64> {
        match model {
            Some(m) => self.targets.get(m).and_then(|t| t[k]),
            None => self.targets.values().find_map(|t| t[k]),
        }
    }
}

/// The timeline figures (one per model) of run `run_id`: `ts` its time series,
/// `fleet` the fleet table (for spot reclaims) if there is one.
pub(super) fn timeline_figures(
    ts: &Columns,
    fleet: Option<&Columns>,
    run_id: &str,
    title: &str,
    facts: &ScenarioFacts,
) -> anyhow::Result<Vec<(String, Figure)>> {
    let ids = ts.text("run_id")?;
    let models = ts.text("model")?;
    let node_types = ts.text("node_type")?;
    let time = ts.f64("time_s")?;
    let (arrivals, ready) = (ts.f64("arrivals")?, ts.f64("replicas_ready")?);
    let interval = ts.f64("interval_s")?;
    let (provisioning, loading) = (
        ts.f64("replicas_provisioning")?,
        ts.f64("replicas_loading")?,
    );
    let ttft = ts.f64("ttft_p99_s")?;
    // Results written before the column existed have no TPOT panel.
    let tpot = ts.f64("tpot_p99_s").ok();
    let forecast = ts.f64("forecast_per_s").ok();
    let reclaims = match fleet {
        Some(f) => reclaim_times(f, run_id)?,
        None => BTreeMap::new(),
    };
    let mut names: Vec<&String> = models.iter().collect();
    names.sort();
    names.dedup();
    let mut figures = Vec::new();
    for model in names {
        let rows: Vec<usize> = (0..models.len())
            .filter(|&i| &models[i] == model && ids[i] == run_id)
            .collect();
        let Some(&first) = rows.first() else {
            continue;
        };
        let t = |i: usize| time[i] / 60.0;
        // Every panel spans the whole run, whatever its data.
        let end = rows.iter().map(|&i| t(i)).fold(0.0, f64::max);
        let time_axis = || Axis {
            range: Some((0.0, end)),
            ..Axis::linear("time (min)")
        };
        // Every panel: the warm-up shaded (named once, on the replicas panel, which
        // every model has).
        let warmup = |named: bool| {
            (facts.warmup_s > 0.0).then(|| {
                Series::new(
                    if named { "warm-up" } else { "" },
                    Vec::new(),
                    Mark::Span(0.0, facts.warmup_s / 60.0),
                )
            })
        };
        let mut load: Vec<Series> = warmup(false).into_iter().collect();
        load.push(Series::new(
            "arrivals",
            rows.iter()
                .filter(|&&i| interval[i] > 0.0)
                .map(|&i| (t(i), arrivals[i] / interval[i]))
                .collect(),
            Mark::Line,
        ));
        if let Some(f) = &forecast {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|&&i| f[i].is_finite())
                .map(|&i| (t(i), f[i]))
                .collect();
            if !points.is_empty() {
                load.push(Series::new("forecast", points, Mark::Dashed));
            }
        }
        let mut capacity: Vec<Series> = warmup(true).into_iter().collect();
        capacity.push(Series::new(
            "ready",
            rows.iter().map(|&i| (t(i), ready[i])).collect(),
            Mark::Line,
        ));
        capacity.push(Series::new(
            "booting or loading",
            rows.iter()
                .map(|&i| (t(i), provisioning[i] + loading[i]))
                .collect(),
            Mark::Dashed,
        ));
        if let Some(at) = reclaims.get(&node_types[first])
            && !at.is_empty()
        {
            capacity.push(Series::new(
                "spot reclaim notice",
                Vec::new(),
                Mark::Events(at.iter().map(|s| s / 60.0).collect()),
            ));
        }
        let quantile = |values: &[f64], name: &str, target: Option<f64>| {
            let mut series: Vec<Series> = warmup(false).into_iter().collect();
            series.push(Series::new(
                name,
                rows.iter()
                    .filter(|&&i| values[i].is_finite())
                    .map(|&i| (t(i), values[i]))
                    .collect(),
                Mark::Points,
            ));
            if let Some(target) = target {
                series.push(Series::new("SLA", Vec::new(), Mark::HLine(target)));
            }
            series
        };
        // A variant (`variant_of:`) has replicas but its base model's requests: its
        // load and latency panels would be empty.
        let has_load =
            rows.iter().any(|&i| arrivals[i] > 0.0) || load.iter().any(|s| s.mark == Mark::Dashed);
        let mut charts = vec![
            Chart {
                title: format!("{title} · {model}: load (forecast drawn at the time it forecasts)"),
                x: time_axis(),
                y: Axis::linear("requests per second"),
                series: load,
            },
            Chart {
                title: format!("{model}: replicas"),
                x: time_axis(),
                y: Axis::count("replicas"),
                series: capacity,
            },
            Chart {
                title: format!("{model}: time to first token"),
                x: time_axis(),
                y: Axis::log("seconds"),
                series: quantile(&ttft, "TTFT p99 per interval", facts.target(Some(model), 0)),
            },
        ];
        if !has_load {
            charts.remove(0);
        }
        if let Some(tpot) = &tpot
            && rows.iter().any(|&i| tpot[i].is_finite())
        {
            charts.push(Chart {
                title: format!("{model}: time per output token"),
                x: time_axis(),
                y: Axis::log("seconds"),
                series: quantile(tpot, "TPOT p99 per interval", facts.target(Some(model), 1)),
            });
        }
        // Panels with no data point (no first token in the run) are left out.
        charts.retain(|c| {
            c.series
                .iter()
                .any(|s| inferscale_plot::is_data(&s.mark) && !s.points.is_empty())
        });
        figures.push((model.clone(), Figure::new(charts)));
    }
    Ok(figures)
}

/// Per node type, when run `run_id`'s spot nodes got their reclaim notices: the end
/// of each interval with any, seconds, once per notice. Empty for tables written
/// before the column existed.
fn reclaim_times(fleet: &Columns, run_id: &str) -> anyhow::Result<BTreeMap<String, Vec<f64>>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let Ok(count) = fleet.f64("reclaims") else {
        return Ok(out);
    };
    let ids = fleet.text("run_id")?;
    let node_types = fleet.text("node_type")?;
    let time = fleet.f64("time_s")?;
    for i in (0..ids.len()).filter(|&i| ids[i] == run_id) {
        let at = out.entry(node_types[i].clone()).or_default();
        for _ in 0..count[i].max(0.0) as u64 {
            at.push(time[i]);
        }
    }
    Ok(out)
}

/// Replicas provisioning, loading or ready (draining excluded) over time, summed
/// over models, mean over the group's runs.
pub(super) fn replicas_over_time(ts: &Columns, group: &Group) -> anyhow::Result<Vec<(f64, f64)>> {
    let ids = ts.text("run_id")?;
    let time = ts.f64("time_s")?;
    let (ready, draining) = (ts.f64("replicas_ready")?, ts.f64("replicas_draining")?);
    let (provisioning, loading) = (
        ts.f64("replicas_provisioning")?,
        ts.f64("replicas_loading")?,
    );
    let mine: HashSet<&str> = group.runs.iter().map(|(id, _)| id.as_str()).collect();
    let mut by_time: BTreeMap<u64, f64> = BTreeMap::new();
    for i in 0..time.len() {
        if !mine.contains(ids[i].as_str()) {
            continue;
        }
        let asked = ready[i] - draining[i] + provisioning[i] + loading[i];
        *by_time.entry(time[i].round() as u64).or_default() += asked;
    }
    let n = group.runs.len().max(1) as f64;
    Ok(by_time
        .into_iter()
        .map(|(t, total)| (t as f64 / 60.0, total / n))
        .collect())
}
