//! The cluster's unit tests.

use super::*;
use crate::control::{ClusterView, ModelView, Placement, RemovalOrder};
use crate::{AcceleratorSpec, DeviceKind, Efficiency, LlmSpec};
use crate::{LlmServerConfig, NodeType, Request, Roofline, Sla};
use inferscale_engine::Dist;
use inferscale_engine::SimDuration;
use rand_distr::{Distribution, Exp1};

fn node_type(max_count: Option<u32>) -> NodeType {
    NodeType {
        name: "gpu8".into(),
        accelerator: AcceleratorSpec {
            kind: DeviceKind::Gpu,
            peak_flops: 312e12,
            peak_int8_ops: None,
            memory_bytes: 80e9,
            memory_bandwidth: 2039e9,
            interconnect_bandwidth: 300e9,
        },
        accelerators_per_node: 8,
        price_per_hour: 32.0,
        spot_price_per_hour: None,
        boot_time: Dist::deterministic(120.0).unwrap(),
        load_bandwidth: 2e9,
        max_count,
    }
}

fn deployment(replicas: u32, tp: u32, routing: RoutingPolicy) -> Deployment {
    let model = LlmSpec {
        name: "toy-8b".into(),
        params: 8e9,
        layers: 32,
        hidden: 4096,
        heads: 32,
        kv_heads: 8,
        intermediate: 14336,
        vocab: 128256,
        dtype_bytes: 2.0,
        max_context: 8192,
        experts: 1,
        experts_per_token: 1,
    };
    let roofline = Roofline::new(
        model,
        node_type(None).accelerator,
        tp,
        Efficiency::CALIBRATED,
    );
    let server = LlmServerConfig::vllm_defaults(&roofline, 0.1, 8192);
    Deployment {
        name: "chat".into(),
        serving: Serving::Llm { roofline, server },
        pool: 0,
        replicas,
        container_start: SimDuration::from_secs(30),
        sla: Sla {
            ttft: Some(SimDuration::from_secs(2)),
            tpot: Some(SimDuration::from_millis(100)),
            e2e: None,
        },
        routing,
        max_queue: None,
        initial_ready: false,
    }
}

fn pool(max_count: Option<u32>) -> NodePool {
    NodePool {
        node_type: node_type(max_count),
        billing_granularity: SimDuration::from_secs(1),
        billing_minimum: SimDuration::from_secs(60),
        spot: None,
        reserved: None,
    }
}

fn poisson(rate: f64, until_s: f64, seed: u64) -> Box<dyn inferscale_workload::Arrivals> {
    let mut rng = RngStreams::new(seed, 0).stream("arrivals");
    let mut t = 0.0;
    Box::new(inferscale_workload::PlainArrivals(std::iter::from_fn(
        move || {
            let gap: f64 = Exp1.sample(&mut rng);
            t += gap / rate;
            (t < until_s).then(|| Request {
                id: 0,
                arrival: SimTime::from_secs_f64(t),
                prompt: 512,
                output: 128,
                chain: 0,
            })
        },
    )))
}

fn run(models: Vec<Deployment>, max_count: Option<u32>, rate: f64, secs: u64) -> ClusterReport {
    run_with(models, max_count, rate, secs, Vec::new())
}

fn run_with(
    models: Vec<Deployment>,
    max_count: Option<u32>,
    rate: f64,
    secs: u64,
    replica_changes: Vec<ReplicaChange>,
) -> ClusterReport {
    let config = ClusterConfig {
        pools: vec![pool(max_count)],
        models,
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs(secs),
        sample_interval: Some(SimDuration::from_secs(10)),
        replica_changes,
        router_groups: Vec::new(),
        watchdog: Default::default(),
    };
    let streams = vec![RequestStream {
        model: 0,
        requests: poisson(rate, secs as f64, 1),
    }];
    simulate_cluster(config, streams, &RngStreams::new(7, 0)).unwrap()
}

/// Five TP-2 replicas need 10 GPUs: two 8-GPU nodes, each billed for the whole
/// hour from the moment it was requested: cost = 2 × 1 h × price, exactly.
#[test]
fn cost_is_node_lifetime_times_price() {
    let report = run(
        vec![deployment(5, 2, RoutingPolicy::RoundRobin)],
        None,
        1.0,
        3600,
    );
    assert_eq!(report.pools[0].nodes, 2);
    assert_eq!(report.pools[0].node_hours, 2.0);
    assert_eq!(report.cost, 64.0);
    assert_eq!(report.models[0].cost, 64.0);
    assert_eq!(report.models[0].node_hours, 2.0);
    assert_eq!(report.models[0].ready_replicas, 5);
}

#[test]
fn billing_rounds_up_and_has_a_minimum() {
    let p = pool(None);
    assert_eq!(
        billed(SimDuration::from_millis(61_200), &p),
        SimDuration::from_secs(62)
    );
    assert_eq!(
        billed(SimDuration::from_secs(5), &p),
        SimDuration::from_secs(60)
    );
}

