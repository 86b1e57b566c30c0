//! `inferscale plot`: figures redrawn from results directories alone (their Parquet
//! tables and the scenario text stored in them).
//!
//! The unit of comparison is a *group*: one sweep point of one directory (a file
//! without a sweep is one point, named by its scenario). The figures:
//!
//! - `timeline-<group>-<model>`: for selected runs (replication 0 of each group by
//!   default), arrival rate and the loop's forecast, replicas ready and starting, and
//!   the interval's TTFT p99 against the model's SLA;
//! - `cost-vs-sla`: mean cost against mean SLA attainment per group with 95%
//!   confidence intervals, the Pareto front drawn through the non-dominated groups;
//! - `latency-cdf`: the CDF of TTFT and end-to-end latency per group, pooled over its
//!   replications (response time for generic models), with the SLA target;
//! - `replicas`: replicas asked for over time per group, mean over replications;
//! - `param-<column>`: for a sweep over a numeric parameter, cost and SLA attainment
//!   against it, one line per setting of the other parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use inferscale_plot::{Axis, Chart, Figure, Mark, Series};
use inferscale_report::stats::{mean_ci, pareto_front};
use inferscale_report::{ParquetTable, ResultsDir};

/// Most groups drawn on one chart before only the Pareto front's are kept (legends
/// stop being readable).
const MAX_GROUPS_PER_CHART: usize = 12;

/// One sweep point of one results directory, summarised for the cost–SLA chart.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyPoint {
    /// Its name in legends and file names.
    pub name: String,
    /// Mean cost, dollars, and its 95% interval.
    pub cost: (f64, f64, f64),
    /// Mean SLA attainment and its 95% interval.
    pub sla: (f64, f64, f64),
}

/// A group's rows in its directory's tables.
struct Group {
    dir: usize,
    /// Its point's label.
    label: String,
    /// Its parameters as `(column, numeric value if any, text)`, from its first run.
    params: Vec<(String, Option<f64>, String)>,
    name: String,
    /// Its runs: `(run_id, replication)`.
    runs: Vec<(String, u64)>,
}

/// One parameter column of a runs table: numeric values where it is numeric, and
/// text for labels.
struct ParamValues {
    name: String,
    numeric: Option<Vec<Option<f64>>>,
    text: Vec<String>,
}

/// A table with column getters that say which file lacks what.
struct Columns {
    table: ParquetTable,
    what: String,
}

impl Columns {
    fn read(dir: &ResultsDir, table: &str) -> anyhow::Result<Option<Columns>> {
        Ok(dir.read_table(table)?.map(|t| Columns {
            table: t,
            what: format!("{table} table in `{}`", dir.root().display()),
        }))
    }

