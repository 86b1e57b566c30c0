//! The printed summary: per metric, the mean across replications and its 95% CI.

use std::fmt::Write;

use crate::RunRow;
use crate::stats::{MeanCi, mean_ci};

/// One line of the summary table.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    /// Column name in `runs.parquet`.
    pub metric: &'static str,
    /// Mean and 95% confidence interval across replications.
    pub ci: MeanCi,
}

/// Reads one metric off a row.
type Getter = fn(&RunRow) -> f64;

/// The metrics the summary reports, in display order.
const METRICS: &[(&str, Getter)] = &[
    ("arrivals", |r| r.arrivals as f64),
    ("completed", |r| r.completed as f64),
    ("mean_wait_s", |r| r.mean_wait_s.unwrap_or(f64::NAN)),
    ("mean_response_s", |r| r.mean_response_s),
    ("p50_response_s", |r| r.p50_response_s),
    ("p90_response_s", |r| r.p90_response_s),
    ("p99_response_s", |r| r.p99_response_s),
    ("utilization", |r| r.utilization),
    ("mean_queue_len", |r| r.mean_queue_len.unwrap_or(f64::NAN)),
    ("mean_in_system", |r| r.mean_in_system.unwrap_or(f64::NAN)),
    ("ttft_p50_s", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.ttft_p50_s)
    }),
    ("ttft_p99_s", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.ttft_p99_s)
    }),
    ("tpot_p50_s", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.tpot_p50_s)
    }),
    ("tpot_p99_s", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.tpot_p99_s)
    }),
    ("sla_attainment", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.sla_attainment)
    }),
    ("goodput_per_s", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.goodput_per_s)
    }),
    ("dropped", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.dropped as f64)
    }),
    ("rejected", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.rejected as f64)
    }),
    ("truncated", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.truncated as f64)
    }),
    ("cost_usd", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.cost_usd)
    }),
    ("cost_total_usd", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.cost_total_usd)
    }),
    ("cost_per_1k_requests", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.cost_per_1k_requests)
    }),
    ("cost_per_1m_output_tokens", |r| {
        r.llm
            .as_ref()
            .map_or(f64::NAN, |l| l.cost_per_1m_output_tokens)
    }),
    ("gpu_node_hours", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.gpu_node_hours)
    }),
    ("kv_utilization", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.kv_utilization)
    }),
    ("mean_replicas", |r| {
        r.llm.as_ref().map_or(f64::NAN, |l| l.mean_replicas)
    }),
    ("scaling_actions", |r| {
        r.llm
            .as_ref()
            .map_or(f64::NAN, |l| l.scaling_actions as f64)
    }),
    ("forecast_mape", |r| {
        r.llm
            .as_ref()
            .and_then(|l| l.forecast_mape)
            .unwrap_or(f64::NAN)
    }),
    ("events", |r| r.events as f64),
    ("wall_time_s", |r| r.wall_time_s),
];

/// Mean and 95% CI of each reported metric across `rows`.
pub fn summarize_runs(rows: &[RunRow]) -> Vec<MetricSummary> {
    METRICS
        .iter()
        .map(|(metric, get)| {
            let values: Vec<f64> = rows.iter().map(get).collect();
            MetricSummary {
                metric,
                ci: mean_ci(&values, 0.95),
            }
        })
        // Metrics that do not apply to these runs (all null) are left out.
        .filter(|s| s.ci.n > 0)
        .collect()
}

/// [`summarize_runs`] on a `runs.parquet` read back (the same metrics, by column
/// name), for results gathered from part files rather than held in memory.
pub fn summarize_table(runs: &crate::ParquetTable) -> Vec<MetricSummary> {
    METRICS
        .iter()
        .filter_map(|(metric, _)| {
            let values: Vec<f64> = runs
                .f64_column(metric)?
                .into_iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            Some(MetricSummary {
                metric,
                ci: mean_ci(&values, 0.95),
            })
        })
        .filter(|s| s.ci.n > 0)
        .collect()
}

/// A plain-text table: metric, mean, ± half-width, and the interval.
pub fn format_summary_table(summaries: &[MetricSummary]) -> String {
    let n = summaries.first().map_or(0, |s| s.ci.n);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<26} {:>14} {:>12}   95% CI over {n} replication{}",
        "metric",
        "mean",
        "± half-width",
        if n == 1 { "" } else { "s" }
    );
    for s in summaries {
        let (hw, range) = if s.ci.half_width.is_nan() {
            ("-".to_string(), "(needs 2+ replications)".to_string())
        } else {
            (
                format_number(s.ci.half_width),
                format!(
                    "[{}, {}]",
                    format_number(s.ci.low()),
                    format_number(s.ci.high())
                ),
            )
        };
        let _ = writeln!(
            out,
            "{:<26} {:>14} {:>12}   {range}",
            s.metric,
            format_number(s.ci.mean),
            hw
        );
    }
    out
}

/// Four significant digits, without scientific notation for everyday magnitudes.
pub fn format_number(v: f64) -> String {
    if v.is_nan() {
        return "-".into();
    }
    let abs = v.abs();
    if abs == 0.0 {
        "0".into()
    } else if !(1e-4..1e7).contains(&abs) {
        format!("{v:.3e}")
    } else {
        let decimals = (3 - abs.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(format_number(0.876_916), "0.8769");
        assert_eq!(format_number(1234.567), "1235");
        assert_eq!(format_number(12.345_67), "12.35");
        assert_eq!(format_number(3.0e8), "3.000e8");
        assert_eq!(format_number(f64::NAN), "-");
    }

    #[test]
    fn table_has_a_line_per_metric() {
        let rows = vec![
            crate::runs::tests::row(0, 0.8),
            crate::runs::tests::row(1, 1.0),
        ];
        let table = format_summary_table(&summarize_runs(&rows));
        assert!(table.contains("over 2 replications"), "{table}");
        let wait = table
            .lines()
            .find(|l| l.starts_with("mean_wait_s"))
            .unwrap();
        // mean 0.9, half-width t(0.975, 1)·0.1 = 1.2706
        assert!(wait.contains("0.9000") && wait.contains("1.271"), "{wait}");
        // The LLM metrics do not apply to these rows and are left out.
        assert!(!table.contains("ttft"), "{table}");
        assert_eq!(table.lines().count(), 1 + 12);

        // The same summary from the table written to disk.
        let path = std::env::temp_dir().join(format!("summary-{}.parquet", std::process::id()));
        let prov = crate::Provenance {
            scenario_text: String::new(),
            version: String::new(),
            params: Vec::new(),
            ..crate::Provenance::default()
        };
        crate::write_runs(&path, &rows, &prov).unwrap();
        let from_table = summarize_table(&crate::read_parquet(&path).unwrap());
        assert_eq!(from_table, summarize_runs(&rows));
        let _ = std::fs::remove_file(path);
    }
}
