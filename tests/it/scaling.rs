//! The scaling loop end to end: deciders checked against independent references
//! (Erlang C confirmed by simulation), and the HPA scenario's behaviour.

use inferscale::policy::decide::{DecideInput, Decider, Queueing, Stabilizer};
use inferscale::policy::monitor::{Metrics, Snapshot};
use inferscale::policy::queueing::mmc_response_quantile;

fn metrics_at_rate(rate: f64) -> Metrics {
    Metrics {
        now_s: 0.0,
        latest: Snapshot {
            t_s: 0.0,
            arrival_rate: rate,
            utilization: 0.0,
            in_flight: 0.0,
            router_queue: 0.0,
            kv_utilization: 0.0,
            cache_hit_rate: f64::NAN,
            waiting: 0.0,
            ttft_p99_s: f64::NAN,
            output_tokens_per_s: 0.0,
            desired: 1,
            ready: 1,
            replicas: Vec::new(),
        },
        arrival_rate: rate,
        utilization: 0.0,
        in_flight: 0.0,
        window_history: None,
    }
}

/// p90 of the M/M/c response time from the simulator, over 4 replications of
/// 250,000 customers each.
fn simulated_p90(servers: u32, lambda: f64) -> f64 {
    let hours = 250_000.0 / lambda / 3600.0;
    let text = format!(
        "name: mmc-{servers}\nseed: 5\nreplications: 4\nduration: {:.0}s\nwarmup: 10m\nmodels:\n  - name: m\n    generic: {{servers: {servers}, service_time: {{exponential: {{mean: 1s}}}}}}\nworkload:\n  - model: m\n    arrivals: {{poisson: {{rate: {lambda}/s}}}}\n",
        hours * 3600.0 + 600.0
    );
    let scenario = inferscale::scenario::parse(&text, "mmc.yaml").unwrap_or_else(|e| panic!("{e}"));
    let rows = inferscale::runner::run_replications(&scenario, Some(2)).unwrap();
    rows.iter().map(|r| r.p90_response_s).sum::<f64>() / rows.len() as f64
}

/// With a perfect forecast of a stationary Poisson load, the queueing decider picks
/// the smallest server count whose Erlang-C p90 response time meets the target, and
/// the simulation agrees: at that count the simulated p90 meets it, one fewer misses.
/// The target sits midway between the closed-form p90 at 10 and at 9 servers, so
/// the right answer is 10.
#[test]
fn the_queueing_decider_picks_the_smallest_sufficient_count_and_simulation_confirms_it() {
    let (lambda, mu) = (7.2, 1.0);
    let (q10, q9) = (
        mmc_response_quantile(10, lambda, mu, 0.9),
        mmc_response_quantile(9, lambda, mu, 0.9),
    );
    let target = 0.5 * (q10 + q9);
    let mut decider = Queueing {
        service_rate: mu,
        servers_per_replica: 1,
        percentile: 0.9,
        target_s: target,
        min: 1,
        max: 64,
        stabilizer: Stabilizer::new(300.0),
    };
    let metrics = metrics_at_rate(lambda);
    let decision = decider.decide(&DecideInput {
        metrics: &metrics,
        forecast_per_s: Some(lambda),
        peak_forecast_per_s: None,
        interval_s: 15.0,
    });
    assert_eq!(decision.replicas, Some(10), "{}", decision.reason);
    let (sim10, sim9) = (simulated_p90(10, lambda), simulated_p90(9, lambda));
    eprintln!(
        "p90: closed form {q10:.4} / {q9:.4} s, simulated {sim10:.4} / {sim9:.4} s, target {target:.4} s"
    );
    assert!(
        sim10 <= target,
        "10 servers: simulated p90 {sim10} > target {target}"
    );
    assert!(
        sim9 > target,
        "9 servers: simulated p90 {sim9} ≤ target {target}"
    );
    // And the simulation matches the closed form itself within 2%.
    assert!((sim10 / q10 - 1.0).abs() < 0.02, "{sim10} vs {q10}");
    assert!((sim9 / q9 - 1.0).abs() < 0.02, "{sim9} vs {q9}");
}

