//! `summary.parquet` and the printed table of a sweep: per point, the mean and 95%
//! confidence interval of each headline metric across its replications, the cost–SLA
//! Pareto front within each group of points that differ only in their policy, and,
//! when the sweep names a baseline, each point's paired difference to it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use crate::paired::reaches_past_range;
use crate::stats::{MeanCi, mean_ci, pareto_front};
use crate::{ParquetTable, Provenance, ReportError};

/// The metrics summarised per point, as named in `runs.parquet`.
pub const POINT_METRICS: &[&str] = &[
    "cost_usd",
    "sla_attainment",
    "ttft_p50_s",
    "ttft_p99_s",
    "tpot_p99_s",
    "mean_response_s",
    "p99_response_s",
    "goodput_per_s",
    "mean_replicas",
    "max_replicas",
    "scaling_actions",
    "dropped",
    "utilization",
    "mean_queue_len",
];

/// The metrics whose paired difference to the baseline is reported.
pub const DIFF_METRICS: &[&str] = &[
    "cost_usd",
    "sla_attainment",
    "ttft_p50_s",
    "ttft_p99_s",
    "tpot_p99_s",
    "mean_response_s",
    "p99_response_s",
    "goodput_per_s",
    "mean_replicas",
];

/// Reads one number off an interval (its mean or an end).
type CiPart = fn(&MeanCi) -> f64;

/// One sweep point summarised over its replications.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSummary {
    /// The point's position in the sweep.
    pub point_index: u64,
    /// The point's label.
    pub label: String,
    /// Runs found for it.
    pub runs: usize,
    /// Mean and 95% CI of each of [`POINT_METRICS`], in that order (NaN where the
    /// metric does not apply).
    pub metrics: Vec<MeanCi>,
    /// Whether no other point of its group is both cheaper (or as cheap) and better
    /// at meeting the SLA (or as good), by their means.
    pub pareto: bool,
    /// The values of the grouping parameters (`sweep.group_by`), joined: points of
    /// one group differ only in their policy, and share a Pareto front.
    pub group: String,
    /// The label of the point it is compared with, when the sweep names a baseline
    /// and this point has one.
    pub baseline: Option<String>,
    /// Paired difference to the baseline (this point minus it, replication by
    /// replication) of each of [`DIFF_METRICS`]; empty without a baseline, NaN where
    /// the runs do not pair.
    pub diffs: Vec<MeanCi>,
    /// Each difference relative to the baseline's mean.
    pub relative: Vec<f64>,
    /// Why the runs did not pair with the baseline's, if they did not.
    pub unpaired: Option<String>,
}

impl PointSummary {
    /// The summary of `metric` (one of [`POINT_METRICS`]).
    pub fn metric(&self, metric: &str) -> Option<MeanCi> {
        let i = POINT_METRICS.iter().position(|m| *m == metric)?;
        self.metrics.get(i).copied()
    }
}