/// Nothing is served before the node boots (120 s) and the weights load
/// (16 GB at 2 GB/s + 30 s container start = 38 s).
#[test]
fn the_first_token_waits_for_boot_and_load() {
    let report = run(
        vec![deployment(1, 1, RoutingPolicy::RoundRobin)],
        None,
        0.5,
        600,
    );
    let first_ready = 120.0 + 8.0 + 30.0;
    let m = &report.models[0];
    assert!(m.outcomes.completed > 100);
    // The earliest request (arrived near t = 0) waited for the replica.
    assert!(m.outcomes.ttft.quantile_s(1.0) > first_ready - 5.0);
    assert!(
        m.outcomes.ttft.quantile_s(0.5) < 1.0,
        "later requests are served at once"
    );
}

#[test]
fn quotas_limit_nodes_and_unplaced_replicas_are_reported() {
    let report = run(
        vec![deployment(6, 2, RoutingPolicy::RoundRobin)],
        Some(1),
        1.0,
        600,
    );
    assert_eq!(report.pools[0].nodes, 1);
    assert_eq!(report.models[0].ready_replicas, 4);
    assert_eq!(report.models[0].unplaced_replicas, 2);
}

#[test]
fn every_request_is_accounted_for_under_overload() {
    let mut d = deployment(2, 1, RoutingPolicy::Random);
    d.max_queue = Some(50);
    let report = run(vec![d], None, 60.0, 600);
    let m = &report.models[0];
    let o = &m.outcomes;
    assert!(o.dropped > 0, "the bounded queue never overflowed");
    assert_eq!(
        m.arrivals,
        o.completed + o.dropped + o.rejected + m.in_flight_at_end
    );
    assert!(
        m.replica_time.utilization() > 0.9 && m.replica_time.utilization() <= 1.0,
        "{}",
        m.replica_time.utilization()
    );
}

/// Load-aware routing beats blind routing on the tail (a warm fleet, so the tail is
/// the steady state's, not a cold start's backlog).
#[test]
fn least_outstanding_beats_random_on_tail_latency() {
    let p90 = |routing| {
        let mut model = deployment(8, 1, routing);
        model.initial_ready = true;
        let report = run(vec![model], None, 24.0, 1800);
        report.models[0].outcomes.e2e.quantile_s(0.9)
    };
    let random = p90(RoutingPolicy::Random);
    let least = p90(RoutingPolicy::LeastOutstanding);
    let two = p90(RoutingPolicy::PowerOfTwo);
    assert!(
        least < random,
        "least outstanding {least} vs random {random}"
    );
    assert!(two < random, "power of two {two} vs random {random}");
}

#[test]
fn same_seed_same_report() {
    let a = run(
        vec![deployment(3, 1, RoutingPolicy::PowerOfTwo)],
        None,
        10.0,
        900,
    );
    let b = run(
        vec![deployment(3, 1, RoutingPolicy::PowerOfTwo)],
        None,
        10.0,
        900,
    );
    assert_eq!(a.events, b.events);
    assert_eq!(
        a.models[0].outcomes.e2e.mean_s().to_bits(),
        b.models[0].outcomes.e2e.mean_s().to_bits()
    );
}

/// The time series adds up to the totals and shows the lifecycle: nothing ready
/// before boot + load, then every replica ready.
#[test]
fn the_time_series_adds_up_and_shows_the_lifecycle() {
    let report = run(
        vec![deployment(3, 1, RoutingPolicy::LeastOutstanding)],
        None,
        5.0,
        600,
    );
    let series = &report.timeseries;
    assert_eq!(series.len(), 60);
    let m = &report.models[0];
    assert_eq!(series.iter().map(|s| s.arrivals).sum::<u64>(), m.arrivals);
    assert_eq!(
        series.iter().map(|s| s.completions).sum::<u64>(),
        m.outcomes.completed
    );
    // Boot 120 s, load 38 s: provisioning until 120 s, loading until 158 s.
    let at = |t: u64| {
        series
            .iter()
            .find(|s| s.time == SimTime::from_secs(t))
            .unwrap()
    };
    assert_eq!((at(110).provisioning, at(110).ready), (3, 0));
    assert_eq!((at(150).loading, at(150).ready), (3, 0));
    assert_eq!(at(160).ready, 3);
    assert!(
        at(150).queued > 100,
        "requests pile up before the first replica is ready"
    );
    assert!(at(600).queued < 20);
    // One 8-GPU node at $32/h, all of it attributed to this model.
    assert!(
        series
            .iter()
            .all(|s| (s.cost_rate_per_hour - 32.0).abs() < 1e-9)
    );
}