/// The HPA scenario scales out at the peaks and back in at the troughs, every request
/// is accounted for, the loop's actions are logged, and the autoscaled fleet costs
/// less than a fleet fixed at the HPA's maximum.
#[test]
fn the_hpa_follows_the_diurnal_load() {
    let scenario = inferscale::scenario::load("scenarios/autoscale-hpa.yaml".as_ref()).unwrap();
    let results = inferscale::runner::run_all(&scenario, Some(2)).unwrap();
    for run in &results.runs {
        let llm = run.llm.as_ref().unwrap();
        assert!(llm.scaling_actions >= 4, "{llm:?}");
        assert!(llm.max_replicas > 2 && llm.max_replicas <= 16, "{llm:?}");
        assert!(
            llm.mean_replicas > 2.0 && llm.mean_replicas < 16.0,
            "{llm:?}"
        );
        assert!(llm.sla_attainment > 0.95, "{llm:?}");
        assert_eq!(
            run.arrivals,
            run.completed + llm.dropped + llm.rejected + run.in_flight_at_end
        );
    }
    let ups = results
        .actions
        .iter()
        .filter(|a| a.action == "scale_up")
        .count();
    let downs = results
        .actions
        .iter()
        .filter(|a| a.action == "scale_down")
        .count();
    assert!(ups >= 3 && downs >= 3, "{ups} up, {downs} down");
    assert!(
        results
            .actions
            .iter()
            .all(|a| a.took_s.is_none_or(|t| t >= 0.0))
    );
    assert!(
        results
            .actions
            .iter()
            .all(|a| a.reason.starts_with("hpa: "))
    );
    // Scale-ups that needed a new node took at least its boot time (≥ 60 s).
    assert!(
        results
            .actions
            .iter()
            .filter(|a| a.nodes_requested > 0)
            .all(|a| a.took_s.is_none_or(|t| t >= 60.0))
    );

    // The same load on 16 fixed replicas.
    let fixed_text = std::fs::read_to_string("scenarios/autoscale-hpa.yaml")
        .unwrap()
        .replace("    replicas: 2\n", "    replicas: 16\n");
    let fixed_text = fixed_text[..fixed_text.find("policy:").unwrap()].to_string();
    let fixed = inferscale::scenario::parse(&fixed_text, "fixed.yaml").unwrap();
    let fixed_runs = inferscale::runner::run_replications(&fixed, Some(2)).unwrap();
    let cost = |rows: &[inferscale::report::RunRow]| {
        rows.iter()
            .map(|r| r.llm.as_ref().unwrap().cost_usd)
            .sum::<f64>()
            / rows.len() as f64
    };
    let (auto, fixed_cost) = (cost(&results.runs), cost(&fixed_runs));
    assert!(
        auto < 0.8 * fixed_cost,
        "autoscaled ${auto:.2} vs fixed ${fixed_cost:.2}"
    );
}

/// The loop's decisions do not depend on the thread count.
#[test]
fn scaling_actions_are_deterministic() {
    let scenario = inferscale::scenario::load("scenarios/autoscale-hpa.yaml".as_ref()).unwrap();
    let one = inferscale::runner::run_all(&scenario, Some(1)).unwrap();
    let two = inferscale::runner::run_all(&scenario, Some(2)).unwrap();
    assert_eq!(one.actions, two.actions);
    assert!(!one.actions.is_empty());
}