    fn f64(&self, name: &str) -> anyhow::Result<Vec<f64>> {
        Ok(self
            .table
            .f64_column(name)
            .with_context(|| format!("the {} has no `{name}` column", self.what))?
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    }

    fn text(&self, name: &str) -> anyhow::Result<Vec<String>> {
        self.table
            .string_column(name)
            .with_context(|| format!("the {} has no `{name}` column", self.what))
    }
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.trim_matches('_').to_owned()
}

fn ci(values: &[f64]) -> (f64, f64, f64) {
    let c = mean_ci(values, 0.95);
    if c.half_width.is_finite() {
        (c.mean, c.low(), c.high())
    } else {
        (c.mean, c.mean, c.mean)
    }
}

/// The groups of every directory, and their cost–SLA summaries.
fn groups(dirs: &[ResultsDir], runs: &[Columns]) -> anyhow::Result<(Vec<Group>, Vec<PolicyPoint>)> {
    let mut groups = Vec::new();
    let mut points = Vec::new();
    for (d, table) in runs.iter().enumerate() {
        let ids = table.text("run_id")?;
        let point_index = table.f64("point_index")?;
        let labels = table.text("point")?;
        let scenario = table.text("scenario")?;
        let replication = table.f64("replication")?;
        let cost = table.f64("cost_usd")?;
        let sla = table.f64("sla_attainment")?;
        let param_names = inferscale_report::Provenance::of_schema(&table.table.schema).params;
        let param_columns: Vec<ParamValues> = param_names
            .iter()
            .map(|name| {
                let numeric = table.table.f64_column(name);
                let text = table.table.string_column(name).unwrap_or_else(|| {
                    numeric
                        .iter()
                        .flatten()
                        .map(|v| v.map_or_else(String::new, |v| v.to_string()))
                        .collect()
                });
                ParamValues {
                    name: name.clone(),
                    numeric,
                    text,
                }
            })
            .collect();
        let mut by_point: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for (i, p) in point_index.iter().enumerate() {
            by_point.entry(*p as u64).or_default().push(i);
        }
        let single = by_point.len() == 1;
        for rows in by_point.into_values() {
            let first = rows[0];
            let name = match (single, dirs.len() > 1) {
                (true, _) => scenario[first].clone(),
                (false, false) => labels[first].clone(),
                (false, true) => format!("{}: {}", scenario[first], labels[first]),
            };
            let pick = |c: &[f64]| -> Vec<f64> {
                rows.iter()
                    .map(|&i| c[i])
                    .filter(|v| v.is_finite())
                    .collect()
            };
            points.push(PolicyPoint {
                name: name.clone(),
                cost: ci(&pick(&cost)),
                sla: ci(&pick(&sla)),
            });
            groups.push(Group {
                dir: d,
                label: labels[first].clone(),
                params: param_columns
                    .iter()
                    .map(|c| {
                        (
                            c.name.clone(),
                            c.numeric.as_ref().and_then(|v| v[first]),
                            c.text.get(first).cloned().unwrap_or_default(),
                        )
                    })
                    .collect(),
                name,
                runs: rows
                    .iter()
                    .map(|&i| (ids[i].clone(), replication[i] as u64))
                    .collect(),
            });
        }
    }
    // Groups named alike (the same scenario in two directories) get the directory.
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    for (g, p) in groups.iter_mut().zip(&mut points) {
        if names.iter().filter(|n| **n == g.name).count() > 1 {
            g.name = format!("{} ({})", g.name, dirs[g.dir].root().display());
            p.name = g.name.clone();
        }
    }
    Ok((groups, points))
}

fn pareto_of(points: &[PolicyPoint]) -> Vec<usize> {
    let usable: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].cost.0.is_finite() && points[i].sla.0.is_finite())
        .collect();
    let pairs: Vec<(f64, f64)> = usable
        .iter()
        .map(|&i| (points[i].cost.0, points[i].sla.0))
        .collect();
    pareto_front(&pairs)
        .into_iter()
        .map(|k| usable[k])
        .collect()
}

fn pareto_figure(points: &[PolicyPoint]) -> Figure {
    let front_idx = pareto_of(points);
    let mut series: Vec<Series> = points
        .iter()
        .filter(|p| p.cost.0.is_finite() && p.sla.0.is_finite())
        .map(|p| {
            Series::new(
                p.name.clone(),
                vec![(p.cost.0, p.sla.0)],
                Mark::CrossBars(vec![((p.cost.1, p.cost.2), (p.sla.1, p.sla.2))]),
            )
        })
        .collect();
    let front: Vec<(f64, f64)> = front_idx
        .into_iter()
        .map(|i| (points[i].cost.0, points[i].sla.0))
        .collect();
    // Ringed points and a dashed staircase through them in cost order: from each
    // point, right at its SLA attainment to the next one's cost, then up — the edge of
    // what some point achieves at each cost (a single point is still ringed).
    let mut by_cost = front.clone();
    by_cost.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut stairs = Vec::with_capacity(2 * by_cost.len());
    for (i, &(c, s)) in by_cost.iter().enumerate() {
        if i > 0 {
            stairs.push((c, by_cost[i - 1].1));
        }
        stairs.push((c, s));
    }
    series.push(Series::new("Pareto front", stairs, Mark::Dashed));
    series.push(Series::new("", front, Mark::Points));
    Figure::new(vec![Chart {
        title: "cost against SLA attainment (mean, 95% CI)".into(),
        x: Axis::linear("cost per run ($)"),
        y: Axis::share("SLA attainment"),
        series,
    }])
}