/// Scaling down drains the newest replicas (they finish their requests, then go,
/// and an emptied node stops billing); scaling up places new replicas, booting a
/// node when none has room. Four TP-4 replicas fill two 8-GPU nodes.
#[test]
fn draining_releases_nodes_and_scaling_up_boots_new_ones() {
    let changes = vec![
        ReplicaChange {
            at: SimTime::from_secs(1200),
            model: 0,
            replicas: 2,
        },
        ReplicaChange {
            at: SimTime::from_secs(2400),
            model: 0,
            replicas: 4,
        },
    ];
    let report = run_with(
        vec![deployment(4, 4, RoutingPolicy::LeastOutstanding)],
        None,
        8.0,
        3600,
        changes,
    );
    let m = &report.models[0];
    assert_eq!(
        m.arrivals,
        m.outcomes.completed + m.outcomes.dropped + m.outcomes.rejected + m.in_flight_at_end
    );
    assert_eq!(m.outcomes.dropped, 0, "draining must not lose requests");
    // Three nodes: two at the start, one more when scaling back up.
    assert_eq!(report.pools[0].nodes, 3);
    // Node 1: the whole hour. Node 2: until its replicas drained, a little after
    // 1200 s. Node 3: from 2400 s on.
    let hours = report.pools[0].node_hours;
    assert!(
        hours > 1.0 + 1200.0 / 3600.0 + 1200.0 / 3600.0 - 1e-9,
        "{hours}"
    );
    assert!(hours < 1.0 + 1300.0 / 3600.0 + 1200.0 / 3600.0, "{hours}");
    let at = |t: u64| {
        report
            .timeseries
            .iter()
            .find(|s| s.time == SimTime::from_secs(t))
            .unwrap()
    };
    assert_eq!(at(1190).ready, 4);
    assert_eq!(at(1300).ready, 2);
    // The new node boots for 120 s and loads for 38 s.
    assert_eq!((at(2510).provisioning, at(2510).ready), (2, 2));
    assert_eq!(at(2600).ready, 4);
}

/// A controller that follows a timetable and records what it saw.
struct Scripted {
    plan: Vec<(u64, u32)>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<ModelView>>>,
}

impl Controller for Scripted {
    fn interval(&self) -> SimDuration {
        SimDuration::from_secs(60)
    }

    fn tick(&mut self, view: &ClusterView) -> Result<Vec<crate::control::ScaleAction>, String> {
        self.seen.lock().unwrap().push(view.models[0].clone());
        let now = view.now.as_secs_f64() as u64;
        Ok(self
            .plan
            .iter()
            .filter(|(t, _)| *t == now)
            .map(|&(_, replicas)| crate::control::ScaleAction {
                model: 0,
                replicas,
                reason: format!("plan at {now} s"),
                forecast_per_s: None,
            })
            .collect())
    }
}

/// One model on `pool`, Poisson requests at `rate` for `secs`, under `controller`
/// carried out by `executor`.
fn controlled_run(
    pool: NodePool,
    model: Deployment,
    rate: f64,
    secs: u64,
    seed: u64,
    controller: Box<dyn Controller>,
    executor: ExecutorConfig,
) -> ClusterReport {
    try_controlled_run(pool, model, rate, secs, seed, controller, executor).unwrap()
}

fn try_controlled_run(
    pool: NodePool,
    model: Deployment,
    rate: f64,
    secs: u64,
    seed: u64,
    controller: Box<dyn Controller>,
    executor: ExecutorConfig,
) -> Result<ClusterReport, crate::RunError> {
    let config = ClusterConfig {
        pools: vec![pool],
        models: vec![model],
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs(secs),
        sample_interval: None,
        replica_changes: Vec::new(),
        router_groups: Vec::new(),
        watchdog: Default::default(),
    };
    let streams = vec![RequestStream {
        model: 0,
        requests: poisson(rate, secs as f64, seed),
    }];
    simulate_controlled_cluster(
        config,
        streams,
        &RngStreams::new(7, 0),
        Some(controller),
        executor,
    )
}

/// A controller that fails ends the run with its error: no report is made of a
/// run whose policy stopped acting.
#[test]
fn a_failing_controller_ends_the_run_with_its_error() {
    struct FailsAt(u64);
    impl Controller for FailsAt {
        fn interval(&self) -> SimDuration {
            SimDuration::from_secs(30)
        }
        fn tick(&mut self, view: &ClusterView) -> Result<Vec<crate::control::ScaleAction>, String> {
            if view.now >= SimTime::from_secs(self.0) {
                Err(format!("gave up at {} s", self.0))
            } else {
                Ok(Vec::new())
            }
        }
    }
    let result = try_controlled_run(
        pool(Some(2)),
        deployment(1, 1, RoutingPolicy::LeastOutstanding),
        5.0,
        600,
        1,
        Box::new(FailsAt(90)),
        ExecutorConfig::default(),
    );
    assert_eq!(
        result.err(),
        Some(crate::RunError::Controller("gave up at 90 s".into()))
    );
}

