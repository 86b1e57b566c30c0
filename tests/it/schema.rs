//! The Parquet tables are an interface: every column's name and type is pinned here,
//! for an autoscaled LLM run (every table) and a generic one. A change to a table
//! fails this test until the listing (and the README's column reference) changes
//! with it.

use inferscale::report::read_parquet;

use crate::support::{TempDir, example_variant, inferscale_ok};

/// `name type` per column, one line each, of `DIR/<table>.parquet`.
fn listing(dir: &std::path::Path, table: &str) -> String {
    let t = read_parquet(&dir.join(format!("{table}.parquet")))
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    t.schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", f.name(), f.data_type()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check(dir: &std::path::Path, table: &str, expected: &str) {
    let got = listing(dir, table);
    let want = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        got == want,
        "{table}.parquet's schema changed; it is now:\n{got}"
    );
}

const KEYS: &str = "
    run_id Utf8
    point_index Int64
    point Utf8
    scenario Dictionary(Int32, Utf8)
    replication Int64
";

const RUNS: &str = "
    seed UInt64
    requests_id Utf8
    arrivals Int64
    completed Int64
    in_flight_at_end Int64
    mean_wait_s Float64
    mean_response_s Float64
    p50_response_s Float64
    p90_response_s Float64
    p99_response_s Float64
    utilization Float64
    mean_queue_len Float64
    mean_in_system Float64
    window_s Float64
    events Int64
    dropped Int64
    rejected Int64
    truncated Int64
    sla_met Int64
    sla_missed Int64
    ttft_p50_s Float64
    ttft_p90_s Float64
    ttft_p99_s Float64
    tpot_p50_s Float64
    tpot_p90_s Float64
    tpot_p99_s Float64
    sla_attainment Float64
    goodput_per_s Float64
    output_tokens Int64
    cost_usd Float64
    cost_total_usd Float64
    cost_per_1k_requests Float64
    cost_per_1m_output_tokens Float64
    gpu_node_hours Float64
    cpu_node_hours Float64
    gpu_node_hours_total Float64
    cpu_node_hours_total Float64
    kv_utilization Float64
    preemptions Int64
    prefill_tokens Int64
    cached_prompt_tokens Int64
    cache_queried_blocks Int64
    cache_hit_blocks Int64
    cache_hit_rate Float64
    cache_token_hit_rate Float64
    unplaced_replicas Int64
    scaling_actions Int64
    mean_replicas Float64
    max_replicas Int64
    forecast_mape Float64
    forecast_rmse Float64
    forecast_fallbacks Int64
    spot_reclaims Int64
    wall_time_s Float64
";

const MODELS: &str = "
    seed UInt64
    model Dictionary(Int32, Utf8)
    node_type Dictionary(Int32, Utf8)
    ready_replicas Int64
    arrivals Int64
    completed Int64
    dropped Int64
    rejected Int64
    truncated Int64
    in_flight_at_end Int64
    sla_met Int64
    sla_missed Int64
    ttft_p50_s Float64
    ttft_p99_s Float64
    tpot_p50_s Float64
    tpot_p99_s Float64
    e2e_p50_s Float64
    e2e_p99_s Float64
    sla_attainment Float64
    goodput_per_s Float64
    output_tokens Int64
    utilization Float64
    kv_utilization Float64
    prefill_tokens Int64
    cached_prompt_tokens Int64
    cache_queried_blocks Int64
    cache_hit_blocks Int64
    cache_hit_rate Float64
    cache_token_hit_rate Float64
    mean_in_system Float64
    node_hours Float64
    node_hours_total Float64
    cost_usd Float64
    cost_total_usd Float64
    cost_per_1k_requests Float64
    mean_replicas Float64
    max_replicas Int64
";

const TIMESERIES: &str = "
    time_s Float64
    interval_s Float64
    model Dictionary(Int32, Utf8)
    node_type Dictionary(Int32, Utf8)
    arrivals Int64
    completions Int64
    dropped Int64
    replicas_provisioning Int64
    replicas_loading Int64
    replicas_ready Int64
    replicas_draining Int64
    queued Int64
    running Int64
    kv_utilization Float64
    ttft_p50_s Float64
    ttft_p99_s Float64
    e2e_p99_s Float64
    tpot_p99_s Float64
    prefill_tokens Int64
    cached_prompt_tokens Int64
    cache_hit_rate Float64
    cost_rate_per_hour Float64
    forecast_per_s Float64
";

const FLEET: &str = "
    time_s Float64
    interval_s Float64
    node_type Dictionary(Int32, Utf8)
    device Dictionary(Int32, Utf8)
    spot Boolean
    nodes Int64
    nodes_booting Int64
    node_hours Float64
    cost_rate_per_hour Float64
    reclaims Int64
";

const ACTIONS: &str = "
    time_s Float64
    model Dictionary(Int32, Utf8)
    node_type Dictionary(Int32, Utf8)
    action Dictionary(Int32, Utf8)
    from_replicas Int64
    to_replicas Int64
    nodes_requested Int64
    unplaced Int64
    reason Utf8
    took_s Float64
";

const LATENCY: &str = "
    model Dictionary(Int32, Utf8)
    metric Dictionary(Int32, Utf8)
    upper_s Float64
    count Int64
";