/// The SLA's TTFT target of `model` (the first model with one if `None`), read from
/// the scenario text stored in the table.
fn ttft_target(table: &ParquetTable, model: Option<&str>) -> Option<f64> {
    let text = table.scenario_text()?;
    // A sweep's base is a valid scenario (its points may change the SLA; the
    // figures show the base's).
    let scenario = inferscale_scenario::parse(text, "results").ok()?;
    let inferscale_scenario::System::Llm(system) = &scenario.system else {
        return None;
    };
    let d = system
        .cluster
        .models
        .iter()
        .filter(|m| model.is_none_or(|name| m.name == name))
        .find(|m| m.sla.ttft.is_some())?;
    d.sla.ttft.map(|t| t.as_secs_f64())
}

/// The timeline figures (one per model) of run `run_id` of a time series.
fn timeline_figures(
    ts: &Columns,
    run_id: &str,
    title: &str,
) -> anyhow::Result<Vec<(String, Figure)>> {
    let ids = ts.text("run_id")?;
    let models = ts.text("model")?;
    let time = ts.f64("time_s")?;
    let (arrivals, ready) = (ts.f64("arrivals")?, ts.f64("replicas_ready")?);
    let (provisioning, loading) = (
        ts.f64("replicas_provisioning")?,
        ts.f64("replicas_loading")?,
    );
    let ttft = ts.f64("ttft_p99_s")?;
    let forecast = ts.f64("forecast_per_s").ok();
    let mut names: Vec<&String> = models.iter().collect();
    names.sort();
    names.dedup();
    let mut figures = Vec::new();
    for model in names {
        let rows: Vec<usize> = (0..models.len())
            .filter(|&i| &models[i] == model && ids[i] == run_id)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let t = |i: usize| time[i] / 60.0;
        let interval = rows
            .windows(2)
            .map(|w| time[w[1]] - time[w[0]])
            .find(|d| *d > 0.0)
            .unwrap_or(60.0);
        let mut load = vec![Series::new(
            "arrivals",
            rows.iter()
                .map(|&i| (t(i), arrivals[i] / interval))
                .collect(),
            Mark::Line,
        )];
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
        let capacity = vec![
            Series::new(
                "ready",
                rows.iter().map(|&i| (t(i), ready[i])).collect(),
                Mark::Line,
            ),
            Series::new(
                "booting or loading",
                rows.iter()
                    .map(|&i| (t(i), provisioning[i] + loading[i]))
                    .collect(),
                Mark::Dashed,
            ),
        ];
        let mut latency = vec![Series::new(
            "TTFT p99 per interval",
            rows.iter()
                .filter(|&&i| ttft[i].is_finite())
                .map(|&i| (t(i), ttft[i]))
                .collect(),
            Mark::Points,
        )];
        if let Some(target) = ttft_target(&ts.table, Some(model)) {
            latency.push(Series::new("SLA", Vec::new(), Mark::HLine(target)));
        }
        let figure = Figure::new(vec![
            Chart {
                title: format!("{title} · {model}: load"),
                x: Axis::linear("time (min)"),
                y: Axis::linear("requests per second"),
                series: load,
            },
            Chart {
                title: format!("{model}: replicas"),
                x: Axis::linear("time (min)"),
                y: Axis::count("replicas"),
                series: capacity,
            },
            Chart {
                title: format!("{model}: time to first token"),
                x: Axis::linear("time (min)"),
                y: Axis::log("seconds"),
                series: latency,
            },
        ]);
        figures.push((model.clone(), figure));
    }
    Ok(figures)
}

