//! The `inferscale` command as a user runs it.

use arrow_array::Array;
use inferscale::report::read_parquet;

use crate::support::{TempDir, example_variant, inferscale, inferscale_ok, repo, stderr, stdout};

#[test]
fn run_quickstart_prints_a_summary_and_writes_runs_parquet() {
    let out_dir = TempDir::new("quickstart");
    let out = inferscale(&["run", "scenarios/quickstart.yaml", "--out", out_dir.str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(summary.contains("95% CI over 5 replications"), "{summary}");
    assert!(
        summary.lines().any(|l| l.starts_with("mean_wait_s")),
        "{summary}"
    );

    let table = read_parquet(&out_dir.join("runs.parquet")).expect("runs.parquet is readable");
    let rows: usize = table.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 5);
    for column in [
        "scenario",
        "replication",
        "seed",
        "arrivals",
        "completed",
        "mean_wait_s",
        "mean_response_s",
        "p50_response_s",
        "p90_response_s",
        "p99_response_s",
        "utilization",
        "mean_queue_len",
        "events",
        "wall_time_s",
    ] {
        let col = table.batches[0].column_by_name(column);
        assert!(
            col.is_some_and(|c| c.null_count() == 0),
            "column {column} missing or null"
        );
    }
    let meta = table.schema.metadata();
    let text =
        std::fs::read_to_string(crate::support::repo().join("scenarios/quickstart.yaml")).unwrap();
    assert_eq!(meta.get("inferscale.scenario"), Some(&text));
    assert!(
        meta.get("inferscale.version")
            .is_some_and(|v| v.starts_with("inferscale "))
    );
    // The merged tables, the summary and the parts they came from: no temporary
    // files anywhere.
    let names = |dir: &std::path::Path| -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(out_dir.path()),
        [
            "latency.parquet",
            "parts",
            "runs.parquet",
            "summary.parquet"
        ]
    );
    assert_eq!(
        names(&out_dir.join("parts")),
        ["MANIFEST", "latency", "runs"]
    );
    let parts = names(&out_dir.join("parts/runs"));
    assert_eq!(parts.len(), 5, "{parts:?}");
    assert!(parts.iter().all(|p| p.ends_with("-r0.parquet")
        || p.ends_with("-r1.parquet")
        || p.ends_with("-r2.parquet")
        || p.ends_with("-r3.parquet")
        || p.ends_with("-r4.parquet")));
}

