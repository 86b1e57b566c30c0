//! `inferscale plot`: figures redrawn from results directories alone (their Parquet
//! tables and the scenario text stored in them).
//!
//! The unit of comparison is a *group*: one sweep point of one directory (a file
//! without a sweep is one point, named by its scenario). The figures:
//!
//! - `timeline-<group>-<model>`: for selected runs (replication 0 of each group by
//!   default), arrival rate and the loop's forecast (drawn at the time it forecasts),
//!   replicas ready and starting with spot reclaim notices marked, and the interval's
//!   TTFT and TPOT p99 against the model's SLA, the warm-up shaded (`timeline.rs`);
//! - `cost-vs-sla`: mean cost against mean SLA attainment per group with 95%
//!   confidence intervals, the Pareto front of each comparison group (`group_by`) as
//!   a staircase (`pareto.rs`);
//! - `latency-cdf` and `latency-ccdf`: the CDF, and the complementary CDF on a log
//!   scale, of TTFT, TPOT and end-to-end latency per group, pooled over its
//!   replications (response time for generic models), with the SLA targets; per model
//!   too (`latency-cdf-<model>`) where runs have several (`latency.rs`);
//! - `replicas`: replicas asked for over time per group, mean over replications;
//! - `param-<column>`: for a sweep over a numeric parameter, cost and SLA attainment
//!   against it, one line per setting of the other parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use inferscale_plot::{Axis, Chart, Figure, Mark, Series};
use inferscale_report::stats::mean_ci;
use inferscale_report::{ParquetTable, ResultsDir};

mod cache;
mod latency;
mod params;
mod pareto;
mod timeline;

use latency::Distributions;
use pareto::{pareto_figure, pareto_of};
use timeline::{ScenarioFacts, replicas_over_time, timeline_figures};

/// Most groups drawn on one chart before only the Pareto front's are kept (legends
/// stop being readable).
const MAX_GROUPS_PER_CHART: usize = 12;

/// One sweep point of one results directory, summarised for the cost–SLA chart.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyPoint {
    /// Its name in legends and file names.
    pub name: String,
    /// Its comparison group: the values of the sweep's `group_by` parameters (empty
    /// without a sweep); fronts are drawn within groups.
    pub group: String,
    /// Mean cost, dollars, and its 95% interval.
    pub cost: (f64, f64, f64),
    /// Mean SLA attainment and its 95% interval.
    pub sla: (f64, f64, f64),
    /// Mean prefix-cache hit rate (blocks) and its 95% interval; NaN without caching
    /// (or in results written before it).
    pub cache_hit: (f64, f64, f64),
    /// Mean TTFT p50 and p99 and their 95% intervals.
    pub ttft_p50: (f64, f64, f64),
    /// See [`PolicyPoint::ttft_p50`].
    pub ttft_p99: (f64, f64, f64),
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

/// The name the point labels give parameter `column` (`peak_to_trough` for
/// `workload_0_arrivals_poisson_rate_diurnal_peak_to_trough`): the longest `key` of
/// the label's `key=value` words that ends the column's name, else the column's name.
fn short_name<'a>(column: &'a str, label: &'a str) -> &'a str {
    label
        .split(' ')
        .filter_map(|word| word.split_once('=').map(|(k, _)| k))
        .filter(|k| column.ends_with(k))
        .max_by_key(|k| k.len())
        .unwrap_or(column)
}

/// `(mean, low, high)` with the interval inside `[lo, hi]`.
fn clipped((mean, low, high): (f64, f64, f64), lo: f64, hi: f64) -> (f64, f64, f64) {
    (mean, low.max(lo), high.min(hi))
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
        // Columns newer results have (older ones read as missing values).
        let optional = |name: &str| -> Vec<f64> {
            table.table.f64_column(name).map_or_else(
                || vec![f64::NAN; ids.len()],
                |c| c.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            )
        };
        let cache_hit = optional("cache_hit_rate");
        let ttft_p50 = optional("ttft_p50_s");
        let ttft_p99 = optional("ttft_p99_s");
        let provenance = inferscale_report::Provenance::of_schema(&table.table.schema);
        let param_names = provenance.params;
        // The comparison groups' columns, as `summary.parquet`'s `group` names them.
        let group_columns: Vec<(String, Option<Vec<String>>)> = provenance
            .group_by
            .iter()
            .map(|c| (c.clone(), table.table.display_column(c)))
            .collect();
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
                group: group_columns
                    .iter()
                    .map(|(c, values)| {
                        let v = values.as_ref().map_or("", |v| v[first].as_str());
                        format!("{}={v}", short_name(c, &labels[first]))
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                // Intervals clipped to what the quantity can be, as in the summary.
                cost: clipped(ci(&pick(&cost)), 0.0, f64::INFINITY),
                sla: clipped(ci(&pick(&sla)), 0.0, 1.0),
                cache_hit: clipped(ci(&pick(&cache_hit)), 0.0, 1.0),
                ttft_p50: clipped(ci(&pick(&ttft_p50)), 0.0, f64::INFINITY),
                ttft_p99: clipped(ci(&pick(&ttft_p99)), 0.0, f64::INFINITY),
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
    // The distributions' SLA lines are the first directory's.
    let facts = runs
        .first()
        .map(|r| ScenarioFacts::of(&r.table))
        .unwrap_or_default();
    let mut distributions = Distributions::new(facts);
    for (d, dir) in dirs.iter().enumerate() {
        let ts = Columns::read(dir, "timeseries")?;
        let fleet = Columns::read(dir, "fleet")?;
        let lat = Columns::read(dir, "latency")?;
        let facts = ScenarioFacts::of(&runs[d].table);
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
                    for (model, figure) in timeline_figures(ts, fleet.as_ref(), id, &title, &facts)?
                    {
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
                distributions.add(lat, group)?;
            }
        }
    }
    if points.iter().any(|p| p.cost.0.is_finite()) {
        draw("cost-vs-sla".into(), &pareto_figure(&points))?;
    }
    if let Some(figure) = cache::cache_figure(&points) {
        draw("cache-vs-ttft".into(), &figure)?;
    }
    for (name, figure) in params::parameter_figures(&groups, &points) {
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
    for (name, figure) in distributions.figures() {
        draw(name, &figure)?;
    }
    let front = front.into_iter().map(|i| points[i].name.clone()).collect();
    Ok((written, front))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_take_the_labels_short_names() {
        let column = "workload_0_arrivals_poisson_rate_diurnal_peak_to_trough";
        let label = "peak_to_trough=3 averageValue=8";
        assert_eq!(short_name(column, label), "peak_to_trough");
        assert_eq!(short_name("fleet", "hpa"), "fleet");
    }

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("hpa target=0.5"), "hpa_target_0.5");
        assert_eq!(slug("a: b/c"), "a__b_c");
    }
}