/// The loop's actions are executed with their real delays and logged: scaling up
/// from 2 to 4 TP-4 replicas boots a node (120 s) and loads (38 s), so it takes
/// 158 s; scaling down drains at once when idle. The views count arrivals per tick.
#[test]
fn controller_actions_take_effect_with_real_delays() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let controller = Scripted {
        plan: vec![(600, 4), (1800, 1)],
        seen: seen.clone(),
    };
    let report = controlled_run(
        pool(None),
        deployment(2, 4, RoutingPolicy::LeastOutstanding),
        2.0,
        3600,
        3,
        Box::new(controller),
        ExecutorConfig::default(),
    );
    let a = &report.actions;
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!((a[0].from, a[0].to, a[0].nodes_requested), (2, 4, 1));
    assert_eq!(a[0].took, Some(SimDuration::from_secs(158)));
    assert_eq!((a[1].from, a[1].to), (4, 1));
    assert!(
        a[1].took.is_some_and(|t| t < SimDuration::from_secs(60)),
        "{:?}",
        a[1].took
    );
    let views = seen.lock().unwrap();
    assert_eq!(views.len(), 60, "ticks at 60 s … 3600 s");
    let arrivals: u64 = views.iter().map(|v| v.arrivals).sum();
    assert!(arrivals <= report.models[0].arrivals && arrivals > 6500);
    assert_eq!(
        (views[9].desired, views[9].ready),
        (2, 2),
        "before the first action"
    );
    assert_eq!(
        (views[10].desired, views[10].provisioning),
        (4, 2),
        "at 660 s, booting"
    );
    assert_eq!(views[40].desired, 1);
    // Per-tick latency and throughput: 2 requests/s × 128 output tokens.
    let tokens = views.iter().map(|v| v.output_tokens_per_s).sum::<f64>() / views.len() as f64;
    assert!((200.0..320.0).contains(&tokens), "{tokens} tokens/s");
    let ttft: Vec<f64> = views
        .iter()
        .map(|v| v.ttft_p99_s)
        .filter(|t| t.is_finite())
        .collect();
    // The first requests waited for the fleet to boot and load (158 s).
    assert!(ttft.len() > 50 && ttft[0] > 60.0, "{ttft:?}");
    assert!(ttft[1..].iter().all(|&t| t > 0.0 && t < 1.0), "{ttft:?}");
    let m = &report.models[0];
    assert_eq!(m.max_replicas, 4);
    // 2 for 600 s, 4 for 1200 s, 1 for 1800 s.
    let mean = (2.0 * 600.0 + 4.0 * 1200.0 + 1800.0) / 3600.0;
    assert!((m.mean_replicas - mean).abs() < 1e-9, "{}", m.mean_replicas);
    assert_eq!(m.outcomes.dropped, 0);
}

/// Best fit packs a new replica onto the fullest node with room, so the emptier
/// node can drain away: the same actions cost 1200 node-seconds less than first fit.
/// (4 TP-2 replicas fill node A; 3 more go to B; the 3 oldest leave A with 1; the
/// next one goes to A under first fit but to B under best fit; removing the oldest
/// then empties A under best fit only, at 2400 s.)
#[test]
fn best_fit_lets_an_emptier_node_go() {
    let node_hours = |placement| {
        let controller = Scripted {
            plan: vec![(600, 7), (1200, 4), (1800, 5), (2400, 4)],
            seen: std::sync::Arc::new(std::sync::Mutex::new(Vec::new())),
        };
        let report = controlled_run(
            pool(None),
            deployment(4, 2, RoutingPolicy::LeastOutstanding),
            0.2,
            3600,
            5,
            Box::new(controller),
            ExecutorConfig {
                removal: RemovalOrder::Oldest,
                placement,
                kill: false,
            },
        );
        (report.pools[0].nodes, report.pools[0].node_hours)
    };
    let (first_nodes, first) = node_hours(Placement::FirstFit);
    let (best_nodes, best) = node_hours(Placement::BestFit);
    assert_eq!((first_nodes, best_nodes), (2, 2));
    // Node A goes at about 2400 s (plus the drain of its last request) under best fit.
    let saved = (first - best) * 3600.0;
    assert!((1100.0..=1200.001).contains(&saved), "{saved} s");
}

/// Holds a model at `n` replicas: replaces whatever was lost.
struct KeepAt(u32);

impl Controller for KeepAt {
    fn interval(&self) -> SimDuration {
        SimDuration::from_secs(30)
    }

    fn tick(&mut self, view: &ClusterView) -> Result<Vec<crate::control::ScaleAction>, String> {
        Ok((view.models[0].desired != self.0)
            .then(|| crate::control::ScaleAction {
                model: 0,
                replicas: self.0,
                reason: "keep".into(),
                forecast_per_s: None,
            })
            .into_iter()
            .collect())
    }
}

fn spot_run(mean_lifetime_s: u64, kill: bool, plan: Box<dyn Controller>) -> ClusterReport {
    let mut p = pool(None);
    if mean_lifetime_s > 0 {
        p.spot = Some(SpotTerms {
            mean_lifetime: SimDuration::from_secs(mean_lifetime_s),
            notice: SimDuration::from_secs(120),
        });
    }
    controlled_run(
        p,
        deployment(2, 8, RoutingPolicy::LeastOutstanding),
        4.0,
        4 * 3600,
        9,
        plan,
        ExecutorConfig {
            kill,
            ..ExecutorConfig::default()
        },
    )
}