/// Groups `runs` (a merged `runs.parquet`) by point and summarises each; also returns
/// the summary as a batch for `summary.parquet`, with the point's parameter columns.
pub fn summarize_points(
    runs: &ParquetTable,
) -> Result<(Vec<PointSummary>, RecordBatch), ReportError> {
    let bad = |m: String| ReportError::Parquet {
        path: PathBuf::from("runs.parquet"),
        source: m.into(),
    };
    let points = runs
        .f64_column("point_index")
        .ok_or_else(|| bad("no `point_index` column".into()))?;
    let labels = runs
        .string_column("point")
        .ok_or_else(|| bad("no `point` column".into()))?;
    let columns: Vec<Vec<f64>> = POINT_METRICS
        .iter()
        .map(|m| {
            runs.f64_column(m)
                .map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                .unwrap_or_else(|| vec![f64::NAN; points.len()])
        })
        .collect();
    // Rows of each point, in order of first appearance (the sweep's order).
    let mut groups: Vec<(u64, Vec<usize>)> = Vec::new();
    for (row, p) in points.iter().enumerate() {
        let p = p.unwrap_or_default() as u64;
        match groups.iter_mut().find(|(q, _)| *q == p) {
            Some((_, rows)) => rows.push(row),
            None => groups.push((p, vec![row])),
        }
    }
    groups.sort_by_key(|(p, _)| *p);
    let provenance = Provenance::of_schema(&runs.schema);
    let text_of = |name: &str| runs.display_column(name);
    let first = |column: &Option<Vec<String>>, rows: &[usize]| {
        column
            .as_ref()
            .map(|c| c[rows[0]].clone())
            .unwrap_or_default()
    };
    let group_columns: Vec<Option<Vec<String>>> =
        provenance.group_by.iter().map(|c| text_of(c)).collect();
    let mut out: Vec<PointSummary> = groups
        .iter()
        .map(|(p, rows)| PointSummary {
            point_index: *p,
            label: labels[rows[0]].clone(),
            runs: rows.len(),
            metrics: columns
                .iter()
                .map(|c| mean_ci(&rows.iter().map(|&r| c[r]).collect::<Vec<_>>(), 0.95))
                .collect(),
            pareto: false,
            group: group_columns
                .iter()
                .zip(&provenance.group_by)
                .map(|(c, name)| format!("{name}={}", first(c, rows)))
                .collect::<Vec<_>>()
                .join(" "),
            baseline: None,
            diffs: Vec::new(),
            relative: Vec::new(),
            unpaired: None,
        })
        .collect();
    // The front within each group.
    let mut members: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
    for (i, p) in out.iter().enumerate() {
        let (c, s) = (p.metrics[0].mean, p.metrics[1].mean);
        if c.is_finite() && s.is_finite() {
            members.entry(p.group.as_str()).or_default().push(i);
        }
    }
    let mut on_front = Vec::new();
    for candidates in members.values() {
        let pairs: Vec<(f64, f64)> = candidates
            .iter()
            .map(|&i| (out[i].metrics[0].mean, out[i].metrics[1].mean))
            .collect();
        on_front.extend(pareto_front(&pairs).into_iter().map(|k| candidates[k]));
    }
    for i in on_front {
        out[i].pareto = true;
    }
    if let Some(baseline) = &provenance.baseline {
        pair_with_baseline(runs, baseline, &provenance, &groups, &mut out);
    }
    let batch = summary_batch(runs, &out, &groups)?;
    Ok((out, batch))
}

/// Fills each point's paired differences to its baseline.
fn pair_with_baseline(
    runs: &ParquetTable,
    baseline: &str,
    provenance: &Provenance,
    groups: &[(u64, Vec<usize>)],
    out: &mut [PointSummary],
) {
    let n = runs.f64_column("point_index").map_or(0, |c| c.len());
    let replication: Vec<u64> = runs
        .f64_column("replication")
        .map(|c| c.into_iter().map(|v| v.unwrap_or(-1.0) as u64).collect())
        .unwrap_or_else(|| (0..n as u64).collect());
    // Tables from before `requests_id` pair by replication alone.
    let requests = runs
        .string_column("requests_id")
        .unwrap_or_else(|| vec![String::new(); n]);
    let variant_column = runs.display_column("variant");
    let other_columns: Vec<Vec<String>> = provenance
        .params
        .iter()
        .filter(|c| c.as_str() != "variant")
        .filter_map(|c| runs.display_column(c))
        .collect();
    let labels: Vec<String> = out.iter().map(|p| p.label.clone()).collect();
    let variant: Vec<String> = groups
        .iter()
        .map(|(_, rows)| {
            variant_column
                .as_ref()
                .map(|c| c[rows[0]].clone())
                .unwrap_or_default()
        })
        .collect();
    let others: Vec<Vec<String>> = groups
        .iter()
        .map(|(_, rows)| other_columns.iter().map(|c| c[rows[0]].clone()).collect())
        .collect();
    let of = crate::paired::baselines(baseline, &labels, &variant, &others);
    // Each compared column read once (not once per point).
    let values: Vec<Vec<Option<f64>>> = DIFF_METRICS
        .iter()
        .map(|m| runs.f64_column(m).unwrap_or_default())
        .collect();
    let metric_runs = |metric: usize, rows: &[usize]| -> Vec<(u64, &str, f64)> {
        rows.iter()
            .map(|&r| {
                (
                    replication[r],
                    requests[r].as_str(),
                    values[metric].get(r).copied().flatten().unwrap_or(f64::NAN),
                )
            })
            .collect()
    };
    for (i, b) in of.iter().enumerate() {
        let Some(b) = *b else { continue };
        out[i].baseline = Some(labels[b].clone());
        for (m, metric) in DIFF_METRICS.iter().enumerate() {
            let a = metric_runs(m, &groups[b].1);
            let x = metric_runs(m, &groups[i].1);
            let base_mean = out[b].metric(metric).map_or(f64::NAN, |c| c.mean);
            match crate::paired::paired_diff(&a, &x, 0.95) {
                Ok(d) => {
                    out[i].relative.push(crate::paired::relative(&d, base_mean));
                    out[i].diffs.push(d);
                }
                Err(why) => {
                    out[i].unpaired = Some(why.to_string());
                    out[i].relative.push(f64::NAN);
                    out[i].diffs.push(MeanCi {
                        mean: f64::NAN,
                        half_width: f64::NAN,
                        n: 0,
                    });
                }
            }
        }
    }
}

