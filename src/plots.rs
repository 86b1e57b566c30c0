//! `inferscale plot`: figures redrawn from results directories alone (their Parquet
//! files and the scenario text stored in them).
//!
//! - per directory with a time series: a timeline of replication 0 per model —
//!   arrival rate and the loop's forecast, replicas ready and starting, and the
//!   interval's TTFT p99 against the model's SLA;
//! - across directories (one per policy, say): mean cost against mean SLA attainment
//!   with 95% confidence intervals, the cost–SLA Pareto front drawn through the
//!   non-dominated points.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use inferscale_plot::{Axis, Chart, Figure, Mark, Series};
use inferscale_report::{ParquetTable, read_parquet, stats::mean_ci};

/// One results directory summarised for the cost–SLA chart.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyPoint {
    /// The scenario name (the directory's runs).
    pub name: String,
    /// Mean cost, dollars, and its 95% interval.
    pub cost: (f64, f64, f64),
    /// Mean SLA attainment and its 95% interval.
    pub sla: (f64, f64, f64),
}

/// Indices of the points no other point beats on both cost (lower) and SLA
/// attainment (higher), in increasing cost.
pub fn pareto_front(points: &[PolicyPoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .cost
            .0
            .total_cmp(&points[b].cost.0)
            .then(points[b].sla.0.total_cmp(&points[a].sla.0))
    });
    let mut front = Vec::new();
    let mut best_sla = f64::NEG_INFINITY;
    for i in order {
        if points[i].sla.0 > best_sla {
            best_sla = points[i].sla.0;
            front.push(i);
        }
    }
    front
}

fn summary(dir: &Path) -> anyhow::Result<PolicyPoint> {
    let path = dir.join("runs.parquet");
    let runs = read_parquet(&path)?;
    let column = |name: &str| -> anyhow::Result<Vec<f64>> {
        Ok(runs
            .f64_column(name)
            .with_context(|| format!("`{}` has no `{name}` column", path.display()))?
            .into_iter()
            .flatten()
            .filter(|v| v.is_finite())
            .collect())
    };
    let ci = |v: &[f64]| {
        let c = mean_ci(v, 0.95);
        let (lo, hi) = if c.half_width.is_finite() {
            (c.low(), c.high())
        } else {
            (c.mean, c.mean)
        };
        (c.mean, lo, hi)
    };
    let name = runs
        .string_column("scenario")
        .and_then(|v| v.into_iter().next())
        .unwrap_or_else(|| dir.display().to_string());
    Ok(PolicyPoint {
        name,
        cost: ci(&column("cost_usd")?),
        sla: ci(&column("sla_attainment")?),
    })
}

fn pareto_figure(points: &[PolicyPoint]) -> Figure {
    let mut series: Vec<Series> = points
        .iter()
        .map(|p| {
            Series::new(
                p.name.clone(),
                vec![(p.cost.0, p.sla.0)],
                Mark::ErrorBars(vec![(p.sla.1, p.sla.2)]),
            )
        })
        .collect();
    let front: Vec<(f64, f64)> = pareto_front(points)
        .into_iter()
        .map(|i| (points[i].cost.0, points[i].sla.0))
        .collect();
    // Ringed points and a dashed line through them (a single point is still ringed).
    series.push(Series::new("Pareto front", front.clone(), Mark::Dashed));
    series.push(Series::new("", front, Mark::Points));
    Figure::new(vec![Chart {
        title: "cost against SLA attainment (mean, 95% CI)".into(),
        x: Axis::linear("cost per run ($)"),
        y: Axis::linear("SLA attainment"),
        series,
    }])
}

/// The SLA's TTFT target of `model`, read from the scenario text in the file.
fn ttft_target(table: &ParquetTable, model: &str) -> Option<f64> {
    let scenario = inferscale_scenario::parse(table.scenario_text()?, "results").ok()?;
    let inferscale_scenario::System::Llm(system) = &scenario.system else {
        return None;
    };
    let d = system.cluster.models.iter().find(|m| m.name == model)?;
    d.sla.ttft.map(|t| t.as_secs_f64())
}