/// `cost_optimal` on the mixed fleet of `scenarios/mixed-fleet.yaml`: at a steady
/// 1 request/s one CPU node ($0.65/h) is cheaper than an L4 ($0.80/h), so the fleet
/// moves to CPU; at 6/s one L4 (12/s) beats three CPU nodes ($1.95/h), so it stays on
/// the GPU. The crossover is the per-request cost by hand: with 0.8 headroom a CPU node
/// covers 2.8/s, and ⌈D/2.8⌉ × 0.65 > 0.80 once D > 2.8/s. Every move keeps the SLA
/// (new replicas start before old ones drain).
#[test]
fn cost_optimal_moves_between_cpu_and_gpu_at_the_hand_computed_crossover() {
    let text = std::fs::read_to_string("scenarios/mixed-fleet.yaml").unwrap();
    let diurnal = "rate: {diurnal: {mean: 6.25/s, peak_to_trough: 24, period: 2h, phase: 0s}}";
    assert!(text.contains(diurnal));
    let run = |rate: &str| {
        let t = text
            .replace(diurnal, &format!("rate: {rate}"))
            .replace("replications: 3", "replications: 1")
            .replace("duration: 4h", "duration: 40m");
        let scenario =
            inferscale::scenario::parse(&t, "mixed.yaml").unwrap_or_else(|e| panic!("{e}"));
        inferscale::runner::run_all(&scenario, Some(1)).unwrap()
    };
    let mean_replicas = |r: &inferscale::runner::RunResults, model: &str| {
        r.models
            .iter()
            .find(|m| m.model == model)
            .unwrap()
            .mean_replicas
    };
    let low = run("1/s");
    assert!(mean_replicas(&low, "small-cpu") > 0.9, "{:?}", low.models);
    assert!(mean_replicas(&low, "small") < 0.1, "{:?}", low.models);
    let high = run("6/s");
    assert!(mean_replicas(&high, "small") > 0.99, "{:?}", high.models);
    assert!(
        mean_replicas(&high, "small-cpu") < 0.01,
        "{:?}",
        high.models
    );
    for r in [&low, &high] {
        let llm = r.runs[0].llm.as_ref().unwrap();
        assert!(llm.sla_attainment > 0.99, "{llm:?}");
    }
    let low_cost = low.runs[0].llm.as_ref().unwrap().cost_usd;
    let high_cost = high.runs[0].llm.as_ref().unwrap().cost_usd;
    assert!(
        low_cost < high_cost,
        "${low_cost} at 1/s vs ${high_cost} at 8/s"
    );
}

/// A latency-driven rule: step scaling on the model's p99 TTFT of the last interval
/// scales out when the diurnal peak makes first tokens slow.
#[test]
fn a_threshold_on_ttft_scales_out_when_first_tokens_slow_down() {
    let text = std::fs::read_to_string("scenarios/autoscale-hpa.yaml").unwrap();
    let text = format!(
        "{}policy:\n  interval: 15s\n  decider: {{kind: threshold, metric: ttft_p99, upper: 0.25, lower: 0.08, step_up: 2, cooldown_up: 60s, cooldown_down: 300s, min: 1, max: 16}}\n",
        &text[..text.find("policy:").unwrap()]
    )
    .replace("replications: 3", "replications: 1");
    let scenario =
        inferscale::scenario::parse(&text, "ttft.yaml").unwrap_or_else(|e| panic!("{e}"));
    let results = inferscale::runner::run_all(&scenario, Some(1)).unwrap();
    let ups: Vec<_> = results
        .actions
        .iter()
        .filter(|a| a.action == "scale_up")
        .collect();
    assert!(!ups.is_empty(), "{:?}", results.actions);
    assert!(
        ups.iter().all(|a| a.reason.starts_with("threshold: ")),
        "{ups:?}"
    );
    let llm = results.runs[0].llm.as_ref().unwrap();
    assert!(llm.max_replicas > 2, "{llm:?}");
}

/// The same diurnal HPA scenario driven by the waiting queue and by the KV cache's
/// use: each scales out when its signal rises (so the cluster reports waiting
/// requests and KV use to the loop) and back in at the trough.
#[test]
fn thresholds_on_the_queue_and_the_kv_cache_scale_with_the_load() {
    let text = std::fs::read_to_string("scenarios/autoscale-hpa.yaml").unwrap();
    for decider in [
        "{kind: threshold, metric: queue_length, upper: 2, lower: 0.1, min: 1, max: 16, cooldown_down: 120s}",
        "{kind: target_tracking, metric: kv_utilization, target: 0.05, min: 1, max: 16}",
    ] {
        let text = format!(
            "{}policy:\n  interval: 15s\n  decider: {decider}\n",
            &text[..text.find("policy:").unwrap()]
        )
        .replace("replications: 3", "replications: 1");
        let scenario =
            inferscale::scenario::parse(&text, "signal.yaml").unwrap_or_else(|e| panic!("{e}"));
        let results = inferscale::runner::run_all(&scenario, Some(1)).unwrap();
        let count = |what: &str| results.actions.iter().filter(|a| a.action == what).count();
        assert!(
            count("scale_up") > 0 && count("scale_down") > 0,
            "{decider}: {:?}",
            results.actions
        );
        let llm = results.runs[0].llm.as_ref().unwrap();
        assert!(llm.max_replicas > 2, "{decider}: {llm:?}");
    }
}

