//! Paired comparisons against a computation done here from the runs table: two
//! policies whose marginal intervals overlap, while the paired interval — the same
//! requests in replication r of each — excludes zero; and `inferscale compare`
//! refusing results whose requests differ.

use crate::support::{TempDir, example_variant, inferscale, inferscale_ok, stderr, stdout};
use inferscale::report::read_parquet;

/// t(0.975, 4): the 95% two-sided Student-t quantile for 5 replications
/// (tables: 2.7764451).
const T_975_4: f64 = 2.776_445_1;

fn mean_half_width(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, T_975_4 * (var / n).sqrt())
}

/// The shoot-out as it is (5 replications of 3 h); narrowed to two policies below.
fn shootout(dir: &TempDir) -> String {
    example_variant(dir, "policy-shootout", &[])
}

/// `values[metric]` of `point` by replication, from `runs.parquet`.
fn by_replication(runs: &inferscale::report::ParquetTable, point: &str, metric: &str) -> Vec<f64> {
    let labels = runs.string_column("point").unwrap();
    let replications = runs.f64_column("replication").unwrap();
    let values = runs.f64_column(metric).unwrap();
    let mut rows: Vec<(u64, f64)> = (0..labels.len())
        .filter(|&i| labels[i] == point)
        .map(|i| (replications[i].unwrap() as u64, values[i].unwrap()))
        .collect();
    rows.sort_by_key(|r| r.0);
    assert_eq!(rows.len(), 5, "{point}");
    rows.into_iter().map(|r| r.1).collect()
}

#[test]
fn overlapping_marginal_intervals_hide_a_difference_the_paired_interval_shows() {
    let dir = TempDir::new("paired");
    let file = shootout(&dir);
    // Two policies only: a sweep of the shoot-out narrowed to them.
    let text = std::fs::read_to_string(&file).unwrap();
    let start = text.find("  variants:\n").unwrap();
    let mut kept = String::from("  variants:\n");
    for line in text[start..].lines().skip(1) {
        if !line.starts_with("    ") {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    let mut narrowed = String::from("  variants:\n");
    let mut keep = false;
    for line in kept.lines().skip(1) {
        if !line.starts_with("     ") {
            keep = line == "    hpa:" || line == "    threshold+oracle:";
        }
        if keep {
            narrowed.push_str(line);
            narrowed.push('\n');
        }
    }
    let text = text.replace(&kept, &narrowed);
    std::fs::write(&file, &text).unwrap();
    let out_dir = dir.join("out");
    let out = inferscale_ok(&["run", &file, "--out", out_dir.to_str().unwrap(), "--quiet"]);
    drop(out);

    let runs = read_parquet(&out_dir.join("runs.parquet")).unwrap();
    let metric = "ttft_p99_s";
    let hpa = by_replication(&runs, "hpa", metric);
    let oracle = by_replication(&runs, "threshold+oracle", metric);
    let (m_hpa, h_hpa) = mean_half_width(&hpa);
    let (m_oracle, h_oracle) = mean_half_width(&oracle);
    // The marginal intervals overlap...
    assert!(
        m_hpa - h_hpa < m_oracle + h_oracle && m_oracle - h_oracle < m_hpa + h_hpa,
        "hpa {m_hpa} ± {h_hpa}, threshold+oracle {m_oracle} ± {h_oracle}"
    );
    // ...the paired one excludes zero.
    let diffs: Vec<f64> = oracle.iter().zip(&hpa).map(|(o, h)| o - h).collect();
    let (d, h) = mean_half_width(&diffs);
    assert!(d + h < 0.0 || d - h > 0.0, "paired {d} ± {h}");

    // The summary carries the same numbers.
    let summary = read_parquet(&out_dir.join("summary.parquet")).unwrap();
    let labels = summary.string_column("point").unwrap();
    let row = labels.iter().position(|l| l == "threshold+oracle").unwrap();
    let get = |c: &str| summary.f64_column(c).unwrap()[row].unwrap();
    for (column, expected) in [
        ("ttft_p99_s_diff_mean", d),
        ("ttft_p99_s_diff_ci_low", d - h),
        ("ttft_p99_s_diff_ci_high", d + h),
        ("ttft_p99_s_diff_rel", d / m_hpa),
    ] {
        let got = get(column);
        // The t quantile here has 8 digits; the summary computes its own.
        assert!(
            (got - expected).abs() <= 1e-7 * (expected.abs() + h),
            "{column}: {got} vs {expected}"
        );
    }
    assert_eq!(summary.string_column("baseline").unwrap()[row], "hpa");
    // The baseline's difference to itself is exactly zero.
    let base_row = labels.iter().position(|l| l == "hpa").unwrap();
    assert_eq!(
        summary.f64_column("cost_usd_diff_mean").unwrap()[base_row],
        Some(0.0)
    );

    // `compare` prints the same paired difference from the two points.
    let out = inferscale_ok(&[
        "compare",
        out_dir.to_str().unwrap(),
        "--points",
        "hpa",
        "threshold+oracle",
    ]);
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("ttft_p99_s"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&inferscale::report::format_number(d)),
        "{line} lacks {d}"
    );
}

#[test]
fn compare_refuses_results_whose_requests_differ() {
    let dir = TempDir::new("paired-refuse");
    let small = |name: &str, rate: &str| {
        let file = example_variant(
            &dir,
            "quickstart",
            &[("replications: 5", "replications: 2")],
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let text = text.replace("rate: 16/s", rate);
        let path = dir.join(&format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = dir.join(name);
        inferscale_ok(&[
            "run",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        out
    };
    let a = small("a", "rate: 16/s");
    let b = small("b", "rate: 17/s");
    let same = small("c", "rate: 16/s");
    let out = inferscale(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("different requests"),
        "{}",
        stderr(&out)
    );
    let out = inferscale_ok(&["compare", a.to_str().unwrap(), same.to_str().unwrap()]);
    assert!(stdout(&out).contains("cost_usd") || stdout(&out).contains("mean_response_s"));
}
