//! `requests.parquet` against `runs.parquet`: with `requests: all` every arrival has
//! its row, the outcomes add up to the run's counts, the SLA attainment is the same
//! share, and the latency quantiles agree within the run's histogram's resolution; a
//! sample keeps its share of the requests, the same requests under every policy.

use std::collections::{BTreeSet, HashMap};

use inferscale::report::{ParquetTable, read_parquet};

use crate::support::{TempDir, example_variant, inferscale_ok};

/// The quickstart sweep (fixed fleets, HPA, threshold), 2 replications of 20 min,
/// with `output.requests` set to `requests`.
fn run(dir: &TempDir, requests: &str) -> std::path::PathBuf {
    let file = example_variant(
        dir,
        "quickstart-sweep",
        &[
            ("replications: 3", "replications: 2"),
            ("duration: 1h", "duration: 20m"),
            ("requests: {sample: 0.05}", &format!("requests: {requests}")),
        ],
    );
    let out = dir.join("out");
    inferscale_ok(&["run", &file, "--out", out.to_str().unwrap(), "--quiet"]);
    out
}

fn column<T>(t: &ParquetTable, name: &str, f: impl Fn(Option<f64>) -> T) -> Vec<T> {
    t.f64_column(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .into_iter()
        .map(f)
        .collect()
}

/// The nearest-rank `q` quantile of `values`.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

#[test]
fn every_request_has_its_row_and_the_rows_add_up_to_the_runs() {
    let dir = TempDir::new("requests-all");
    let out = run(&dir, "all");
    let runs = read_parquet(&out.join("runs.parquet")).unwrap();
    let requests = read_parquet(&out.join("requests.parquet")).unwrap();
    let run_ids = requests.string_column("run_id").unwrap();
    let outcome = requests.string_column("outcome").unwrap();
    let measured = requests.display_column("measured").unwrap();
    let sla_met = requests.display_column("sla_met").unwrap();
    let ttft = column(&requests, "ttft_s", |v| v);
    let e2e = column(&requests, "e2e_s", |v| v);
    let queue_wait = column(&requests, "queue_wait_s", |v| v);

    let ids = runs.string_column("run_id").unwrap();
    let get = |name: &str| column(&runs, name, |v| v.unwrap());
    let (arrivals, completed, in_flight, dropped) = (
        get("arrivals"),
        get("completed"),
        get("in_flight_at_end"),
        get("dropped"),
    );
    let (attainment, ttft_p50, ttft_p99, e2e_p99) = (
        get("sla_attainment"),
        get("ttft_p50_s"),
        get("ttft_p99_s"),
        get("p99_response_s"),
    );
    assert_eq!(ids.len(), 8);
    for (i, id) in ids.iter().enumerate() {
        let rows: Vec<usize> = (0..run_ids.len())
            .filter(|&r| &run_ids[r] == id && measured[r] == "true")
            .collect();
        let count = |o: &str| rows.iter().filter(|&&r| outcome[r] == o).count() as f64;
        assert_eq!(rows.len() as f64, arrivals[i], "{id}: arrivals");
        assert_eq!(count("completed"), completed[i], "{id}: completed");
        assert_eq!(count("in_flight"), in_flight[i], "{id}: in flight");
        assert_eq!(
            count("dropped") + count("timed_out"),
            dropped[i],
            "{id}: dropped"
        );
        let met = rows.iter().filter(|&&r| sla_met[r] == "true").count() as f64;
        assert_eq!(
            met / rows.len() as f64,
            attainment[i],
            "{id}: SLA attainment"
        );
        // The run's quantiles come from a histogram with 3 significant digits: within
        // 0.1% (and a bucket) of the exact ones.
        let mut first: Vec<f64> = rows.iter().filter_map(|&r| ttft[r]).collect();
        let mut whole: Vec<f64> = rows
            .iter()
            .filter(|&&r| outcome[r] == "completed")
            .filter_map(|&r| e2e[r])
            .collect();
        for (exact, run, what) in [
            (quantile(&mut first, 0.50), ttft_p50[i], "TTFT p50"),
            (quantile(&mut first, 0.99), ttft_p99[i], "TTFT p99"),
            (quantile(&mut whole, 0.99), e2e_p99[i], "e2e p99"),
        ] {
            assert!(
                (run - exact).abs() <= 2e-3 * exact + 1e-6,
                "{id}: {what} {run} against {exact} from the rows"
            );
        }
        // A request is scheduled before its first token.
        assert!(rows.iter().all(|&r| match (queue_wait[r], ttft[r]) {
            (Some(q), Some(t)) => q <= t + 1e-9,
            (None, Some(_)) => false,
            _ => true,
        }));
    }

    // The time series' per-interval TPOT p99 is that of the requests (warm-up's
    // included) that completed in the interval, within the histogram's resolution.
    let ts = read_parquet(&out.join("timeseries.parquet")).unwrap();
    let ts_ids = ts.string_column("run_id").unwrap();
    let (end, length, tpot_p99) = (
        column(&ts, "time_s", |v| v.unwrap()),
        column(&ts, "interval_s", |v| v.unwrap()),
        column(&ts, "tpot_p99_s", |v| v),
    );
    let arrival = column(&requests, "arrival_s", |v| v.unwrap());
    let tpot = column(&requests, "tpot_s", |v| v);
    let mut checked = 0;
    for k in (0..ts_ids.len()).filter(|&k| ts_ids[k] == ids[0]) {
        let mut exact: Vec<f64> = (0..run_ids.len())
            .filter(|&r| run_ids[r] == ids[0] && outcome[r] == "completed")
            .filter(|&r| {
                let done = arrival[r] + e2e[r].unwrap();
                done > end[k] - length[k] + 1e-9 && done <= end[k] + 1e-9
            })
            .filter_map(|r| tpot[r])
            .collect();
        match tpot_p99[k] {
            Some(series) => {
                let exact = quantile(&mut exact, 0.99);
                assert!(
                    (series - exact).abs() <= 2e-3 * exact + 1e-6,
                    "interval ending {}: TPOT p99 {series} against {exact}",
                    end[k]
                );
                checked += 1;
            }
            None => assert!(exact.is_empty(), "interval ending {}", end[k]),
        }
    }
    assert!(checked >= 30, "{checked} intervals");
}

#[test]
fn a_sample_keeps_its_share_and_the_same_requests_under_every_policy() {
    let dir = TempDir::new("requests-sample");
    let out = run(&dir, "{sample: 0.1}");
    let requests = read_parquet(&out.join("requests.parquet")).unwrap();
    let runs = read_parquet(&out.join("runs.parquet")).unwrap();
    let run_ids = requests.string_column("run_id").unwrap();
    let points = requests.string_column("point").unwrap();
    let replication_of: HashMap<String, u64> = runs
        .string_column("run_id")
        .unwrap()
        .into_iter()
        .zip(column(&runs, "replication", |v| v.unwrap() as u64))
        .collect();
    let ids = column(&requests, "request_id", |v| v.unwrap() as u64);
    let measured = requests.display_column("measured").unwrap();
    // Per replication, each policy's sampled request ids (after the warm-up).
    let mut sampled: HashMap<(u64, String), BTreeSet<u64>> = HashMap::new();
    for r in (0..ids.len()).filter(|&r| measured[r] == "true") {
        sampled
            .entry((replication_of[&run_ids[r]], points[r].clone()))
            .or_default()
            .insert(ids[r]);
    }
    assert_eq!(sampled.len(), 8);
    for replication in 0..2 {
        let sets: Vec<&BTreeSet<u64>> = sampled
            .iter()
            .filter(|((r, _), _)| *r == replication)
            .map(|(_, s)| s)
            .collect();
        assert!(
            sets.iter().all(|s| *s == sets[0]),
            "replication {replication}"
        );
        // About 17,000 arrivals in 20 minutes: Binomial(n, 0.1) within 6 sd.
        let n: f64 = column(&runs, "replication", |v| v.unwrap() as u64)
            .iter()
            .zip(column(&runs, "arrivals", |v| v.unwrap()))
            .filter(|(r, _)| **r == replication)
            .map(|(_, a)| a)
            .next()
            .unwrap();
        let k = sets[0].len() as f64;
        let sd = (n * 0.1 * 0.9).sqrt();
        assert!((k - 0.1 * n).abs() <= 6.0 * sd, "{k} of {n}");
    }
}