/// Spot nodes (mean lifetime 30 min over 4 h) are reclaimed, their replicas drain
/// at the notice, the loop replaces them on new nodes, and every request is still
/// accounted for.
#[test]
fn spot_nodes_are_reclaimed_and_replaced() {
    let report = spot_run(1800, false, Box::new(KeepAt(2)));
    let pool = &report.pools[0];
    assert!(pool.reclaims >= 4, "{pool:?}");
    assert!(pool.nodes >= 2 + pool.reclaims, "{pool:?}");
    let m = &report.models[0];
    assert_eq!(
        m.arrivals,
        m.outcomes.completed + m.outcomes.dropped + m.outcomes.rejected + m.in_flight_at_end
    );
    assert!(
        m.outcomes.completed as f64 > 0.9 * m.arrivals as f64,
        "{:?}",
        m.arrivals
    );
    assert!(
        report.actions.iter().all(|a| a.to == 2),
        "only replacements"
    );
    // On-demand, nothing is reclaimed.
    let steady = spot_run(0, false, Box::new(KeepAt(2)));
    assert_eq!(steady.pools[0].reclaims, 0);
    assert_eq!(steady.pools[0].nodes, 2);
}

/// Killing instead of draining drops what the removed replicas held; draining
/// drops nothing.
/// A scale-up the quota blocks is asked for again at every tick; the shortfall
/// is reported once: six TP-2 replicas on one 8-GPU node leave two unplaced,
/// however many ticks ask for them (20 here).
#[test]
fn unplaced_replicas_are_the_shortfall_not_the_retries() {
    let report = controlled_run(
        pool(Some(1)),
        deployment(1, 2, RoutingPolicy::RoundRobin),
        1.0,
        600,
        1,
        Box::new(KeepAt(6)),
        ExecutorConfig::default(),
    );
    assert_eq!(report.models[0].ready_replicas, 4);
    assert_eq!(report.models[0].unplaced_replicas, 2);
    // Each tick asked again (each is logged, with its own shortfall).
    assert_eq!(report.actions.len(), 20);
    assert!(report.actions.iter().all(|a| a.unplaced == 2));
}

#[test]
fn kill_drops_in_flight_requests_and_drain_does_not() {
    let plan = || Scripted {
        plan: vec![(3600, 1)],
        seen: std::sync::Arc::new(std::sync::Mutex::new(Vec::new())),
    };
    let drained = spot_run(0, false, Box::new(plan()));
    let killed = spot_run(0, true, Box::new(plan()));
    assert_eq!(drained.models[0].outcomes.dropped, 0);
    let dropped = killed.models[0].outcomes.dropped;
    assert!(
        dropped > 0,
        "a replica at 4/s holds requests when it is killed"
    );
    let m = &killed.models[0];
    assert_eq!(
        m.arrivals,
        m.outcomes.completed + m.outcomes.dropped + m.outcomes.rejected + m.in_flight_at_end
    );
    assert_eq!(killed.actions[0].took, Some(SimDuration::ZERO));
}

/// The backlog that builds while the first node boots is spread by the routing
/// policy as replicas become ready: while others are still loading, a replica up
/// takes only what it starts at once (64 requests here); when the last is up, the
/// rest goes out by least outstanding. At the first tick after the four replicas are
/// ready they hold nearly equal shares of the 4,700-odd requests and the router
/// holds none; poured into the first ready replica, it would hold them all.
#[test]
fn a_startup_backlog_is_spread_over_the_replicas() {
    let mut model = deployment(4, 2, RoutingPolicy::LeastOutstanding);
    if let Serving::Llm { server, .. } = &mut model.serving {
        server.max_batch = 64;
    }
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let plan = Scripted {
        plan: Vec::new(),
        seen: seen.clone(),
    };
    let report = controlled_run(
        pool(None),
        model,
        30.0,
        240,
        3,
        Box::new(plan),
        ExecutorConfig::default(),
    );
    let views = seen.lock().unwrap();
    // Ready at 158 s (boot 120 s, load 38 s); the tick at 180 s sees them.
    let at_180 = &views[2];
    assert_eq!(at_180.ready, 4);
    assert_eq!(at_180.router_queue, 0);
    let held: Vec<u32> = at_180.replicas.iter().map(|r| r.in_flight).collect();
    let (lo, hi) = (*held.iter().min().unwrap(), *held.iter().max().unwrap());
    assert!(lo > 500 && f64::from(hi) < 1.1 * f64::from(lo), "{held:?}");
    let m = &report.models[0];
    assert_eq!(
        m.arrivals,
        m.outcomes.completed + m.outcomes.dropped + m.outcomes.rejected + m.in_flight_at_end
    );
}