#[test]
fn validate_accepts_every_example_scenario() {
    let mut checked = 0;
    for path in crate::support::example_scenarios() {
        let out = inferscale(&["validate", path.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            stderr(&out)
        );
        assert!(stdout(&out).starts_with("ok: "));
        checked += 1;
    }
    assert!(checked >= 2);
}

#[test]
fn help_explains_every_command_and_option() {
    let top = stdout(&inferscale(&["--help"]));
    assert!(top.contains("run") && top.contains("validate"), "{top}");
    let run = stdout(&inferscale(&["run", "--help"]));
    for option in [
        "--out",
        "--threads",
        "--quiet",
        "--reproducible",
        "--resume",
        "--shard",
        "<SCENARIO>",
    ] {
        assert!(run.contains(option), "run --help lacks {option}:\n{run}");
    }
    let validate = stdout(&inferscale(&["validate", "--help"]));
    assert!(validate.contains("without running it"), "{validate}");
}

#[test]
fn command_line_mistakes_exit_with_2() {
    assert_eq!(inferscale(&["run"]).status.code(), Some(2));
    assert_eq!(inferscale(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        inferscale(&["run", "scenarios/quickstart.yaml", "--threads", "0"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn an_unwritable_output_is_an_internal_error_with_exit_1() {
    let dir = TempDir::new("unwritable");
    // A file where the output directory should be.
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = inferscale(&[
        "run",
        "scenarios/quickstart.yaml",
        "-q",
        "--out",
        blocker.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("writing results of `quickstart`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_llm_scenario_reports_latency_sla_and_cost() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let out_dir = TempDir::new("llm");
    let out = inferscale(&[
        "run",
        "scenarios/llm-a100.yaml",
        "-q",
        "--out",
        out_dir.str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = read_parquet(&out_dir.join("runs.parquet")).unwrap();
    let batch = &table.batches[0];
    assert_eq!(batch.num_rows(), 3);
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .unwrap()
            .as_primitive::<Float64Type>()
            .clone()
    };
    for name in [
        "ttft_p99_s",
        "tpot_p50_s",
        "sla_attainment",
        "cost_usd",
        "cost_per_1k_requests",
    ] {
        assert_eq!(col(name).null_count(), 0, "{name} has nulls");
    }
    // One 8-GPU a100-80gb node billed for the hour: $40.9657 exactly over the run,
    // and the 50 minutes after the 10-minute warm-up in the measurement window.
    for cost in col("cost_total_usd").values() {
        assert!((cost - 40.9657).abs() < 1e-9, "total cost {cost}");
    }
    for cost in col("cost_usd").values() {
        assert!((cost - 40.9657 * 50.0 / 60.0).abs() < 1e-9, "cost {cost}");
    }
    // The queueing-only columns do not apply and are null.
    assert_eq!(col("mean_wait_s").null_count(), 3);
    let sla = col("sla_attainment");
    assert!(sla.values().iter().all(|s| (0.0..=1.0).contains(s)));
    // A 10 s time series over the hour, per replication; its arrivals after the
    // warm-up are the run's (which counts requests that arrived after the warm-up).
    let series = read_parquet(&out_dir.join("timeseries.parquet")).unwrap();
    let rows: usize = series.batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3 * 360);
    let ints = |b: &arrow_array::RecordBatch, name: &str| -> Vec<i64> {
        b.column_by_name(name)
            .unwrap()
            .as_primitive::<arrow_array::types::Int64Type>()
            .values()
            .to_vec()
    };
    let arrivals: i64 = series
        .batches
        .iter()
        .flat_map(|b| {
            let times = b
                .column_by_name("time_s")
                .unwrap()
                .as_primitive::<Float64Type>()
                .values()
                .to_vec();
            ints(b, "arrivals")
                .into_iter()
                .zip(times)
                .filter(|(_, t)| *t > 600.0)
                .map(|(a, _)| a)
                .collect::<Vec<_>>()
        })
        .sum();
    let run_arrivals: i64 = ints(batch, "arrivals").iter().sum();
    assert_eq!(arrivals, run_arrivals);
}

#[test]
fn a_two_model_scenario_writes_one_row_per_model_and_attributes_all_cost() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    let out_dir = TempDir::new("models");
    let out = inferscale(&["run", "scenarios/cpu-vs-gpu.yaml", "--out", out_dir.str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("small-on-cpu") && stdout(&out).contains("small-on-gpu"));
    let models = read_parquet(&out_dir.join("models.parquet")).unwrap();
    let runs = read_parquet(&out_dir.join("runs.parquet")).unwrap();
    let m = &models.batches[0];
    assert_eq!(m.num_rows(), 6, "2 models x 3 replications");
    let model_cost: f64 = m
        .column_by_name("cost_usd")
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .iter()
        .sum();
    let run_cost: f64 = runs.batches[0]
        .column_by_name("cost_usd")
        .unwrap()
        .as_primitive::<Float64Type>()
        .values()
        .iter()
        .sum();
    assert!(
        (model_cost - run_cost).abs() < 1e-9,
        "{model_cost} vs {run_cost}"
    );
}

/// `inferscale workload` prints the expected and sampled load and draws the figure;
/// the sampled requests are those replication 0 of `run` serves.
#[test]
fn workload_describes_the_load_and_draws_it() {
    let dir = TempDir::new("workload-view");
    let png = dir.join("load.png");
    let out = inferscale(&[
        "workload",
        "scenarios/diurnal.yaml",
        "--plot",
        png.to_str().unwrap(),
        "--bins",
        "120",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("25.000/s expected"), "{text}");
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");

    let scenario = inferscale::scenario::load("scenarios/diurnal.yaml".as_ref()).unwrap();
    let view = inferscale::workload_view::view(&scenario, 120);
    let w = &view.workloads[0];
    let sampled: f64 = w.sampled_per_s.iter().map(|r| r * view.bin_s).sum();
    assert_eq!(sampled.round() as u64, w.requests);
    // The diurnal mean is 25/s over whole periods; the count's sd is √(25·7200) ≈ 424.
    assert!(
        (w.requests as f64 - 25.0 * 7200.0).abs() < 4.0 * 424.0,
        "{}",
        w.requests
    );
    let expected: f64 = w.expected_per_s.iter().sum::<f64>() / 120.0;
    assert!((expected - 25.0).abs() < 0.01, "{expected}");
    let peak = w.expected_per_s.iter().copied().fold(0.0, f64::max);
    assert!((peak - 40.0).abs() < 0.5, "diurnal peak {peak}");
}

/// `inferscale plot` redraws a timeline and the cost–SLA chart from results alone.
#[test]
fn plot_redraws_figures_from_results() {
    let dir = TempDir::new("plot");
    let scenario = example_variant(
        &dir,
        "autoscale-hpa",
        &[
            ("replications: 3", "replications: 2"),
            ("duration: 2h", "duration: 40m"),
        ],
    );
    let results = dir.join("results");
    inferscale_ok(&["run", &scenario, "-q", "--out", results.to_str().unwrap()]);
    // A second policy: the same scenario with a fleet fixed at 16 (two full nodes).
    let fixed = std::fs::read_to_string(&scenario).unwrap();
    let fixed = fixed[..fixed.find("policy:").unwrap()]
        .replace("name: autoscale-hpa", "name: fixed-16")
        .replace("    replicas: 2\n", "    replicas: 16\n");
    let fixed_path = dir.join("fixed.yaml");
    std::fs::write(&fixed_path, fixed).unwrap();
    let fixed_results = dir.join("fixed");
    let out = inferscale(&[
        "run",
        fixed_path.to_str().unwrap(),
        "-q",
        "--out",
        fixed_results.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = inferscale(&[
        "plot",
        results.to_str().unwrap(),
        fixed_results.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // The autoscaled fleet is the cheaper one, so it is on the front, first (the fixed
    // fleet joins it only by missing a request or two fewer in 62,000).
    assert!(
        text.contains("Pareto front (cost against SLA attainment): autoscale-hpa"),
        "{text}"
    );
    for name in [
        "timeline-autoscale-hpa-chat.png",
        "timeline-autoscale-hpa-chat.svg",
        "timeline-fixed-16-chat.png",
        "cost-vs-sla.png",
        "replicas.png",
        "latency-cdf.png",
        "latency-cdf.svg",
    ] {
        let bytes = std::fs::read(results.join("plots").join(name)).unwrap();
        assert!(bytes.len() > 5_000, "{name}: {} bytes", bytes.len());
    }
    let missing = inferscale(&["plot", dir.join("nowhere").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
}

/// On a sweep, `inferscale plot` compares its points: a timeline per point (or per
/// chosen run), the cost–SLA chart, latency CDFs and CCDFs and replicas over time.
#[test]
fn plot_compares_the_points_of_a_sweep() {
    let dir = TempDir::new("plot-sweep");
    let scenario = example_variant(
        &dir,
        "quickstart-sweep",
        &[
            ("replications: 3", "replications: 2"),
            ("duration: 1h", "duration: 20m"),
        ],
    );
    let results = dir.join("results");
    let out = inferscale_ok(&[
        "run",
        &scenario,
        "--plot",
        "--out",
        results.to_str().unwrap(),
    ]);
    assert!(stderr(&out).contains("drew 8 figures"), "{}", stderr(&out));
    for name in [
        "timeline-fixed-1-chat.png",
        "timeline-hpa-chat.svg",
        "timeline-threshold-chat.png",
        "cost-vs-sla.png",
        "latency-cdf.png",
        "latency-ccdf.png",
        "replicas.png",
    ] {
        let bytes = std::fs::read(results.join("plots").join(name)).unwrap();
        assert!(bytes.len() > 5_000, "{name}: {} bytes", bytes.len());
    }
    // One chosen run's timeline, by its id.
    let runs = read_parquet(&results.join("runs.parquet")).unwrap();
    let ids = runs.string_column("run_id").unwrap();
    let picked = &ids[5]; // hpa, replication 1
    let elsewhere = dir.join("picked");
    let out = inferscale(&[
        "plot",
        results.to_str().unwrap(),
        "--run",
        picked,
        "--out",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let timelines: Vec<String> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("timeline") && n.ends_with(".png"))
        .collect();
    assert_eq!(timelines, ["timeline-hpa-r1-chat.png"]);

    // A print size: inches at a resolution, every figure kind redrawn.
    let print = dir.join("print");
    let out = inferscale(&[
        "plot",
        results.to_str().unwrap(),
        "--size",
        "3.5x2.5",
        "--dpi",
        "300",
        "--out",
        print.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let png_size = |name: &str| {
        let bytes = std::fs::read(print.join(name)).unwrap();
        let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (be(16), be(20))
    };
    assert_eq!(png_size("cost-vs-sla.png"), (1050, 750));
    // A timeline stacks four charts of that size (load, replicas, TTFT, TPOT).
    assert_eq!(png_size("timeline-hpa-chat.png"), (1050, 3000));
    let bad = inferscale(&["plot", results.to_str().unwrap(), "--size", "7by4"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("WIDTHxHEIGHT"), "{}", stderr(&bad));
}

/// A grid over a numeric parameter gets cost and SLA attainment drawn against it.
#[test]
fn plot_draws_metrics_against_a_numeric_parameter() {
    let dir = TempDir::new("plot-param");
    let scenario = example_variant(
        &dir,
        "hpa-target-sweep",
        &[
            ("replications: 3", "replications: 1"),
            ("duration: 1h", "duration: 15m"),
            ("[8, 16, 32, 48, 64, 96]", "[16, 48]"),
        ],
    );
    let results = dir.join("results");
    inferscale_ok(&[
        "run",
        &scenario,
        "-q",
        "--plot",
        "--out",
        results.to_str().unwrap(),
    ]);
    let runs = read_parquet(&results.join("runs.parquet")).unwrap();
    // The Int64 parameter columns read back as numbers, in grid order.
    assert_eq!(
        runs.f64_column("policy_decider_metrics_0_pods_target_averageValue")
            .unwrap(),
        [Some(16.0), Some(48.0), Some(16.0), Some(48.0)]
    );
    for column in [
        "policy_decider_metrics_0_pods_target_averageValue",
        "workload_0_arrivals_poisson_rate_diurnal_peak_to_trough",
    ] {
        let svg = std::fs::read_to_string(results.join(format!("plots/param-{column}.svg")))
            .unwrap_or_else(|e| panic!("param-{column}.svg: {e}"));
        assert!(svg.contains("SLA attainment against"), "{column}");
    }
    let svg = std::fs::read_to_string(
        results.join("plots/param-policy_decider_metrics_0_pods_target_averageValue.svg"),
    )
    .unwrap();
    assert!(svg.contains("cost against averageValue"));
    assert!(svg.contains("peak_to_trough=7"));
}

#[test]
fn a_pilot_changes_the_sweep_from_the_command_line_and_says_so() {
    let dir = TempDir::new("cli-pilot");
    let out = dir.join("out");
    let file = repo().join("scenarios/quickstart-sweep.yaml");
    let file = file.to_str().unwrap();
    inferscale_ok(&[
        "run",
        file,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--replications",
        "1",
        "--only",
        "fixed*",
        "--only",
        "threshold",
        "--set",
        "duration=20m",
    ]);
    let runs = inferscale::report::read_parquet(&out.join("runs.parquet")).unwrap();
    let labels = runs.string_column("point").unwrap();
    assert_eq!(labels, ["fixed-1", "fixed-2", "threshold"]);
    // Kept points keep their place in the whole sweep (the last one is point 3).
    let index: Vec<f64> = runs
        .f64_column("point_index")
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(index, [0.0, 1.0, 3.0]);
    let pilot = runs.schema.metadata().get(inferscale::report::PILOT_KEY);
    assert_eq!(
        pilot.map(String::as_str),
        Some("--replications 1 --only 'fixed*' --only threshold --set duration=20m")
    );
    // The provenance keeps the file as written.
    assert!(runs.scenario_text().unwrap().contains("duration: 1h"));

    let bad = inferscale(&["validate", file, "--set", "policy.decidr.target=3"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--set policy.decidr.target=3: `policy.decidr.target`"),
        "{}",
        stderr(&bad)
    );
    let shown = stdout(&inferscale_ok(&["validate", file, "--points"]));
    assert!(
        shown.contains("point 0 `fixed-1`:\n  policy: null"),
        "{shown}"
    );
    assert!(
        shown.contains("point 3 `threshold`:\n  policy: {interval: 15s, decider: {kind: threshold"),
        "{shown}"
    );
}