/// Replicas provisioning, loading or ready (draining excluded) over time, summed
/// over models, mean over the group's runs.
fn replicas_over_time(ts: &Columns, group: &Group) -> anyhow::Result<Vec<(f64, f64)>> {
    let ids = ts.text("run_id")?;
    let time = ts.f64("time_s")?;
    let (ready, draining) = (ts.f64("replicas_ready")?, ts.f64("replicas_draining")?);
    let (provisioning, loading) = (
        ts.f64("replicas_provisioning")?,
        ts.f64("replicas_loading")?,
    );
    let mine: std::collections::HashSet<&str> =
        group.runs.iter().map(|(id, _)| id.as_str()).collect();
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

/// The pooled CDF of `metric` over the group's runs: `(seconds, fraction ≤)` at each
/// bucket bound.
fn latency_cdf(lat: &Columns, group: &Group, metric: &str) -> anyhow::Result<Vec<(f64, f64)>> {
    let ids = lat.text("run_id")?;
    let metrics = lat.text("metric")?;
    let upper = lat.f64("upper_s")?;
    let count = lat.f64("count")?;
    let mine: std::collections::HashSet<&str> =
        group.runs.iter().map(|(id, _)| id.as_str()).collect();
    let mut buckets: BTreeMap<u64, f64> = BTreeMap::new();
    for i in 0..ids.len() {
        if metrics[i] == metric && mine.contains(ids[i].as_str()) {
            // Bounds are the same in every run (a fixed log scale); key by nanoseconds.
            *buckets.entry((upper[i] * 1e9).round() as u64).or_default() += count[i];
        }
    }
    let total: f64 = buckets.values().sum();
    if total == 0.0 {
        return Ok(Vec::new());
    }
    let mut seen = 0.0;
    Ok(buckets
        .into_iter()
        .map(|(ns, c)| {
            seen += c;
            (ns as f64 / 1e9, seen / total)
        })
        .collect())
}

/// For each numeric sweep parameter with two or more values: cost and SLA attainment
/// (means with 95% CIs) against it, one line per combination of the other
/// parameters. Only for a single results directory (one sweep).
fn parameter_figures(groups: &[Group], points: &[PolicyPoint]) -> Vec<(String, Figure)> {
    let Some(first) = groups.first() else {
        return Vec::new();
    };
    if groups.iter().any(|g| g.dir != first.dir) {
        return Vec::new();
    }
    // Short names for titles and legends, from the point labels (`averageValue=16`
    // rather than the column `policy_decider_metrics_0_pods_target_averageValue`);
    // the column names where the label does not give them.
    let shorts: Vec<String> = {
        let from_label: Vec<String> = first
            .label
            .split(' ')
            .filter_map(|t| t.split_once('=').map(|(k, _)| k.to_owned()))
            .collect();
        let named: Vec<&String> = first
            .params
            .iter()
            .map(|(n, _, _)| n)
            .filter(|n| n.as_str() != "variant")
            .collect();
        let mut it = from_label.into_iter();
        first
            .params
            .iter()
            .map(|(n, _, _)| {
                if n == "variant" || named.is_empty() {
                    n.clone()
                } else {
                    it.next().unwrap_or_else(|| n.clone())
                }
            })
            .collect()
    };
    let mut figures = Vec::new();
    for (k, (column, _, _)) in first.params.iter().enumerate() {
        let name = &shorts[k];
        let mut xs: Vec<f64> = groups.iter().filter_map(|g| g.params[k].1).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if xs.len() < 2 || groups.iter().any(|g| g.params[k].1.is_none()) {
            continue;
        }
        // One line per setting of the other parameters, in sweep order.
        let mut lines: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let others: Vec<String> = g
                .params
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(j, (_, _, t))| format!("{}={t}", shorts[j]))
                .collect();
            let key = others.join(" ");
            match lines.iter_mut().find(|(l, _)| *l == key) {
                Some((_, members)) => members.push(i),
                None => lines.push((key, vec![i])),
            }
        }
        if lines.len() > MAX_GROUPS_PER_CHART {
            continue;
        }
        let series = |pick: fn(&PolicyPoint) -> (f64, f64, f64)| -> Vec<Series> {
            lines
                .iter()
                .map(|(label, members)| {
                    let mut rows: Vec<(f64, (f64, f64, f64))> = members
                        .iter()
                        .filter_map(|&i| Some((groups[i].params[k].1?, pick(&points[i]))))
                        .filter(|(_, v)| v.0.is_finite())
                        .collect();
                    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series::new(
                        if label.is_empty() {
                            "mean, 95% CI".to_owned()
                        } else {
                            label.clone()
                        },
                        rows.iter().map(|(x, v)| (*x, v.0)).collect(),
                        Mark::LineErrorBars(rows.iter().map(|(_, v)| (v.1, v.2)).collect()),
                    )
                })
                .collect()
        };
        let cost_lines = series(|p| p.cost);
        if cost_lines.iter().all(|s| s.points.is_empty()) {
            continue;
        }
        let sla_lines = series(|p| p.sla);
        figures.push((
            format!("param-{column}"),
            Figure::new(vec![
                Chart {
                    title: format!("cost against {name}"),
                    x: Axis::linear(name.as_str()),
                    y: Axis::linear("cost per run ($)"),
                    series: cost_lines,
                },
                Chart {
                    title: format!("SLA attainment against {name}"),
                    x: Axis::linear(name.as_str()),
                    y: Axis::share("SLA attainment"),
                    series: sla_lines,
                },
            ]),
        ));
    }
    figures
}

