//! Paired comparisons. Replication `r` of every point of a sweep sees the same
//! requests (common random numbers), so the difference of a metric between two points
//! is best estimated replication by replication: the paired differences `b_r − a_r`
//! cancel the workload's own variation, and their t interval is often far narrower
//! than the two marginal intervals suggest.
//!
//! Runs pair only when they saw the same requests: the same replication index and the
//! same `requests_id` (a hash of the seed, duration, workload and the models it
//! names). Anything else is not paired: the difference is then not computed.

use crate::stats::{MeanCi, mean_ci};

/// One point's runs of one metric: `(replication, requests_id, value)`.
pub type Runs<'a> = [(u64, &'a str, f64)];

/// Why two sets of runs cannot be paired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unpaired {
    /// No replication appears in both.
    NoCommonReplication,
    /// Replication `r` saw different requests in each (another workload, seed or
    /// duration).
    DifferentRequests {
        /// The first replication found to differ.
        replication: u64,
    },
}

impl std::fmt::Display for Unpaired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unpaired::NoCommonReplication => f.write_str("no replication appears in both"),
            Unpaired::DifferentRequests { replication } => write!(
                f,
                "replication {replication} saw different requests in each (the seed, duration, \
                 workload or the models it names differ)"
            ),
        }
    }
}

/// The paired differences `b_r − a_r` over the replications both have, with their
/// mean and two-sided `level` t interval; NaN values (a metric that does not apply in
/// a run) are left out of the pairs.
pub fn paired_diff(a: &Runs<'_>, b: &Runs<'_>, level: f64) -> Result<MeanCi, Unpaired> {
    let mut diffs = Vec::new();
    let mut common = false;
    for &(r, requests, x) in b {
        let Some(&(_, base_requests, y)) = a.iter().find(|(q, _, _)| *q == r) else {
            continue;
        };
        common = true;
        if requests != base_requests {
            return Err(Unpaired::DifferentRequests { replication: r });
        }
        if x.is_finite() && y.is_finite() {
            diffs.push(x - y);
        }
    }
    if !common {
        return Err(Unpaired::NoCommonReplication);
    }
    Ok(mean_ci(&diffs, level))
}

/// The relative difference of `diff` to the baseline's mean `base`: NaN when the
/// baseline's mean is zero or unknown.
pub fn relative(diff: &MeanCi, base: f64) -> f64 {
    if base.is_finite() && base != 0.0 {
        diff.mean / base.abs()
    } else {
        f64::NAN
    }
}

/// Where a baseline's differences come from, per point: the index (into the points)
/// of its baseline, or `None` for a point with none.
///
/// `baseline` is a point label (every point is compared with that point) or a
/// variant name (each point with the point of that variant whose other parameters
/// are equal to its own). `labels[i]` is point i's label, `variant[i]` its variant
/// (empty without variants), `others[i]` its other parameter values.
pub fn baselines(
    baseline: &str,
    labels: &[String],
    variant: &[String],
    others: &[Vec<String>],
) -> Vec<Option<usize>> {
    if let Some(b) = labels.iter().position(|l| l == baseline) {
        return vec![Some(b); labels.len()];
    }
    // The baseline variant's point for each setting of the other parameters (the
    // first, as a sweep has one).
    let mut of_setting: std::collections::HashMap<&[String], usize> = Default::default();
    for j in (0..labels.len()).filter(|&j| variant[j] == baseline) {
        of_setting.entry(others[j].as_slice()).or_insert(j);
    }
    others
        .iter()
        .map(|o| of_setting.get(o.as_slice()).copied())
        .collect()
}

/// The range a metric's value lies in: `[0, 1]` for a share, `[0, ∞)` otherwise
/// (every summarised metric is a cost, time, count or rate).
pub fn metric_range(metric: &str) -> (f64, f64) {
    match metric {
        "sla_attainment" | "utilization" | "kv_utilization" => (0.0, 1.0),
        _ => (0.0, f64::INFINITY),
    }
}

/// Whether `ci` reaches past `metric`'s range (a negative latency, an attainment
/// above 1): a sign that the replications are too few to bound the mean.
pub fn reaches_past_range(metric: &str, ci: &MeanCi) -> bool {
    let (low, high) = metric_range(metric);
    ci.half_width.is_finite() && (ci.low() < low || ci.high() > high)
}

/// `runs` with their request ids borrowed, as [`paired_diff`] takes them.
pub fn view(runs: &[(u64, String, f64)]) -> Vec<(u64, &str, f64)> {
    runs.iter().map(|(r, q, x)| (*r, q.as_str(), *x)).collect()
}