/// Mean SLA attainment and cost of `scenario`'s runs.
fn attainment_and_cost(scenario: &inferscale::scenario::Scenario) -> (f64, f64) {
    let runs = inferscale::runner::run_replications(scenario, Some(2)).unwrap();
    let n = runs.len() as f64;
    let mean = |f: fn(&inferscale::report::LlmColumns) -> f64| {
        runs.iter().map(|r| f(r.llm.as_ref().unwrap())).sum::<f64>() / n
    };
    (mean(|l| l.sla_attainment), mean(|l| l.cost_usd))
}

/// Predictive sizing does not undersize: on a fast diurnal load (3–55 requests/s,
/// `scenarios/predictive-sizing.yaml`), queueing with the oracle meets the SLA at
/// least as often as queueing with last_value (the reactive baseline), and costs
/// less than a static fleet sized by the same queueing model for the peak rate; the
/// same for cost_optimal against the cheapest static mix covering the peak. (Sizing
/// for the forecast at t + horizon alone scaled in before the load had fallen.)
#[test]
fn predictive_sizing_meets_the_sla_at_less_than_a_peak_fleet() {
    use inferscale::policy::cost::{NodeOption, cheapest_mix};
    use inferscale::policy::queueing::servers_for_percentile;
    use inferscale::scenario::{LlmSystem, RequestSource, System};

    let path = crate::support::repo().join("scenarios/predictive-sizing.yaml");
    let sweep = inferscale::scenario::load_sweep(&path).unwrap_or_else(|e| panic!("{e}"));
    let point = |label: &str| {
        sweep
            .points
            .iter()
            .find(|p| p.label == label)
            .unwrap_or_else(|| panic!("no point `{label}`"))
    };
    let base = &point("queueing+oracle").scenario;
    // The peak of the true rate, sampled every second over the run.
    let System::Llm(LlmSystem { workloads, .. }) = &base.system else {
        panic!("an LLM scenario");
    };
    let RequestSource::Synthetic { arrivals, .. } = &workloads[0].source else {
        panic!("synthetic arrivals");
    };
    let peak = (0..=base.duration.as_secs_f64() as u64)
        .map(|t| arrivals.expected_rate_at(t as f64))
        .fold(0.0, f64::max);
    assert!(
        (peak - 2.0 * 30.0 * 10.0 / 11.0).abs() < 0.01,
        "peak {peak}"
    );

    // Static fleets sized for the peak by each decider's own model.
    let queueing_peak = servers_for_percentile(peak, 1.0, 0.99, 8.0, 1000).div_ceil(16);
    let option = |price, capacity, quota| NodeOption {
        name: String::new(),
        price_per_hour: price,
        capacity,
        quota,
        spot: false,
    };
    let mix = cheapest_mix(
        &[option(0.8048, 12.0, 8), option(0.65, 3.5, 8)],
        peak / 0.9,
        0.0,
    )
    .unwrap();
    let static_fleet = |gpu: u32, cpu: u32| {
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text[..text.find("\npolicy:").unwrap()]
            .replace("    replicas: 2\n", &format!("    replicas: {gpu}\n"))
            .replace("    replicas: 0\n", &format!("    replicas: {cpu}\n"));
        inferscale::scenario::parse(&text, &path.to_string_lossy())
            .unwrap_or_else(|e| panic!("{e}"))
    };

    for (decider, (gpu, cpu)) in [
        ("queueing", (queueing_peak, 0)),
        ("cost_optimal", (mix.counts[0], mix.counts[1])),
    ] {
        let (sla_oracle, cost_oracle) =
            attainment_and_cost(&point(&format!("{decider}+oracle")).scenario);
        let (sla_reactive, cost_reactive) =
            attainment_and_cost(&point(&format!("{decider}+last_value")).scenario);
        let (sla_static, cost_static) = attainment_and_cost(&static_fleet(gpu, cpu));
        println!(
            "{decider}: oracle SLA {sla_oracle:.5} ${cost_oracle:.3}; last_value SLA {sla_reactive:.5} \
             ${cost_reactive:.3}; static {gpu} GPU + {cpu} CPU for the peak SLA {sla_static:.5} ${cost_static:.3}"
        );
        assert!(
            sla_oracle >= sla_reactive,
            "{decider}: the oracle meets the SLA less often ({sla_oracle} < {sla_reactive})"
        );
        assert!(sla_oracle > 0.999, "{decider}: oracle SLA {sla_oracle}");
        assert!(
            cost_oracle < cost_static,
            "{decider}: the oracle costs {cost_oracle} against {cost_static} for the peak fleet"
        );
    }
}