/// Which groups a per-group chart shows: all, or only the Pareto front's if there
/// are too many.
fn shown(groups: &[Group], front: &[usize]) -> Vec<usize> {
    if groups.len() <= MAX_GROUPS_PER_CHART || front.is_empty() {
        (0..groups.len())
            .take(MAX_GROUPS_PER_CHART.max(front.len()))
            .collect()
    } else {
        front.to_vec()
    }
}

/// The size figures are drawn at: each chart `width_in` × `height_in` inches (a
/// figure of stacked charts, such as a timeline, is as tall as its charts together) at
/// `dpi` dots per inch (`plot --size WxH --dpi N`). Without one, figures are 1000 px
/// wide, 360 px per chart, at 100 dpi.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FigureSize {
    /// Width, inches.
    pub width_in: f64,
    /// Height of each chart, inches; `None`: 3.6.
    pub height_in: Option<f64>,
    /// Dots per inch.
    pub dpi: f64,
}

impl FigureSize {
    /// `WxH` (inches, e.g. `7x4.5`; `None`: the default size) at `dpi`; the error
    /// says what is accepted.
    pub fn parse(size: Option<&str>, dpi: f64) -> Result<Self, String> {
        if !(10.0..=1200.0).contains(&dpi) {
            return Err(format!("--dpi {dpi}: give 10 to 1200 dots per inch"));
        }
        let Some(size) = size else {
            return Ok(FigureSize {
                width_in: 10.0,
                height_in: None,
                dpi,
            });
        };
        let bad = || format!("`{size}` is not a size; write WIDTHxHEIGHT in inches, e.g. `7x4.5`");
        let (w, h) = size.split_once(['x', 'X']).ok_or_else(bad)?;
        let (w, h): (f64, f64) = (
            w.trim().parse().map_err(|_| bad())?,
            h.trim().parse().map_err(|_| bad())?,
        );
        if !(w > 0.0 && h > 0.0 && w <= 100.0 && h <= 100.0) {
            return Err(format!(
                "`{size}`: width and height must be above 0 and at most 100 inches"
            ));
        }
        if w * dpi * h * dpi > 100e6 {
            return Err(format!("`{size}` at {dpi} dpi is over 100 million pixels"));
        }
        Ok(FigureSize {
            width_in: w,
            height_in: Some(h),
            dpi,
        })
    }
}