const REQUESTS: &str = "
    request_id Int64
    arrival_s Float64
    model Dictionary(Int32, Utf8)
    workload Int64
    replica Int64
    node_type Dictionary(Int32, Utf8)
    input_tokens Int64
    output_tokens Int64
    queue_wait_s Float64
    ttft_s Float64
    tpot_s Float64
    e2e_s Float64
    outcome Dictionary(Int32, Utf8)
    sla_met Boolean
    measured Boolean
";

/// `summary.parquet`: the point's keys and run count, then mean and 95% CI of each
/// headline metric, the intervals clipped, then the Pareto flag (a sweep without a
/// baseline or groups: those add columns, pinned in `paired_summary_listing`).
fn summary_listing() -> String {
    let mut lines = vec![
        "point_index Int64".to_owned(),
        "point Utf8".into(),
        "runs Int64".into(),
    ];
    for metric in inferscale::report::POINT_METRICS {
        for stat in ["mean", "ci_low", "ci_high"] {
            lines.push(format!("{metric}_{stat} Float64"));
        }
    }
    lines.push("clipped_intervals Utf8".into());
    lines.push("pareto Boolean".into());
    lines.join("\n")
}

#[test]
fn every_table_keeps_its_column_names_and_types() {
    let dir = TempDir::new("schema");
    let scenario = example_variant(
        &dir,
        "autoscale-hpa",
        &[
            ("replications: 3", "replications: 1"),
            ("duration: 2h", "duration: 20m"),
        ],
    );
    let out = dir.join("out");
    let text = std::fs::read_to_string(&scenario).unwrap() + "output: {requests: {sample: 0.1}}\n";
    std::fs::write(&scenario, text).unwrap();
    inferscale_ok(&["run", &scenario, "-q", "--out", out.to_str().unwrap()]);
    let keyed = |table: &str| format!("{KEYS}{table}");
    check(&out, "requests", &keyed(REQUESTS));
    check(&out, "runs", &keyed(RUNS));
    check(&out, "models", &keyed(MODELS));
    check(&out, "timeseries", &keyed(TIMESERIES));
    check(&out, "fleet", &keyed(FLEET));
    check(&out, "actions", &keyed(ACTIONS));
    check(&out, "latency", &keyed(LATENCY));
    check(&out, "summary", &summary_listing());
    // The POINT_METRICS are pinned too (the summary's columns follow them).
    assert_eq!(
        inferscale::report::POINT_METRICS.join(" "),
        "cost_usd sla_attainment ttft_p50_s ttft_p99_s tpot_p99_s mean_response_s \
         p99_response_s goodput_per_s mean_replicas max_replicas scaling_actions dropped \
         utilization mean_queue_len"
    );

    // A generic run writes the same runs table (the cluster columns null), and its
    // latency histograms.
    let generic = dir.join("generic");
    let mmc = example_variant(&dir, "mmc", &[]);
    inferscale_ok(&["run", &mmc, "-q", "--out", generic.to_str().unwrap()]);
    check(&generic, "runs", &keyed(RUNS));
    check(&generic, "latency", &keyed(LATENCY));
    assert!(!generic.join("timeseries.parquet").exists());
}

/// A sweep with a baseline and a grouping axis adds, after the intervals, the
/// baseline's label, four columns per compared metric and the group.
#[test]
fn a_baseline_adds_paired_columns_and_a_grouping_axis_a_group() {
    let dir = TempDir::new("schema-paired");
    let scenario = example_variant(
        &dir,
        "quickstart-sweep",
        &[
            ("replications: 3", "replications: 2"),
            ("duration: 1h", "duration: 10m"),
            ("warmup: 5m", "warmup: 1m"),
            (
                "  baseline: hpa\n",
                "  baseline: hpa\n  grid: {workload.0.arrivals.poisson.rate.diurnal.mean: [8/s, 16/s]}\n",
            ),
        ],
    );
    let out = dir.join("out");
    inferscale_ok(&["run", &scenario, "-q", "--out", out.to_str().unwrap()]);
    let mut want = vec![
        "point_index Int64".to_owned(),
        "point Utf8".into(),
        "variant Utf8".into(),
        "workload_0_arrivals_poisson_rate_diurnal_mean Utf8".into(),
    ];
    want.extend(
        summary_listing()
            .lines()
            .skip(2)
            .filter(|l| *l != "pareto Boolean")
            .map(str::to_owned),
    );
    want.push("baseline Utf8".into());
    for metric in inferscale::report::DIFF_METRICS {
        for stat in ["diff_mean", "diff_ci_low", "diff_ci_high", "diff_rel"] {
            want.push(format!("{metric}_{stat} Float64"));
        }
    }
    want.push("group Utf8".into());
    want.push("pareto Boolean".into());
    check(&out, "summary", &want.join("\n"));
    assert_eq!(
        inferscale::report::DIFF_METRICS.join(" "),
        "cost_usd sla_attainment ttft_p50_s ttft_p99_s tpot_p99_s mean_response_s \
         p99_response_s goodput_per_s mean_replicas"
    );
    // Each point is compared with the HPA at its own rate, and the front is drawn
    // within each rate.
    let summary = read_parquet(&out.join("summary.parquet")).unwrap();
    let labels = summary.string_column("point").unwrap();
    let baselines = summary.string_column("baseline").unwrap();
    let groups = summary.string_column("group").unwrap();
    for ((label, baseline), group) in labels.iter().zip(&baselines).zip(&groups) {
        let rate = label.rsplit('=').next().unwrap();
        assert_eq!(baseline, &format!("hpa mean={rate}"));
        assert!(group.ends_with(&format!("={rate}")), "{group}");
    }
}
