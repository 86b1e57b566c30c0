//! Every number adds up: cost is the integral of the cost series over the measurement
//! window, every request that arrived after the warm-up is met or missed, and the
//! utilization and requests-in-system columns match closed forms and Little's law.

use inferscale::report::{FleetRow, RunRow, TimeseriesRow};
use inferscale::runner::{RunResults, run_all};

use crate::support::repo;

/// The example `scenarios/<name>.yaml` with each `(from, to)` replaced, run in
/// process.
fn run_example(name: &str, edits: &[(&str, &str)]) -> RunResults {
    let path = repo().join(format!("scenarios/{name}.yaml"));
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{name}.yaml has no `{from}`");
        text = text.replace(from, to);
    }
    run_text(&text, &path.to_string_lossy())
}

fn run_text(text: &str, file: &str) -> RunResults {
    let scenario = inferscale::scenario::parse(text, file).unwrap_or_else(|e| panic!("{e}"));
    run_all(&scenario, Some(2)).unwrap()
}

/// Dollars of the rows after `warmup_s` (all rows with `warmup_s` negative), by the
/// rate times the interval: the integral of the cost series.
fn series_cost(rows: impl Iterator<Item = (f64, f64, f64)>, warmup_s: f64) -> f64 {
    rows.filter(|(t, _, _)| *t > warmup_s)
        .map(|(_, interval_s, rate)| rate * interval_s / 3600.0)
        .sum()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

/// An autoscaled fleet of on-demand GPUs and spot CPU nodes that get reclaimed, with a
/// warm-up that falls between two samples: per replication, the model cost series
/// and the fleet's cost series each integrate over the window to `cost_usd` and over
/// the run to `cost_total_usd` (relative error below 1e-9); the fleet's node-hours to
/// the GPU and CPU node-hours; the models' costs to the run's.
#[test]
fn cost_is_the_integral_of_the_cost_rate_over_the_window() {
    costs_integrate_and_add_up(&[]);
}

/// The same with the GPU node type reserved: one L4 node committed at 30% off for
/// the whole run (the autoscaler runs one to four), the rest on demand — the series
/// still integrate to the bill and the models' costs add up to it, the idle part of
/// the commitment included.
#[test]
fn a_reservation_is_billed_in_the_series_and_the_models_too() {
    let results = costs_integrate_and_add_up(&[(
        "{name: gpu, preset: l4, max_count: 4}",
        "{name: gpu, preset: l4, max_count: 4, billing: {reserved: {nodes: 1, discount: 0.3}}}",
    )]);
    // The commitment alone is a floor: $0.8048/h × 0.7 over the 2 h run.
    for run in &results.runs {
        let llm = run.llm.as_ref().unwrap();
        assert!(
            llm.cost_total_usd >= 0.8048 * 0.7 * 2.0 - 1e-9,
            "{}",
            llm.cost_total_usd
        );
    }
}

fn costs_integrate_and_add_up(extra: &[(&str, &str)]) -> RunResults {
    let warmup_s = 607.0;
    let mut edits = vec![
        ("warmup: 10m", "warmup: 10m7s"),
        // Spot nodes live 40 minutes on average: reclaims in every replication.
        ("mean_lifetime: 2h", "mean_lifetime: 40m"),
        ("duration: 4h", "duration: 2h"),
    ];
    edits.extend_from_slice(extra);
    let results = run_example("mixed-fleet", &edits);
    let reclaims: u64 = results
        .runs
        .iter()
        .map(|r| r.llm.as_ref().unwrap().spot_reclaims)
        .sum();
    assert!(reclaims >= 3, "spot nodes were reclaimed: {reclaims}");
    for run in &results.runs {
        let r = run.replication;
        let llm = run.llm.as_ref().unwrap();
        let ts = || {
            results
                .timeseries
                .iter()
                .filter(move |t| t.replication == r)
                .map(|t: &TimeseriesRow| (t.time_s, t.interval_s, t.cost_rate_per_hour))
        };
        let fleet = || results.fleet.iter().filter(move |f| f.replication == r);
        let fleet_cost = |warm: f64| {
            series_cost(
                fleet().map(|f| (f.time_s, f.interval_s, f.cost_rate_per_hour)),
                warm,
            )
        };
        for (what, got, want) in [
            (
                "model series, window",
                series_cost(ts(), warmup_s),
                llm.cost_usd,
            ),
            (
                "model series, run",
                series_cost(ts(), -1.0),
                llm.cost_total_usd,
            ),
            ("fleet series, window", fleet_cost(warmup_s), llm.cost_usd),
            ("fleet series, run", fleet_cost(-1.0), llm.cost_total_usd),
        ] {
            assert!(
                rel(got, want) < 1e-9,
                "replication {r}: {what}: {got} against {want}"
            );
        }
        let hours = |device: &str, warm: f64| -> f64 {
            fleet()
                .filter(|f: &&FleetRow| f.device == device && f.time_s > warm)
                .map(|f| f.node_hours)
                .sum()
        };
        // Every reclaim notice is in exactly one interval of the fleet series.
        let notices: u64 = fleet().map(|f| f.reclaims).sum();
        assert_eq!(notices, llm.spot_reclaims, "replication {r}");
        assert!(
            fleet().all(|f| f.spot || f.reclaims == 0),
            "an on-demand node type was reclaimed"
        );
        assert!(rel(hours("gpu", warmup_s), llm.gpu_node_hours) < 1e-9);
        assert!(rel(hours("cpu", warmup_s), llm.cpu_node_hours) < 1e-9);
        assert!(rel(hours("gpu", -1.0), llm.gpu_node_hours_total) < 1e-9);
        assert!(rel(hours("cpu", -1.0), llm.cpu_node_hours_total) < 1e-9);
        let models: f64 = results
            .models
            .iter()
            .filter(|m| m.replication == r)
            .map(|m| m.cost_usd)
            .sum();
        assert!(
            rel(models, llm.cost_usd) < 1e-9,
            "{models} vs {}",
            llm.cost_usd
        );
        // The warm-up is a sample boundary, and the window's intervals cover it exactly.
        let window: f64 = ts()
            .filter(|(t, _, _)| *t > warmup_s)
            .map(|(_, i, _)| i)
            .sum::<f64>()
            / 2.0; // two models
        assert!(
            (window - run.window_s).abs() < 1e-6,
            "{window} vs {}",
            run.window_s
        );
        // Cost per request is the window's cost over the window's completions.
        assert!(
            rel(
                llm.cost_per_1k_requests,
                llm.cost_usd / run.completed as f64 * 1e3
            ) < 1e-12
        );
        assert!(llm.cost_total_usd > llm.cost_usd);
    }
    results
}

/// A static fleet's window cost is the bill of the window exactly: one 8-GPU node for
/// an hour with a 10-minute warm-up is billed $40.9657 for the run and 50/60 of it
/// in the window.
/// A reservation bills the commitment whether it runs or not: with two nodes
/// committed at 40% off and one running, the hour costs 2 × 0.6 × $40.9657; with
/// one committed at $20/h, $20; node-hours count the node that ran.
#[test]
fn a_commitment_is_billed_whole() {
    for (reserved, total) in [
        ("{nodes: 2, discount: 0.4}", 2.0 * 0.6 * 40.9657),
        ("{nodes: 1, price_per_hour: 20}", 20.0),
    ] {
        let results = run_example(
            "llm-a100",
            &[
                ("replications: 3", "replications: 1"),
                (
                    "billing: {granularity: 1s, minimum: 60s}",
                    &format!("billing: {{granularity: 1s, minimum: 60s, reserved: {reserved}}}"),
                ),
            ],
        );
        let llm = results.runs[0].llm.as_ref().unwrap();
        assert!(
            (llm.cost_total_usd - total).abs() < 1e-9,
            "{reserved}: {}",
            llm.cost_total_usd
        );
        assert!(
            (llm.cost_usd - total * 50.0 / 60.0).abs() < 1e-9,
            "{reserved}"
        );
        assert!((llm.gpu_node_hours_total - 1.0).abs() < 1e-12);
        let model: f64 = results.models.iter().map(|m| m.cost_total_usd).sum();
        assert!((model - total).abs() < 1e-9, "{reserved}: models {model}");
    }
}

#[test]
fn a_static_fleet_bills_the_window_share_of_the_hour() {
    let results = run_example("llm-a100", &[("replications: 3", "replications: 1")]);
    let llm = results.runs[0].llm.as_ref().unwrap();
    assert!((llm.cost_total_usd - 40.9657).abs() < 1e-9);
    assert!((llm.cost_usd - 40.9657 * 50.0 / 60.0).abs() < 1e-9);
    assert!((llm.gpu_node_hours - 50.0 / 60.0).abs() < 1e-12);
    assert!((llm.gpu_node_hours_total - 1.0).abs() < 1e-12);
}

fn check_every_request_is_judged(run: &RunRow) -> (u64, u64) {
    let llm = run.llm.as_ref().unwrap();
    assert_eq!(
        run.arrivals,
        llm.sla_met + llm.sla_missed,
        "replication {}: arrivals after the warm-up are met or missed",
        run.replication
    );
    assert_eq!(
        run.arrivals,
        run.completed + llm.dropped + llm.rejected + run.in_flight_at_end,
        "replication {}: every arrival after the warm-up is accounted for",
        run.replication
    );
    let attainment = llm.sla_met as f64 / run.arrivals as f64;
    assert!((llm.sla_attainment - attainment).abs() < 1e-15);
    (llm.sla_missed, llm.dropped)
}

/// An autoscaled cluster driven far past its quota (two nodes, 120 requests/s), with
/// a bounded queue and a timeout: requests are dropped, time out, finish late and are
/// still queued at the end, and every one that arrived after the warm-up is either met
/// or missed — in the run row and in each model row.
/// The same on the `vllm` stack, whose engine holds a step's tokens back until the
/// next step ends: a request finished in the last step before the horizon is still in
/// flight (it was counted nowhere before the in-flight walk held completions back).
#[test]
fn held_back_completions_are_accounted_for_at_the_horizon() {
    let results = run_example(
        "autoscale-hpa",
        &[
            ("replications: 3", "replications: 2"),
            ("duration: 2h", "duration: 30m"),
            ("mean: 25/s", "mean: 60/s"),
            (
                "    sla: {ttft_p99: 2s, tpot_p99: 100ms}",
                "    sla: {ttft_p99: 2s, tpot_p99: 100ms}\n    serving: {engine: vllm}",
            ),
        ],
    );
    for run in &results.runs {
        check_every_request_is_judged(run);
    }
}

/// A request sent within the client latency of the horizon reaches the cluster after
/// it and is not part of the run: the run-out, which follows what was in flight at the
/// horizon, must not serve it (it did, and counted it met: SLA attainment above 1).
#[test]
fn no_request_reaching_the_cluster_after_the_horizon_is_judged() {
    let results = run_example(
        "llm-a100",
        &[("    serving:\n", "    serving:\n      engine: vllm\n")],
    );
    for run in &results.runs {
        check_every_request_is_judged(run);
        let llm = run.llm.as_ref().unwrap();
        assert!(
            (0.0..=1.0).contains(&llm.sla_attainment),
            "{}",
            llm.sla_attainment
        );
    }
    for m in &results.models {
        assert_eq!(m.arrivals, m.sla_met + m.sla_missed, "{}", m.model);
    }
}

#[test]
fn every_arrival_after_the_warm_up_is_met_or_missed_under_overload() {
    let results = run_example(
        "autoscale-hpa",
        &[
            ("replications: 3", "replications: 2"),
            ("duration: 2h", "duration: 30m"),
            ("max_count: 4", "max_count: 2"),
            ("mean: 25/s", "mean: 120/s"),
            (
                "    sla: {ttft_p99: 2s, tpot_p99: 100ms}",
                "    sla: {ttft_p99: 2s, tpot_p99: 100ms}\n    max_queue: 200\n    timeout: 20s",
            ),
        ],
    );
    for run in &results.runs {
        let (missed, dropped) = check_every_request_is_judged(run);
        assert!(missed > 0 && dropped > 0, "the cluster is overloaded");
        assert!(
            run.in_flight_at_end > 0,
            "requests are still queued at the end"
        );
        let llm = run.llm.as_ref().unwrap();
        assert!(llm.sla_attainment < 0.9, "{}", llm.sla_attainment);
    }
    for m in &results.models {
        assert_eq!(m.arrivals, m.sla_met + m.sla_missed, "{}", m.model);
        assert_eq!(
            m.arrivals,
            m.completed + m.dropped + m.rejected + m.in_flight_at_end,
            "{}",
            m.model
        );
    }
}

/// Requests in flight at the end are followed to their outcome, not counted as
/// misses: a fixed fleet with ample capacity (four replicas at 12 requests/s) meets
/// every request, including the dozens still running when the run ends.
#[test]
fn requests_in_flight_at_the_end_are_judged_not_censored() {
    let results = run_example(
        "llm-a100",
        &[
            ("replications: 3", "replications: 2"),
            ("rate: 20/s", "rate: 12/s"),
        ],
    );
    for run in &results.runs {
        check_every_request_is_judged(run);
        assert!(run.in_flight_at_end > 10, "{}", run.in_flight_at_end);
        let llm = run.llm.as_ref().unwrap();
        assert!(
            llm.sla_met > run.completed,
            "in-flight requests can meet the SLA"
        );
        assert!(llm.sla_attainment > 0.999, "{}", llm.sla_attainment);
    }
}

/// A classic model served one request at a time is an M/D/1 queue: its busy share is
/// ρ = λ·S and its time-average number in the system L = ρ + λ²S²/(2(1 − ρ)), both
/// from the closed form (ResNet-50 on a T4 takes 12.96 ms for a batch of one).
#[test]
fn classic_utilization_and_requests_in_system_match_m_d_1() {
    let (lambda, service) = (20.0, 0.012_96);
    let text = format!(
        "name: md1-classic\nseed: 4\nreplications: 4\nduration: 1h5m\nwarmup: 5m\n\
         hardware:\n  - {{name: t4, preset: t4}}\n\
         models:\n  - name: classify\n    classic: {{preset: resnet-50}}\n    placement: t4\n    replicas: 1\n    initial: ready\n\
         \x20   serving: {{max_batch: 1, max_queue_delay: 0ms}}\n\
         workload:\n  - model: classify\n    arrivals: {{poisson: {{rate: {lambda}/s}}}}\n"
    );
    let results = run_text(&text, "md1-classic.yaml");
    let rho: f64 = lambda * service;
    let l = rho + lambda * lambda * service * service / (2.0 * (1.0 - rho));
    let n = results.runs.len() as f64;
    let utilization = results.runs.iter().map(|r| r.utilization).sum::<f64>() / n;
    let in_system = results
        .runs
        .iter()
        .map(|r| r.mean_in_system.unwrap())
        .sum::<f64>()
        / n;
    // 288,000 arrivals: the standard errors are about 0.3% and 0.5%.
    assert!(
        rel(utilization, rho) < 0.02,
        "utilization {utilization} vs {rho}"
    );
    assert!(rel(in_system, l) < 0.03, "L {in_system} vs {l}");
}

/// For LLM replicas the busy share is below one at light load, and the time-average
/// number of requests in the system obeys Little's law against the run's own arrival
/// rate and mean end-to-end latency.
#[test]
fn llm_utilization_and_requests_in_system_hold_little_s_law() {
    let results = run_example(
        "llm-a100",
        &[
            ("replications: 3", "replications: 2"),
            ("rate: 20/s", "rate: 1/s"),
        ],
    );
    for run in &results.runs {
        let l = run.mean_in_system.unwrap();
        let little = run.arrivals as f64 / run.window_s * run.mean_response_s;
        assert!(rel(l, little) < 0.03, "L {l} vs λW {little}");
        // Four replicas share one request per second of about a second each.
        assert!(
            run.utilization > 0.05 && run.utilization < 0.5,
            "{}",
            run.utilization
        );
        // A replica is busy only while it holds a request: busy share ≤ L per replica.
        assert!(run.utilization <= l / 4.0 + 1e-9);
    }
}