fn timeline_figures(dir: &Path) -> anyhow::Result<Vec<(String, Figure)>> {
    let path = dir.join("timeseries.parquet");
    let table = read_parquet(&path)?;
    let need_f = |name: &str| {
        table
            .f64_column(name)
            .with_context(|| format!("`{}` has no `{name}` column", path.display()))
    };
    let models = table
        .string_column("model")
        .with_context(|| format!("`{}` has no `model` column", path.display()))?;
    let (replication, time) = (need_f("replication")?, need_f("time_s")?);
    let (arrivals, ready) = (need_f("arrivals")?, need_f("replicas_ready")?);
    let (provisioning, loading) = (
        need_f("replicas_provisioning")?,
        need_f("replicas_loading")?,
    );
    let ttft = need_f("ttft_p99_s")?;
    let forecast = table.f64_column("forecast_per_s");
    let mut names: Vec<String> = models.clone();
    names.dedup();
    names.sort();
    names.dedup();
    let mut figures = Vec::new();
    for model in names {
        let rows: Vec<usize> = (0..models.len())
            .filter(|&i| models[i] == model && replication[i] == Some(0.0))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let t = |i: usize| time[i].unwrap_or(0.0) / 60.0;
        let interval = rows
            .windows(2)
            .map(|w| time[w[1]].unwrap_or(0.0) - time[w[0]].unwrap_or(0.0))
            .find(|d| *d > 0.0)
            .unwrap_or(60.0);
        let mut load = vec![Series::new(
            "arrivals",
            rows.iter()
                .map(|&i| (t(i), arrivals[i].unwrap_or(0.0) / interval))
                .collect(),
            Mark::Line,
        )];
        if let Some(f) = &forecast {
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|&i| f[i].map(|v| (t(i), v)))
                .collect();
            if !points.is_empty() {
                load.push(Series::new("forecast", points, Mark::Dashed));
            }
        }
        let capacity = vec![
            Series::new(
                "ready",
                rows.iter()
                    .map(|&i| (t(i), ready[i].unwrap_or(0.0)))
                    .collect(),
                Mark::Line,
            ),
            Series::new(
                "booting or loading",
                rows.iter()
                    .map(|&i| {
                        (
                            t(i),
                            provisioning[i].unwrap_or(0.0) + loading[i].unwrap_or(0.0),
                        )
                    })
                    .collect(),
                Mark::Dashed,
            ),
        ];
        let mut latency = vec![Series::new(
            "TTFT p99 per interval",
            rows.iter()
                .filter_map(|&i| ttft[i].map(|v| (t(i), v)))
                .collect(),
            Mark::Points,
        )];
        if let Some(target) = ttft_target(&table, &model) {
            latency.push(Series::new("SLA", Vec::new(), Mark::HLine(target)));
        }
        let figure = Figure::new(vec![
            Chart {
                title: format!("{model}: load (replication 0)"),
                x: Axis::linear("time (min)"),
                y: Axis::linear("requests per second"),
                series: load,
            },
            Chart {
                title: format!("{model}: replicas"),
                x: Axis::linear("time (min)"),
                y: Axis::linear("replicas"),
                series: capacity,
            },
            Chart {
                title: format!("{model}: time to first token"),
                x: Axis::linear("time (min)"),
                y: Axis::log("seconds"),
                series: latency,
            },
        ]);
        figures.push((model, figure));
    }
    Ok(figures)
}

/// Replicas provisioning, loading or ready (draining excluded) over time in
/// replication 0, summed over models; `None` without a time series.
fn replicas_over_time(dir: &Path) -> anyhow::Result<Option<Vec<(f64, f64)>>> {
    let path = dir.join("timeseries.parquet");
    if !path.exists() {
        return Ok(None);
    }
    let table = read_parquet(&path)?;
    let column = |name: &str| {
        table
            .f64_column(name)
            .with_context(|| format!("`{}` has no `{name}` column", path.display()))
    };
    let (replication, time) = (column("replication")?, column("time_s")?);
    let (ready, draining) = (column("replicas_ready")?, column("replicas_draining")?);
    let (provisioning, loading) = (
        column("replicas_provisioning")?,
        column("replicas_loading")?,
    );
    let mut by_time: std::collections::BTreeMap<u64, f64> = std::collections::BTreeMap::new();
    for i in 0..time.len() {
        if replication[i] != Some(0.0) {
            continue;
        }
        let v = |c: &[Option<f64>]| c[i].unwrap_or(0.0);
        let asked = v(&ready) - v(&draining) + v(&provisioning) + v(&loading);
        *by_time
            .entry(time[i].unwrap_or(0.0).round() as u64)
            .or_default() += asked;
    }
    Ok(Some(
        by_time
            .into_iter()
            .map(|(t, n)| (t as f64 / 60.0, n))
            .collect(),
    ))
}

/// Draws every figure the results in `dirs` allow into `out` (PNG and SVG), and
/// returns the files written and the names on the cost–SLA Pareto front.
pub fn plot_results(dirs: &[PathBuf], out: &Path) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    std::fs::create_dir_all(out).with_context(|| format!("creating `{}`", out.display()))?;
    let mut written = Vec::new();
    let mut draw = |name: String, figure: &Figure| -> anyhow::Result<()> {
        for ext in ["png", "svg"] {
            let path = out.join(format!("{name}.{ext}"));
            figure.draw(&path)?;
            written.push(path);
        }
        Ok(())
    };
    let mut points = Vec::new();
    for dir in dirs {
        points.push(summary(dir)?);
        if dir.join("timeseries.parquet").exists() {
            let run = points.last().map_or_else(String::new, |p| p.name.clone());
            for (model, figure) in timeline_figures(dir)? {
                draw(format!("timeline-{run}-{model}"), &figure)?;
            }
        }
    }
    draw("cost-vs-sla".into(), &pareto_figure(&points))?;
    if dirs.len() > 1 {
        let mut series = Vec::new();
        for (dir, point) in dirs.iter().zip(&points) {
            if let Some(line) = replicas_over_time(dir)? {
                series.push(Series::new(point.name.clone(), line, Mark::Line));
            }
        }
        if !series.is_empty() {
            let figure = Figure::new(vec![Chart {
                title: "replicas asked for over time (replication 0, all models)".into(),
                x: Axis::linear("time (min)"),
                y: Axis::linear("replicas"),
                series,
            }]);
            draw("replicas".into(), &figure)?;
        }
    }
    let front = pareto_front(&points)
        .into_iter()
        .map(|i| points[i].name.clone())
        .collect();
    Ok((written, front))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, cost: f64, sla: f64) -> PolicyPoint {
        PolicyPoint {
            name: name.into(),
            cost: (cost, cost, cost),
            sla: (sla, sla, sla),
        }
    }

    #[test]
    fn the_front_keeps_only_undominated_points() {
        let points = [
            p("a", 5.0, 0.90),
            p("b", 4.0, 0.95), // beats a on both
            p("c", 6.0, 0.99),
            p("d", 7.0, 0.98), // beaten by c
            p("e", 3.0, 0.80),
        ];
        let front: Vec<&str> = pareto_front(&points)
            .into_iter()
            .map(|i| points[i].name.as_str())
            .collect();
        assert_eq!(front, ["e", "b", "c"]);
    }
}