/// Draws every figure the results in `dirs` allow into `out` (PNG and SVG), and
/// returns the files written and the names on the cost–SLA Pareto front. `runs`
/// selects the runs drawn as timelines (by run id); empty: replication 0 of each
/// group shown. `size`: the figures' size in inches and dots per inch (default
/// 1000 px wide, 360 px per chart).
pub fn plot_results(
    dirs: &[PathBuf],
    out: &Path,
    selected: &[String],
    size: Option<FigureSize>,
) -> anyhow::Result<(Vec<PathBuf>, Vec<String>)> {
    let dirs: Vec<ResultsDir> = dirs.iter().map(ResultsDir::new).collect();
    let mut runs = Vec::new();
    for d in &dirs {
        runs.push(Columns::read(d, "runs")?.with_context(|| {
            format!(
                "`{}` holds no results (no runs.parquet, no parts/runs/)",
                d.root().display()
            )
        })?);
    }
    let (groups, points) = groups(&dirs, &runs)?;
    let front = pareto_of(&points);
    let shown = shown(&groups, &front);
    std::fs::create_dir_all(out).with_context(|| format!("creating `{}`", out.display()))?;
    let mut written = Vec::new();
    let mut draw = |name: String, figure: &Figure| -> anyhow::Result<()> {
        let sized;
        let figure = match size {
            Some(s) => {
                let per_chart = s.height_in.unwrap_or(3.6);
                sized = figure.clone().sized(s.width_in, per_chart, s.dpi);
                &sized
            }
            None => figure,
        };
        for ext in ["png", "svg"] {
            let path = out.join(format!("{}.{ext}", slug(&name)));
            figure.draw(&path)?;
            written.push(path);
        }
        Ok(())
    };

    let mut replicas = Vec::new();
    let mut ttft_cdf = Vec::new();
    let mut e2e_cdf = Vec::new();
    let mut ttft_sla = None;
    for (d, dir) in dirs.iter().enumerate() {
        let ts = Columns::read(dir, "timeseries")?;
        let lat = Columns::read(dir, "latency")?;
        for &g in shown.iter().filter(|&&g| groups[g].dir == d) {
            let group = &groups[g];
            if let Some(ts) = &ts {
                let picked: Vec<&(String, u64)> = if selected.is_empty() {
                    group.runs.iter().filter(|(_, r)| *r == 0).collect()
                } else {
                    group
                        .runs
                        .iter()
                        .filter(|(id, _)| selected.contains(id))
                        .collect()
                };
                for (id, rep) in picked {
                    let title = format!("{} (replication {rep})", group.name);
                    for (model, figure) in timeline_figures(ts, id, &title)? {
                        let suffix = if selected.is_empty() {
                            String::new()
                        } else {
                            format!("-r{rep}")
                        };
                        draw(format!("timeline-{}{suffix}-{model}", group.name), &figure)?;
                    }
                }
                replicas.push(Series::new(
                    group.name.clone(),
                    replicas_over_time(ts, group)?,
                    Mark::Line,
                ));
            }
            if let Some(lat) = &lat {
                let (first, second) = if lat.text("metric")?.iter().any(|m| m == "ttft") {
                    ("ttft", "e2e")
                } else {
                    ("response", "")
                };
                ttft_cdf.push(Series::new(
                    group.name.clone(),
                    latency_cdf(lat, group, first)?,
                    Mark::Line,
                ));
                if !second.is_empty() {
                    e2e_cdf.push(Series::new(
                        group.name.clone(),
                        latency_cdf(lat, group, second)?,
                        Mark::Line,
                    ));
                    ttft_sla = ttft_sla.or_else(|| ttft_target(&lat.table, None));
                }
            }
        }
    }
    if points.iter().any(|p| p.cost.0.is_finite()) {
        draw("cost-vs-sla".into(), &pareto_figure(&points))?;
    }
    for (name, figure) in parameter_figures(&groups, &points) {
        draw(name, &figure)?;
    }
    if replicas.len() > 1 {
        let figure = Figure::new(vec![Chart {
            title: "replicas asked for over time (mean over replications, all models)".into(),
            x: Axis::linear("time (min)"),
            y: Axis::count("replicas"),
            series: replicas,
        }]);
        draw("replicas".into(), &figure)?;
    }
    ttft_cdf.retain(|s| !s.points.is_empty());
    e2e_cdf.retain(|s| !s.points.is_empty());
    if !ttft_cdf.is_empty() {
        let mut charts = Vec::new();
        let llm = !e2e_cdf.is_empty();
        if let Some(target) = ttft_sla {
            ttft_cdf.push(Series::new("SLA", Vec::new(), Mark::VLine(target)));
        }
        charts.push(Chart {
            title: if llm {
                "time to first token (all replications pooled)".into()
            } else {
                "response time (all replications pooled)".into()
            },
            x: Axis::log("seconds"),
            y: Axis::linear("fraction of requests ≤ x"),
            series: ttft_cdf,
        });
        if llm {
            charts.push(Chart {
                title: "end-to-end latency".into(),
                x: Axis::log("seconds"),
                y: Axis::linear("fraction of requests ≤ x"),
                series: e2e_cdf,
            });
        }
        draw("latency-cdf".into(), &Figure::new(charts))?;
    }
    let front = front.into_iter().map(|i| points[i].name.clone()).collect();
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
            p("generic", f64::NAN, f64::NAN), // no cost: not a candidate
        ];
        let front: Vec<&str> = pareto_of(&points)
            .into_iter()
            .map(|i| points[i].name.as_str())
            .collect();
        assert_eq!(front, ["e", "b", "c"]);
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("hpa target=0.5"), "hpa_target_0.5");
        assert_eq!(slug("a: b/c"), "a__b_c");
    }
}