/// While a second node is still booting, the replica up takes only what it starts
/// at once and the rest of the startup backlog waits for the others.
#[test]
fn a_startup_backlog_waits_for_replicas_still_starting() {
    let mut model = deployment(2, 8, RoutingPolicy::LeastOutstanding);
    if let Serving::Llm { server, .. } = &mut model.serving {
        server.max_batch = 64;
    }
    // One 8-GPU replica on its node, a second asked for at 60 s on another: ready
    // at 158 s and at 218 s.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let plan = Scripted {
        plan: vec![(60, 2)],
        seen: seen.clone(),
    };
    model.replicas = 1;
    let _ = controlled_run(
        pool(None),
        model,
        30.0,
        400,
        5,
        Box::new(plan),
        ExecutorConfig::default(),
    );
    let views = seen.lock().unwrap();
    // At 180 s the first replica (ready at 158 s) is up, the second (asked for at
    // 60 s, ready at 218 s) is loading: the first holds at most 64 requests and the
    // router the rest of the backlog.
    let at_180 = &views[2];
    assert_eq!((at_180.ready, at_180.provisioning + at_180.loading), (1, 1));
    let first = at_180.replicas.iter().map(|r| r.in_flight).max().unwrap();
    assert!(first <= 64, "the first replica holds {first}");
    assert!(at_180.router_queue > 2000, "{}", at_180.router_queue);
    // Both up at 240 s: the backlog is theirs.
    let at_240 = &views[3];
    assert_eq!(at_240.ready, 2);
    assert_eq!(at_240.router_queue, 0);
}

/// `initial_ready`: the fleet is booted and loaded at time zero, billed from it,
/// and the first requests are served at once.
#[test]
fn an_initially_ready_fleet_serves_from_time_zero() {
    let mut model = deployment(4, 2, RoutingPolicy::LeastOutstanding);
    model.initial_ready = true;
    let report = run_with(vec![model], None, 2.0, 600, Vec::new());
    let m = &report.models[0];
    assert_eq!(m.ready_replicas, 4);
    // No request waited for a boot: the slowest first token is a fraction of a
    // second, where a cold start makes the first ones wait 158 s.
    assert!(
        m.outcomes.ttft.quantile_s(1.0) < 1.0,
        "{}",
        m.outcomes.ttft.quantile_s(1.0)
    );
    let first = &report.timeseries[0];
    assert_eq!((first.provisioning, first.loading, first.ready), (0, 0, 4));
    // One node, billed for the 10 minutes from time zero.
    assert!((report.pools[0].node_hours_total - 600.0 / 3600.0).abs() < 1e-12);
    let cold = run_with(
        vec![deployment(4, 2, RoutingPolicy::LeastOutstanding)],
        None,
        2.0,
        600,
        Vec::new(),
    );
    assert!(cold.models[0].outcomes.ttft.quantile_s(1.0) > 150.0);
    assert_eq!(report.pools[0].cost_total, cold.pools[0].cost_total);
}

/// A backlog that timed out while the node booted is dropped as the replica comes
/// up, batch after batch, and the requests behind it are served: nothing waits at
/// the router behind an idle replica.
#[test]
fn a_timed_out_backlog_does_not_stall_the_router() {
    let mut model = deployment(1, 1, RoutingPolicy::LeastOutstanding);
    if let Serving::Llm { server, .. } = &mut model.serving {
        server.max_batch = 16;
        server.timeout = Some(SimDuration::from_secs(10));
    }
    let report = run_with(vec![model], None, 4.0, 400, Vec::new());
    let m = &report.models[0];
    let o = &m.outcomes;
    // Ready at 158 s: the ~590 requests of the first 148 s time out, the rest are
    // served (4/s is well within one replica).
    assert!(o.dropped > 500 && o.dropped < 700, "dropped {}", o.dropped);
    assert!(o.completed > 800, "completed {}", o.completed);
    assert!(m.in_flight_at_end < 40, "in flight {}", m.in_flight_at_end);
    assert_eq!(
        m.arrivals,
        o.completed + o.dropped + o.rejected + m.in_flight_at_end
    );
}