/// Why `inferscale compare` cannot compare two sets of results.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A table lacks a column the comparison needs.
    #[error("{which} has no `{column}` column (written by an older inferscale? run it again)")]
    MissingColumn {
        /// Which side (`A` or `B`).
        which: &'static str,
        /// The column.
        column: &'static str,
    },
    /// The point is not in the table, or the table has several and none was named.
    #[error("{0}")]
    Point(String),
    /// The runs do not pair.
    #[error("the two cannot be paired: {0}")]
    Unpaired(Unpaired),
}

/// One metric compared: each side's mean and interval, and the paired difference.
#[derive(Clone, Debug)]
pub struct ComparedMetric {
    /// The metric, as named in `runs.parquet`.
    pub metric: &'static str,
    /// Side A over its runs.
    pub a: MeanCi,
    /// Side B over its runs.
    pub b: MeanCi,
    /// B − A, replication by replication.
    pub diff: MeanCi,
    /// The difference relative to A's mean.
    pub relative: f64,
}

/// Two points compared over the replications both ran.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Side A's point label.
    pub a: String,
    /// Side B's point label.
    pub b: String,
    /// Replications paired.
    pub pairs: usize,
    /// Every metric both sides have.
    pub metrics: Vec<ComparedMetric>,
}

/// The rows of `point` in `runs` (a `runs.parquet`); `None` picks the only point.
fn point_rows(
    runs: &crate::ParquetTable,
    point: Option<&str>,
    which: &'static str,
) -> Result<(String, Vec<usize>), CompareError> {
    let labels = runs
        .string_column("point")
        .ok_or(CompareError::MissingColumn {
            which,
            column: "point",
        })?;
    let mut distinct: Vec<&String> = Vec::new();
    for l in &labels {
        if !distinct.contains(&l) {
            distinct.push(l);
        }
    }
    let list = || {
        distinct
            .iter()
            .map(|l| format!("`{l}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let label = match point {
        Some(p) if distinct.iter().any(|l| *l == p) => p.to_owned(),
        Some(p) => {
            return Err(CompareError::Point(format!(
                "{which} has no point `{p}`; its points are: {}",
                list()
            )));
        }
        None if distinct.len() == 1 => distinct[0].clone(),
        None => {
            return Err(CompareError::Point(format!(
                "{which} holds {} points; name the two with `--points A B`: {}",
                distinct.len(),
                list()
            )));
        }
    };
    let rows = (0..labels.len()).filter(|&i| labels[i] == label).collect();
    Ok((label, rows))
}

/// Compares point `point_a` of `a` with point `point_b` of `b` (two `runs.parquet`
/// tables, or one twice), pairing runs by replication; refuses runs that saw other
/// requests.
pub fn compare(
    a: &crate::ParquetTable,
    point_a: Option<&str>,
    b: &crate::ParquetTable,
    point_b: Option<&str>,
) -> Result<Comparison, CompareError> {
    let (label_a, rows_a) = point_rows(a, point_a, "A")?;
    let (label_b, rows_b) = point_rows(b, point_b, "B")?;
    let side = |t: &crate::ParquetTable, which: &'static str| {
        let replication = t
            .f64_column("replication")
            .ok_or(CompareError::MissingColumn {
                which,
                column: "replication",
            })?;
        let requests = t
            .string_column("requests_id")
            .ok_or(CompareError::MissingColumn {
                which,
                column: "requests_id",
            })?;
        Ok::<_, CompareError>((replication, requests))
    };
    let (rep_a, req_a) = side(a, "A")?;
    let (rep_b, req_b) = side(b, "B")?;
    let mut metrics = Vec::new();
    let mut pairs = 0;
    for metric in crate::POINT_METRICS {
        let (Some(va), Some(vb)) = (a.f64_column(metric), b.f64_column(metric)) else {
            continue;
        };
        let runs = |rows: &[usize], rep: &[Option<f64>], req: &[String], v: &[Option<f64>]| {
            rows.iter()
                .map(|&r| {
                    (
                        rep[r].unwrap_or(-1.0) as u64,
                        req[r].clone(),
                        v[r].unwrap_or(f64::NAN),
                    )
                })
                .collect::<Vec<_>>()
        };
        let ra = runs(&rows_a, &rep_a, &req_a, &va);
        let rb = runs(&rows_b, &rep_b, &req_b, &vb);
        let diff = paired_diff(&view(&ra), &view(&rb), 0.95).map_err(CompareError::Unpaired)?;
        let ma = mean_ci(&ra.iter().map(|x| x.2).collect::<Vec<_>>(), 0.95);
        let mb = mean_ci(&rb.iter().map(|x| x.2).collect::<Vec<_>>(), 0.95);
        if !(ma.mean.is_finite() && mb.mean.is_finite()) {
            continue;
        }
        pairs = pairs.max(diff.n);
        metrics.push(ComparedMetric {
            metric,
            a: ma,
            b: mb,
            relative: relative(&diff, ma.mean),
            diff,
        });
    }
    Ok(Comparison {
        a: label_a,
        b: label_b,
        pairs,
        metrics,
    })
}

/// The printed comparison: one line per metric, A and B with their intervals, and
/// the paired difference B − A.
pub fn format_comparison(c: &Comparison) -> String {
    use std::fmt::Write as _;
    let n = crate::format_number;
    let ci = |m: &MeanCi| {
        if m.half_width.is_finite() {
            format!("{} ± {}", n(m.mean), n(m.half_width))
        } else {
            n(m.mean)
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "A = `{}`, B = `{}`, {} replications paired (same requests in each)",
        c.a, c.b, c.pairs
    );
    let _ = writeln!(
        out,
        "  {:<18} {:>24} {:>24} {:>34}",
        "metric", "A", "B", "B − A (paired)"
    );
    for m in &c.metrics {
        let excludes_zero =
            m.diff.half_width.is_finite() && (m.diff.low() > 0.0 || m.diff.high() < 0.0);
        let rel = if m.relative.is_finite() {
            format!(" ({:+.1}%)", m.relative * 100.0)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {:<18} {:>24} {:>24} {:>34}",
            m.metric,
            ci(&m.a),
            ci(&m.b),
            format!(
                "{}{}{rel}",
                if excludes_zero { "• " } else { "" },
                ci(&m.diff)
            )
        );
    }
    let _ = writeln!(
        out,
        "mean ± 95% CI half-width; • = the paired interval excludes 0"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_differences_cancel_what_the_runs_share() {
        // Replication effects 10, 20, 30, 40; b is a's value plus 1 ± 0.1.
        let a: Vec<(u64, &str, f64)> = (0..4).map(|r| (r, "w", 10.0 * (r + 1) as f64)).collect();
        let b: Vec<(u64, &str, f64)> = a
            .iter()
            .map(|&(r, w, x)| (r, w, x + 1.0 + if r % 2 == 0 { 0.1 } else { -0.1 }))
            .collect();
        let d = paired_diff(&a, &b, 0.95).unwrap();
        assert!((d.mean - 1.0).abs() < 1e-12);
        // s = 0.1155 (values ±0.1 around 1), t(0.975, 3) = 3.1824: 3.1824 · 0.1155 / 2.
        assert!((d.half_width - 3.182_446 * (0.04_f64 / 3.0).sqrt() / 2.0).abs() < 1e-5);
        // The marginal intervals are ±20 wide: they overlap entirely.
        let marginal = mean_ci(&a.iter().map(|x| x.2).collect::<Vec<_>>(), 0.95);
        assert!(marginal.half_width > 10.0);
        assert!((relative(&d, marginal.mean) - 1.0 / 25.0).abs() < 1e-12);
    }

    #[test]
    fn runs_that_saw_other_requests_do_not_pair() {
        let a = [(0, "w", 1.0), (1, "w", 2.0)];
        let b = [(0, "w", 1.5), (1, "v", 2.5)];
        assert_eq!(
            paired_diff(&a, &b, 0.95),
            Err(Unpaired::DifferentRequests { replication: 1 })
        );
        assert_eq!(
            paired_diff(&a, &[(5, "w", 1.0)], 0.95),
            Err(Unpaired::NoCommonReplication)
        );
    }

    #[test]
    fn a_variant_baseline_is_the_variant_of_the_same_other_parameters() {
        let labels: Vec<String> = ["hpa r=1", "hpa r=2", "kpa r=1", "kpa r=2"]
            .map(String::from)
            .to_vec();
        let variant: Vec<String> = ["hpa", "hpa", "kpa", "kpa"].map(String::from).to_vec();
        let others = vec![
            vec!["1".into()],
            vec!["2".into()],
            vec!["1".into()],
            vec!["2".into()],
        ];
        assert_eq!(
            baselines("hpa", &labels, &variant, &others),
            [Some(0), Some(1), Some(0), Some(1)]
        );
        assert_eq!(
            baselines("kpa r=2", &labels, &variant, &others),
            [Some(3); 4]
        );
        assert!(reaches_past_range(
            "ttft_p99_s",
            &MeanCi {
                mean: 1.931,
                half_width: 3.892,
                n: 2
            }
        ));
        assert!(!reaches_past_range(
            "ttft_p99_s",
            &MeanCi {
                mean: 1.931,
                half_width: 0.5,
                n: 5
            }
        ));
    }
}