fn summary_batch(
    runs: &ParquetTable,
    points: &[PointSummary],
    groups: &[(u64, Vec<usize>)],
) -> Result<RecordBatch, ReportError> {
    let err = |e: arrow_schema::ArrowError| {
        crate::parquet_io::pq_err(std::path::Path::new("summary.parquet"))(e)
    };
    let mut fields = vec![
        Field::new("point_index", DataType::Int64, false),
        Field::new("point", DataType::Utf8, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        crate::batch::int64(points.iter().map(|p| Some(p.point_index))),
        Arc::new(
            points
                .iter()
                .map(|p| Some(p.label.as_str()))
                .collect::<StringArray>(),
        ),
    ];
    // Parameter columns: the value of each point's first run.
    let params = Provenance::of_schema(&runs.schema).params;
    if !params.is_empty() && !runs.batches.is_empty() {
        let all = arrow_select::concat::concat_batches(&runs.schema, &runs.batches).map_err(err)?;
        let first_rows: UInt64Array = groups.iter().map(|(_, rows)| rows[0] as u64).collect();
        for name in &params {
            let Some(column) = all.column_by_name(name) else {
                continue;
            };
            let taken = arrow_select::take::take(column, &first_rows, None).map_err(err)?;
            fields.push(Field::new(name, taken.data_type().clone(), true));
            columns.push(taken);
        }
    }
    fields.push(Field::new("runs", DataType::Int64, false));
    columns.push(crate::batch::int64(
        points.iter().map(|p| Some(p.runs as u64)),
    ));
    let finite = |v: f64| v.is_finite().then_some(v);
    for (i, metric) in POINT_METRICS.iter().enumerate() {
        // An interval is clipped to the metric's range (no negative latency); the
        // `clipped_intervals` column says which were.
        let (low, high) = crate::paired::metric_range(metric);
        let stats: [(&str, CiPart); 3] = [
            ("mean", |c| c.mean),
            ("ci_low", |c| c.low()),
            ("ci_high", |c| c.high()),
        ];
        for (suffix, get) in stats {
            fields.push(Field::new(
                format!("{metric}_{suffix}"),
                DataType::Float64,
                true,
            ));
            columns.push(Arc::new(
                points
                    .iter()
                    .map(|p| finite(get(&p.metrics[i]).clamp(low, high)))
                    .collect::<Float64Array>(),
            ));
        }
    }
    fields.push(Field::new("clipped_intervals", DataType::Utf8, true));
    columns.push(Arc::new(
        points
            .iter()
            .map(|p| {
                let clipped: Vec<&str> = POINT_METRICS
                    .iter()
                    .zip(&p.metrics)
                    .filter(|(m, c)| reaches_past_range(m, c))
                    .map(|(m, _)| *m)
                    .collect();
                (!clipped.is_empty()).then(|| clipped.join(","))
            })
            .collect::<StringArray>(),
    ));
    if points.iter().any(|p| p.baseline.is_some()) {
        fields.push(Field::new("baseline", DataType::Utf8, true));
        columns.push(Arc::new(
            points
                .iter()
                .map(|p| p.baseline.as_deref())
                .collect::<StringArray>(),
        ));
        for (i, metric) in DIFF_METRICS.iter().enumerate() {
            let diff = |p: &PointSummary| p.diffs.get(i).copied();
            let parts: [(&str, CiPart); 3] = [
                ("diff_mean", |c| c.mean),
                ("diff_ci_low", |c| c.low()),
                ("diff_ci_high", |c| c.high()),
            ];
            for (suffix, get) in parts {
                fields.push(Field::new(
                    format!("{metric}_{suffix}"),
                    DataType::Float64,
                    true,
                ));
                columns.push(Arc::new(
                    points
                        .iter()
                        .map(|p| diff(p).and_then(|c| finite(get(&c))))
                        .collect::<Float64Array>(),
                ));
            }
            fields.push(Field::new(
                format!("{metric}_diff_rel"),
                DataType::Float64,
                true,
            ));
            columns.push(Arc::new(
                points
                    .iter()
                    .map(|p| p.relative.get(i).copied().and_then(finite))
                    .collect::<Float64Array>(),
            ));
        }
    }
    if points.iter().any(|p| !p.group.is_empty()) {
        fields.push(Field::new("group", DataType::Utf8, false));
        columns.push(Arc::new(
            points
                .iter()
                .map(|p| Some(p.group.as_str()))
                .collect::<StringArray>(),
        ));
    }
    fields.push(Field::new("pareto", DataType::Boolean, false));
    columns.push(Arc::new(
        points
            .iter()
            .map(|p| Some(p.pareto))
            .collect::<BooleanArray>(),
    ));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(err)
}

/// The printed table: one line per point, `*` on the Pareto front. Cluster sweeps
/// show cost, SLA attainment, TTFT p99 and replicas; generic ones response times
/// and utilization.
pub fn format_points_table(points: &[PointSummary]) -> String {
    let llm = points.iter().any(|p| p.metrics[0].mean.is_finite());
    let shown: &[(&str, &str)] = if llm {
        &[
            ("cost_usd", "cost $"),
            ("sla_attainment", "SLA attainment"),
            ("ttft_p99_s", "TTFT p99 s"),
            ("mean_replicas", "replicas"),
        ]
    } else {
        &[
            ("mean_response_s", "mean response s"),
            ("p99_response_s", "p99 response s"),
            ("utilization", "utilization"),
        ]
    };
    let width = points
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = String::new();
    let _ = write!(out, "  {:<width$} {:>4}", "point", "runs");
    for (_, title) in shown {
        let _ = write!(out, "  {title:>22}");
    }
    let _ = writeln!(out);
    for p in points {
        let mark = if p.pareto { '*' } else { ' ' };
        let _ = write!(out, "{mark} {:<width$} {:>4}", p.label, p.runs);
        for (metric, _) in shown {
            let c = p.metric(metric).unwrap_or(MeanCi {
                mean: f64::NAN,
                half_width: f64::NAN,
                n: 0,
            });
            // Replications that agree to rounding show an interval of exactly 0.
            let hw = if c.half_width.abs() <= 1e-9 * c.mean.abs().max(1e-300) {
                0.0
            } else {
                c.half_width
            };
            let c = MeanCi {
                half_width: hw,
                ..c
            };
            let flag = if reaches_past_range(metric, &c) {
                "!"
            } else {
                ""
            };
            let cell = if c.half_width.is_finite() {
                format!(
                    "{} ± {}{flag}",
                    crate::summary::format_number(c.mean),
                    crate::summary::format_number(c.half_width)
                )
            } else {
                crate::summary::format_number(c.mean)
            };
            let _ = write!(out, "  {cell:>22}");
        }
        let _ = writeln!(out);
    }
    let grouped = points.iter().any(|p| !p.group.is_empty());
    if llm {
        let _ = writeln!(
            out,
            "mean ± 95% CI half-width over replications; * = on the cost–SLA Pareto front{}",
            if grouped {
                " of its group (points that differ only in their policy)"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(out, "mean ± 95% CI half-width over replications");
    }
    if points.iter().any(|p| {
        POINT_METRICS
            .iter()
            .zip(&p.metrics)
            .any(|(m, c)| reaches_past_range(m, c))
    }) {
        let _ = writeln!(
            out,
            "! the interval reaches past what the metric can be (below 0, or above 1 for a \
             share): too few replications to bound it; summary.parquet clips it and lists \
             the metric in `clipped_intervals`"
        );
    }
    out
}

/// The paired table: for each point with a baseline (other than the baseline
/// itself), the mean difference to it replication by replication, its 95% CI and the
/// relative difference. `None` when no point has a baseline.
pub fn format_paired_table(points: &[PointSummary]) -> Option<String> {
    let compared: Vec<&PointSummary> = points
        .iter()
        .filter(|p| p.baseline.as_ref().is_some_and(|b| *b != p.label))
        .collect();
    if compared.is_empty() {
        return None;
    }
    let llm = points.iter().any(|p| p.metrics[0].mean.is_finite());
    let shown: &[(&str, &str)] = if llm {
        &[
            ("cost_usd", "Δ cost $"),
            ("sla_attainment", "Δ SLA attainment"),
            ("ttft_p99_s", "Δ TTFT p99 s"),
        ]
    } else {
        &[
            ("mean_response_s", "Δ mean response s"),
            ("p99_response_s", "Δ p99 response s"),
        ]
    };
    let width = compared
        .iter()
        .map(|p| p.label.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let bwidth = compared
        .iter()
        .filter_map(|p| p.baseline.as_ref().map(|b| b.chars().count()))
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    let _ = write!(out, "  {:<width$}  {:<bwidth$}", "point", "baseline");
    for (_, title) in shown {
        let _ = write!(out, "  {title:>30}");
    }
    let _ = writeln!(out);
    let mut unpaired = Vec::new();
    for p in &compared {
        let excludes_zero =
            |c: &MeanCi| c.half_width.is_finite() && (c.low() > 0.0 || c.high() < 0.0);
        let _ = write!(
            out,
            "  {:<width$}  {:<bwidth$}",
            p.label,
            p.baseline.as_deref().unwrap_or_default()
        );
        for (metric, _) in shown {
            let i = DIFF_METRICS.iter().position(|m| m == metric).unwrap_or(0);
            let cell = match (p.diffs.get(i), p.relative.get(i)) {
                (Some(d), Some(rel)) if d.mean.is_finite() => {
                    let mark = if excludes_zero(d) { "•" } else { " " };
                    let rel = if rel.is_finite() {
                        format!(" ({:+.1}%)", rel * 100.0)
                    } else {
                        String::new()
                    };
                    if d.half_width.is_finite() {
                        format!(
                            "{}{} ± {}{rel}",
                            mark,
                            signed(d.mean),
                            crate::summary::format_number(d.half_width)
                        )
                    } else {
                        format!("{}{rel}", signed(d.mean))
                    }
                }
                _ => "—".to_owned(),
            };
            let _ = write!(out, "  {cell:>30}");
        }
        let _ = writeln!(out);
        if let Some(why) = &p.unpaired {
            unpaired.push(format!(
                "  `{}` does not pair with `{}`: {why}",
                p.label,
                p.baseline.as_deref().unwrap_or_default()
            ));
        }
    }
    let _ = writeln!(
        out,
        "point − baseline, paired by replication (same requests): mean ± 95% CI half-width \
         (relative to the baseline's mean); • = the interval excludes 0"
    );
    for line in unpaired {
        let _ = writeln!(out, "{line}");
    }
    Some(out)
}

/// `x` with its sign, as the tables print numbers.
fn signed(x: f64) -> String {
    let text = crate::summary::format_number(x);
    if x > 0.0 { format!("+{text}") } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LlmColumns, RunKeys, runs_batch, with_keys};
    use inferscale_params::{ParamColumn, ParamKind, ParamValue};

    fn llm(cost: f64, sla: f64) -> LlmColumns {
        LlmColumns {
            dropped: 0,
            rejected: 0,
            truncated: 0,
            sla_met: 90,
            sla_missed: 10,
            ttft_p50_s: 0.1,
            ttft_p90_s: 0.2,
            ttft_p99_s: 0.3,
            tpot_p50_s: 0.01,
            tpot_p90_s: 0.02,
            tpot_p99_s: 0.03,
            sla_attainment: sla,
            goodput_per_s: 1.0,
            output_tokens: 100,
            cost_usd: cost,
            cost_total_usd: cost * 1.1,
            cost_per_1k_requests: 1.0,
            cost_per_1m_output_tokens: 1.0,
            gpu_node_hours: 1.0,
            cpu_node_hours: 0.0,
            gpu_node_hours_total: 1.1,
            cpu_node_hours_total: 0.0,
            kv_utilization: 0.5,
            preemptions: 0,
            prefill_tokens: 0,
            cached_prompt_tokens: 0,
            cache_queried_blocks: 0,
            cache_hit_blocks: 0,
            cache_hit_rate: f64::NAN,
            cache_token_hit_rate: f64::NAN,
            unplaced_replicas: 0,
            scaling_actions: 3,
            mean_replicas: 2.0,
            max_replicas: 3,
            forecast_mape: None,
            forecast_rmse: None,
            forecast_fallbacks: 0,
            spot_reclaims: 0,
        }
    }

    /// Three points of two runs each: (cost, SLA) means (2, 0.90), (3, 0.99), (4, 0.95).
    #[test]
    fn points_get_means_intervals_and_the_front() {
        let params = [ParamColumn {
            name: "target".into(),
            path: "policy.decider.target".into(),
            kind: ParamKind::Float,
        }];
        let cases = [
            (0.5, [(1.0, 0.85), (3.0, 0.95)]),
            (0.6, [(3.0, 0.99), (3.0, 0.99)]),
            (0.7, [(4.0, 0.94), (4.0, 0.96)]),
        ];
        let mut batches = Vec::new();
        for (p, (target, runs)) in cases.iter().enumerate() {
            for (r, &(cost, sla)) in runs.iter().enumerate() {
                let mut row = crate::runs::tests::row(r as u64, 0.1);
                row.llm = Some(llm(cost, sla));
                let label = format!("target={target}");
                let id = format!("p{p}-r{r}");
                let values = [ParamValue::Float(*target)];
                let keys = RunKeys {
                    run_id: &id,
                    point_index: p as u64,
                    point: &label,
                    params: &params,
                    values: &values,
                };
                batches.push(with_keys(&runs_batch(&[row]), &keys).unwrap());
            }
        }
        let schema = arrow_schema::Schema::new(batches[0].schema().fields().clone()).with_metadata(
            [(crate::PARAMS_KEY.to_owned(), "target".to_owned())]
                .into_iter()
                .collect::<std::collections::HashMap<_, _>>(),
        );
        let table = ParquetTable {
            schema: schema.into(),
            batches,
        };
        let (points, batch) = summarize_points(&table).unwrap();
        assert_eq!(points.len(), 3);
        let cost = points[0].metric("cost_usd").unwrap();
        // mean 2, s = √2, half-width t(0.975, 1)·s/√2 = 12.706
        assert_eq!(cost.mean, 2.0);
        assert!((cost.half_width - 12.706_2).abs() < 1e-3, "{cost:?}");
        assert_eq!(points[1].metric("cost_usd").unwrap().half_width, 0.0);
        // (3, 0.99) is not beaten; (2, 0.90) is cheapest; (4, 0.95) loses to (3, 0.99).
        let front: Vec<bool> = points.iter().map(|p| p.pareto).collect();
        assert_eq!(front, [true, true, false]);
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(&names[..4], ["point_index", "point", "target", "runs"]);
        assert!(names.contains(&"sla_attainment_ci_high".to_owned()));
        let text = format_points_table(&points);
        assert!(
            text.lines().nth(1).unwrap().starts_with("* target=0.5"),
            "{text}"
        );
        assert!(
            text.lines().nth(3).unwrap().starts_with("  target=0.7"),
            "{text}"
        );
    }
}