/// Make before break holds for any controller, not only the scaling loop: a
/// controller that asks, at every tick, to move a model's two replicas to its variant
/// (`0 → 0`, variant `0 → 2`) gets the variant's replicas first; the old ones drain
/// only at the first tick after those are ready, so the group never has fewer than
/// two replicas asked for, and never none ready.
#[test]
fn moving_capacity_between_variants_makes_before_it_breaks() {
    struct MoveAll;
    impl Controller for MoveAll {
        fn interval(&self) -> SimDuration {
            SimDuration::from_secs(60)
        }
        fn tick(
            &mut self,
            _view: &ClusterView,
        ) -> Result<Vec<crate::control::ScaleAction>, String> {
            let action = |model, replicas| crate::control::ScaleAction {
                model,
                replicas,
                reason: "move".into(),
                forecast_per_s: None,
            };
            Ok(vec![action(0, 0), action(1, 2)])
        }
    }
    let mut old = deployment(2, 1, RoutingPolicy::RoundRobin);
    old.initial_ready = true;
    let mut new = deployment(0, 1, RoutingPolicy::RoundRobin);
    new.name = "chat-variant".into();
    let config = ClusterConfig {
        pools: vec![pool(None)],
        models: vec![old, new],
        warmup: SimTime::ZERO,
        horizon: SimTime::from_secs(900),
        sample_interval: Some(SimDuration::from_secs(10)),
        replica_changes: Vec::new(),
        router_groups: vec![0, 0],
        watchdog: Default::default(),
    };
    let streams = vec![RequestStream {
        model: 0,
        requests: poisson(2.0, 900.0, 3),
    }];
    let r = simulate_controlled_cluster(
        config,
        streams,
        &RngStreams::new(7, 0),
        Some(Box::new(MoveAll)),
        ExecutorConfig::default(),
    )
    .unwrap();
    // The variant is asked for at the first tick; the old model's shrink waits.
    let first = &r.actions[0];
    assert_eq!(
        (first.time, first.model, first.to),
        (SimTime::from_secs(60), 1, 2)
    );
    let shrink = r
        .actions
        .iter()
        .find(|a| a.model == 0)
        .expect("the old replicas go");
    // The variant's replicas share the old node (8 GPUs, 2 used): they load for
    // 16 GB / 2 GB/s + 30 s = 38 s, ready at 98 s; the next tick is at 120 s.
    assert_eq!(shrink.time, SimTime::from_secs(120));
    assert_eq!(r.actions.len(), 2, "{:?}", r.actions);
    // Never fewer than two ready in the group, at any sample.
    for t in r.timeseries.iter().map(|s| s.time) {
        let ready: u32 = r
            .timeseries
            .iter()
            .filter(|s| s.time == t)
            .map(|s| s.ready - s.draining)
            .sum();
        assert!(ready >= 2, "{ready} ready at {t:?}");
    }
    assert_eq!(r.models[0].outcomes.dropped, 0);
}

/// A replica kind the cluster does not know by name, in one place (this module):
/// one request at a time, each taking a fixed service time — M/D/1 per replica.
mod custom_kind {
    use std::collections::VecDeque;
    use std::sync::Arc;

    use super::*;
    use crate::{NextStep, Replica, ReplicaKind};

    #[derive(Debug)]
    struct OneAtATime {
        service: SimDuration,
    }

    struct OneAtATimeReplica {
        service: SimDuration,
        waiting: VecDeque<Request>,
        serving: Option<(Request, SimTime)>,
        busy: SimDuration,
    }

    impl ReplicaKind for OneAtATime {
        fn accelerators(&self) -> u32 {
            1
        }
        fn model_name(&self) -> &str {
            "one-at-a-time"
        }
        fn weight_bytes(&self) -> f64 {
            0.0
        }
        fn new_replica(&self, _stats_from: SimTime) -> Box<dyn Replica> {
            Box::new(OneAtATimeReplica {
                service: self.service,
                waiting: VecDeque::new(),
                serving: None,
                busy: SimDuration::ZERO,
            })
        }
    }

    impl Replica for OneAtATimeReplica {
        fn enqueue(&mut self, request: Request) {
            self.waiting.push_back(request);
        }
        fn start(&mut self, now: SimTime, _out: &mut Outcomes) -> NextStep {
            if self.serving.is_some() {
                return NextStep::Idle;
            }
            match self.waiting.pop_front() {
                Some(request) => {
                    self.serving = Some((request, now));
                    NextStep::Busy(self.service)
                }
                None => NextStep::Idle,
            }
        }
        fn complete(&mut self, now: SimTime, out: &mut Outcomes) {
            if let Some((request, started)) = self.serving.take() {
                self.busy = self.busy + (now - started);
                out.record_first_token(&request, now);
                out.record_completion(&request, now, now);
            }
        }
        fn outstanding(&self) -> usize {
            self.waiting.len() + usize::from(self.serving.is_some())
        }
        fn queued(&self) -> usize {
            self.waiting.len()
        }
        fn has_room(&self) -> bool {
            self.outstanding() == 0
        }
        fn busy(&self) -> SimDuration {
            self.busy
        }
        fn busy_in_window(&self, end: SimTime) -> SimDuration {
            let running = self.serving.map_or(SimDuration::ZERO, |(_, started)| {
                end.saturating_since(started)
            });
            self.busy + running
        }
        fn for_each_outstanding(&self, f: &mut dyn FnMut(&Request, Option<SimTime>)) {
            for request in self
                .waiting
                .iter()
                .chain(self.serving.iter().map(|(r, _)| r))
            {
                f(request, None);
            }
        }
        fn abort_all(&mut self, now: SimTime, out: &mut Outcomes) -> u64 {
            let held: Vec<Request> = self
                .waiting
                .drain(..)
                .chain(self.serving.take().map(|(r, _)| r))
                .collect();
            for request in &held {
                out.record_drop(request, now);
            }
            held.len() as u64
        }
    }

    /// The new kind runs through the whole cluster (routing, placement, billing,
    /// reports) with nothing but `Serving::Custom`, and behaves as M/D/1: at λ = 0.5/s
    /// and S = 1 s, utilization ρ = 0.5 and mean response S + ρS / (2(1 − ρ)) = 1.5 s
    /// (about 20,000 customers: the mean's standard error is under 1%, the bound 5%).
    #[test]
    fn a_custom_replica_kind_serves_through_the_cluster() {
        let mut model = deployment(1, 1, RoutingPolicy::RoundRobin);
        model.serving = Serving::Custom(Arc::new(OneAtATime {
            service: SimDuration::from_secs(1),
        }));
        model.initial_ready = true;
        model.sla = Sla {
            ttft: None,
            tpot: None,
            e2e: None,
        };
        let secs = 40_000;
        let r = run(vec![model], None, 0.5, secs);
        let m = &r.models[0];
        assert_eq!(
            m.arrivals,
            m.outcomes.completed + m.outcomes.dropped + m.outcomes.rejected + m.in_flight_at_end
        );
        assert!(m.outcomes.completed > 19_000, "{}", m.outcomes.completed);
        let rho = m.replica_time.utilization();
        assert!((rho - 0.5).abs() < 0.02, "utilization {rho}");
        let response = m.outcomes.e2e.mean_s();
        assert!(
            (response / 1.5 - 1.0).abs() < 0.05,
            "mean response {response} s, M/D/1 gives 1.5 s"
        );
        // One 8-accelerator node, billed from zero for the whole run.
        let expected = 32.0 * secs as f64 / 3600.0;
        assert!((r.cost - expected).abs() < 1e-6 * expected, "{}", r.cost);
    }
}

/// Records every tick's prefix-cache hit rate of model 0.
struct HitRates(std::sync::Arc<std::sync::Mutex<Vec<f64>>>);

impl Controller for HitRates {
    fn interval(&self) -> SimDuration {
        SimDuration::from_secs(30)
    }

    fn tick(&mut self, view: &ClusterView) -> Result<Vec<crate::control::ScaleAction>, String> {
        self.0.lock().unwrap().push(view.models[0].cache_hit_rate);
        Ok(Vec::new())
    }
}

/// The loop sees the prefix cache's hit rate of each tick's interval: a shared-prefix
/// workload's prompts recur every 40 requests, so after the first ticks nearly every
/// looked-up block is cached; with caching off there is no rate to see.
#[test]
fn the_scaling_loop_sees_the_interval_cache_hit_rate() {
    use inferscale_workload::{ArrivalProcess, RequestSource, SharedPrefix, Sizes, TokenDist};
    let rates = |caching: bool| {
        let mut model = deployment(
            2,
            1,
            RoutingPolicy::KvAware {
                prefix: 3.0,
                queue: 2.0,
                running: 0.0,
                kv_utilization: 2.0,
            },
        );
        model.initial_ready = true;
        if let Serving::Llm { server, .. } = &mut model.serving {
            server.prefix_caching = caching;
        }
        let config = ClusterConfig {
            pools: vec![pool(None)],
            models: vec![model],
            warmup: SimTime::ZERO,
            horizon: SimTime::from_secs(600),
            sample_interval: None,
            replica_changes: Vec::new(),
            router_groups: Vec::new(),
            watchdog: Default::default(),
        };
        let streams = RngStreams::new(3, 0);
        let source = RequestSource::Synthetic {
            arrivals: ArrivalProcess::poisson(4.0).unwrap(),
            sizes: Sizes::SharedPrefix(SharedPrefix {
                groups: 4,
                users: 10,
                system_tokens: 256,
                question: TokenDist::fixed(128),
                output: TokenDist::fixed(16),
                multi_turn: false,
            }),
        };
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let report = simulate_controlled_cluster(
            config,
            vec![RequestStream {
                model: 0,
                requests: Box::new(source.requests(0, &streams, SimTime::from_secs(600))),
            }],
            &streams,
            Some(Box::new(HitRates(seen.clone()))),
            ExecutorConfig::default(),
        )
        .unwrap();
        let seen = seen.lock().unwrap().clone();
        (seen, report.models[0].prefix)
    };
    let (cached, prefix) = rates(true);
    assert_eq!(cached.len(), 20);
    assert!(
        cached
            .iter()
            .all(|r| r.is_finite() && (0.0..=1.0).contains(r)),
        "{cached:?}"
    );
    // A prompt of 24 blocks repeats with its last block computed: 23 of 23 looked up
    // hit on a repeat; the first cycle misses the questions.
    assert!(cached[5..].iter().all(|&r| r > 0.95), "{cached:?}");
    assert!(cached[0] < cached[10], "{cached:?}");
    assert!(prefix.block_hit_rate() > 0.9);
    let (uncached, prefix) = rates(false);
    assert!(uncached.iter().all(|r| r.is_nan()), "{uncached:?}");
    assert_eq!(prefix.queried_blocks, 0);
}
