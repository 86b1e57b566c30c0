//! Running a scenario: every replication in parallel, one [`RunRow`] each.

use std::time::Instant;

use inferscale_cluster::metrics::LatencyRecorder;
use inferscale_cluster::{
    ClusterReport, DeviceKind, ExecutorConfig, RequestLogging, RequestStream, RunError,
    StationReport, simulate_cluster_with, simulate_station,
};
use inferscale_engine::{RngStreams, SimTime, Watchdog};
use inferscale_policy::ScalingLoop;
use inferscale_report::{
    ActionRow, FleetRow, LatencyRow, LlmColumns, ModelRow, RunRow, TimeseriesRow,
};
use inferscale_scenario::{LlmSystem, Scenario, System};
use inferscale_workload::ArrivalProcess;
use rayon::prelude::*;

/// Why the replications of a scenario could not all be run.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A thread pool could not be created.
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        /// Threads asked for (0: one per core).
        threads: usize,
        /// Why.
        source: rayon::ThreadPoolBuildError,
    },
    /// A replication failed.
    #[error("replication {replication} failed: {source}")]
    Run {
        /// Which.
        replication: u64,
        /// Why.
        source: RunError,
    },
}

/// Everything a scenario's runs produced, in replication order.
#[derive(Clone, Debug, Default)]
pub struct RunResults {
    /// One row per replication (`runs.parquet`).
    pub runs: Vec<RunRow>,
    /// One row per replication and LLM model (`models.parquet`); empty for generic
    /// scenarios.
    pub models: Vec<ModelRow>,
    /// One row per replication, LLM model and sampling interval
    /// (`timeseries.parquet`).
    pub timeseries: Vec<TimeseriesRow>,
    /// One row per replication, node type and sampling interval (`fleet.parquet`).
    pub fleet: Vec<FleetRow>,
    /// Every scaling action of every replication (`actions.parquet`).
    pub actions: Vec<ActionRow>,
    /// Latency histograms of every replication (`latency.parquet`).
    pub latency: Vec<LatencyRow>,
}

/// What one replication produced.
#[derive(Clone, Debug)]
pub struct OneRun {
    /// Its row of `runs.parquet`.
    pub run: RunRow,
    /// Its rows of `models.parquet`.
    pub models: Vec<ModelRow>,
    /// Its rows of `timeseries.parquet`.
    pub timeseries: Vec<TimeseriesRow>,
    /// Its rows of `fleet.parquet`.
    pub fleet: Vec<FleetRow>,
    /// Its rows of `actions.parquet`.
    pub actions: Vec<ActionRow>,
    /// Its latency histograms (`latency.parquet`).
    pub latency: Vec<LatencyRow>,
    /// Its sampled requests (`requests.parquet`), spooled, when the scenario asks for
    /// them and the run was given a spool path.
    pub requests: Option<inferscale_report::SpooledRequests>,
}

/// Runs every replication of `scenario` on `threads` worker threads (default: one per
/// core) and returns the rows in replication order.
///
/// Each replication draws from its own random streams, derived from the scenario seed
/// and the replication index only, so the rows are identical whatever the thread count
/// and whichever replication finishes first.
pub fn run_all(scenario: &Scenario, threads: Option<usize>) -> Result<RunResults, PoolError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = threads {
        builder = builder.num_threads(threads);
    }
    let pool = builder.build().map_err(|source| PoolError::Threads {
        threads: threads.unwrap_or(0),
        source,
    })?;
    let per_run: Vec<OneRun> = pool.install(|| {
        (0..u64::from(scenario.replications))
            .into_par_iter()
            .map(|replication| {
                run_one(scenario, replication).map_err(|source| PoolError::Run {
                    replication,
                    source,
                })
            })
            .collect::<Result<_, _>>()
    })?;
    let mut results = RunResults::default();
    for one in per_run {
        results.runs.push(one.run);
        results.models.extend(one.models);
        results.timeseries.extend(one.timeseries);
        results.fleet.extend(one.fleet);
        results.actions.extend(one.actions);
        results.latency.extend(one.latency);
    }
    Ok(results)
}

/// [`run_all`], keeping only the per-run rows.
pub fn run_replications(
    scenario: &Scenario,
    threads: Option<usize>,
) -> Result<Vec<RunRow>, PoolError> {
    run_all(scenario, threads).map(|r| r.runs)
}

/// Runs replication `replication` of `scenario`: its run row and, for LLM scenarios,
/// a row per model. Fails when the run's scaling loop fails (an external program) or
/// the engine's watchdog stops it (a stalled clock).
pub fn run_one(scenario: &Scenario, replication: u64) -> Result<OneRun, RunError> {
    run_one_watched(scenario, replication, Watchdog::default())
}

/// [`run_one`] under `watchdog`'s limits (a wall-clock deadline: `--run-timeout`).
pub fn run_one_watched(
    scenario: &Scenario,
    replication: u64,
    watchdog: Watchdog,
) -> Result<OneRun, RunError> {
    run_one_logged(scenario, replication, watchdog, None)
}

/// [`run_one_watched`], spooling the scenario's sampled requests (`output.requests`)
/// to `spool` (a file the caller removes after reading).
pub fn run_one_logged(
    scenario: &Scenario,
    replication: u64,
    watchdog: Watchdog,
    spool: Option<&std::path::Path>,
) -> Result<OneRun, RunError> {
    run_one_decided(scenario, replication, watchdog, spool, Plugins::default())
}

/// Makes a fresh fleet decider for each run ([`Plugins::decider`]).
pub type FleetDeciderFactory =
    dyn Fn() -> Result<Box<dyn inferscale_policy::fleet::FleetDecider>, String> + Sync;

/// Makes a fresh predictor for each controlled model of each run, given the model's
/// name and the control interval in seconds ([`Plugins::predictor`]).
pub type PredictorFactory =
    dyn Fn(&str, f64) -> Result<Box<dyn inferscale_policy::predict::Predictor>, String> + Sync;

/// Stages from outside the scenario that replace its own in every run: how a policy
/// written in another language through a binding (a Python object) drives a run or a
/// sweep. The scenario's monitor, executor and the stages not replaced still run; a
/// scenario without `policy:` has no loop to plug them into, which is an error.
#[derive(Clone, Copy, Default)]
pub struct Plugins<'a> {
    /// Decides for the whole fleet at every tick instead of the scenario's decider.
    pub decider: Option<&'a FleetDeciderFactory>,
    /// Forecasts each controlled model instead of the scenario's predictor.
    pub predictor: Option<&'a PredictorFactory>,
}

impl Plugins<'_> {
    /// Whether nothing is replaced.
    pub fn is_empty(&self) -> bool {
        self.decider.is_none() && self.predictor.is_none()
    }
}

/// [`run_one_logged`] with the stages of `plugins` replacing the scenario's.
pub fn run_one_decided(
    scenario: &Scenario,
    replication: u64,
    watchdog: Watchdog,
    spool: Option<&std::path::Path>,
    plugins: Plugins<'_>,
) -> Result<OneRun, RunError> {
    run_one_controlled_watched(
        scenario,
        replication,
        |system, streams| match scenario.policy.as_ref() {
            Some(p) => scaling_loop(p, system, streams, plugins).map(|c| Some((c, p.executor))),
            None if plugins.is_empty() => Ok(None),
            None => Err(RunError::Controller(format!(
                "`{}` has no `policy:`: a decider or predictor from outside needs the \
                 scaling loop's interval and monitor",
                scenario.name
            ))),
        },
        watchdog,
        spool,
    )
}

/// Runs replication `replication` of a cluster scenario under a controller built by
/// `controller` from the system and the replication's random streams (instead of
/// the scenario's own `policy:`): how a policy written outside the crate is run (see
/// `examples/custom_policy.rs`). Generic scenarios ignore it.
pub fn run_one_controlled(
    scenario: &Scenario,
    replication: u64,
    controller: impl FnOnce(
        &LlmSystem,
        &RngStreams,
    ) -> Option<(Box<dyn inferscale_cluster::Controller>, ExecutorConfig)>,
) -> Result<OneRun, RunError> {
    run_one_controlled_watched(
        scenario,
        replication,
        |system, streams| Ok(controller(system, streams)),
        Watchdog::default(),
        None,
    )
}

/// The controller a run is driven by, and how its actions are carried out.
type BuiltController = Option<(Box<dyn inferscale_cluster::Controller>, ExecutorConfig)>;

fn run_one_controlled_watched(
    scenario: &Scenario,
    replication: u64,
    controller: impl FnOnce(&LlmSystem, &RngStreams) -> Result<BuiltController, RunError>,
    watchdog: Watchdog,
    spool: Option<&std::path::Path>,
) -> Result<OneRun, RunError> {
    let started = Instant::now();
    let streams = RngStreams::new(scenario.seed, replication);
    let mut one = match &scenario.system {
        System::Generic(station) => {
            let station = inferscale_cluster::StationConfig {
                watchdog,
                ..station.clone()
            };
            let report = simulate_station(&station, &streams)?;
            OneRun {
                run: station_row(scenario, replication, &report),
                models: Vec::new(),
                timeseries: Vec::new(),
                fleet: Vec::new(),
                actions: Vec::new(),
                latency: latency_rows(
                    scenario,
                    replication,
                    &[(scenario.name.as_str(), "response", &report.response)],
                ),
                requests: None,
            }
        }
        System::Llm(system) => {
            let (controller, executor) = match controller(system, &streams)? {
                Some((c, e)) => (Some(c), e),
                None => (None, ExecutorConfig::default()),
            };
            let cluster = inferscale_cluster::ClusterConfig {
                watchdog,
                ..system.cluster.clone()
            };
            let spool = match (scenario.output_requests, spool) {
                (Some(fraction), Some(path)) => {
                    let spool = inferscale_report::RequestSpool::create(path)
                        .map_err(|e| RunError::Controller(e.to_string()))?;
                    Some((fraction, std::rc::Rc::new(std::cell::RefCell::new(spool))))
                }
                _ => None,
            };
            let logging = spool.as_ref().map(|(fraction, spool)| RequestLogging {
                fraction: *fraction,
                sink: Box::new(crate::request_rows::SpoolSink(spool.clone())),
            });
            let report = simulate_cluster_with(
                cluster,
                request_streams(system, &streams),
                &streams,
                controller,
                executor,
                logging,
            )?;
            let requests = match spool {
                Some((_, spool)) => {
                    let spool = std::rc::Rc::try_unwrap(spool)
                        .map_err(|_| {
                            RunError::Controller("the request spool is still shared".into())
                        })?
                        .into_inner();
                    Some(
                        spool
                            .finish()
                            .map_err(|e| RunError::Controller(e.to_string()))?,
                    )
                }
                None => None,
            };
            let latencies = RunLatencies::of(&report);
            OneRun {
                latency: latency_rows(
                    scenario,
                    replication,
                    &report
                        .models
                        .iter()
                        .flat_map(|m| {
                            let o = &m.outcomes;
                            [("ttft", &o.ttft), ("tpot", &o.tpot), ("e2e", &o.e2e)]
                                .map(|(metric, r)| (m.name.as_str(), metric, r))
                        })
                        .collect::<Vec<_>>(),
                ),
                run: cluster_row(scenario, replication, system, &report, &latencies),
                models: model_rows(scenario, replication, system, &report),
                timeseries: timeseries_rows(scenario, replication, system, &report),
                fleet: fleet_rows(scenario, replication, system, &report),
                actions: action_rows(scenario, replication, system, &report),
                requests,
            }
        }
    };
    one.run.wall_time_s = started.elapsed().as_secs_f64();
    Ok(one)
}

/// The scenario's scaling loop for one replication, with the stages of `plugins`
/// instead of its own. The oracle predictor of a model reads the summed expected
/// rate of its synthetic workloads; a model fed by a trace has none (the scenario
/// was checked for that at load).
fn scaling_loop(
    policy: &inferscale_scenario::PolicySetup,
    system: &LlmSystem,
    streams: &RngStreams,
    plugins: Plugins<'_>,
) -> Result<Box<dyn inferscale_cluster::Controller>, RunError> {
    let initial: Vec<u32> = system.cluster.models.iter().map(|m| m.replicas).collect();
    let names: Vec<String> = system
        .cluster
        .models
        .iter()
        .map(|m| m.name.clone())
        .collect();
    let rate_at = |model: usize| oracle_rate(system, model);
    let interval_s = policy.config.interval_s;
    let mut predictor = plugins.predictor.map(|make| {
        let names = &names;
        move |m: usize| make(names.get(m).map_or("", String::as_str), interval_s)
    });
    let outside = inferscale_policy::OutsideStages {
        decider: plugins
            .decider
            .map(|make| make())
            .transpose()
            .map_err(RunError::Controller)?,
        predictor: predictor
            .as_mut()
            .map(|f| f as &mut dyn FnMut(usize) -> Result<_, String>),
    };
    // The setup was checked when the scenario was loaded; what can still fail here is
    // starting an external program or a stage from outside (under `on_error:
    // fallback` the loop goes on without an external predictor and counts the ticks).
    ScalingLoop::with_outside(&policy.config, streams, &names, &initial, rate_at, outside)
        .map(|l| Box::new(l) as Box<dyn inferscale_cluster::Controller>)
        .map_err(RunError::Controller)
}

/// The oracle predictor's true rate of `model`: the summed expected rate of its
/// synthetic workloads; `None` for a model fed by a trace.
fn oracle_rate(system: &LlmSystem, model: usize) -> Option<Box<dyn Fn(f64) -> f64 + Send>> {
    let processes: Vec<ArrivalProcess> = system
        .workloads
        .iter()
        .filter(|w| w.model == model)
        .map(|w| w.source.arrival_process().cloned())
        .collect::<Option<_>>()?;
    Some(Box::new(move |t: f64| {
        processes.iter().map(|p| p.expected_rate_at(t)).sum()
    }))
}

/// Each recorder's log-scale histogram as rows of `latency.parquet`: `(model, metric,
/// recorder)`.
fn latency_rows(
    scenario: &Scenario,
    replication: u64,
    recorders: &[(&str, &str, &LatencyRecorder)],
) -> Vec<LatencyRow> {
    recorders
        .iter()
        .flat_map(|(model, metric, r)| {
            r.log_buckets()
                .into_iter()
                .map(move |(upper_s, count)| LatencyRow {
                    scenario: scenario.name.clone(),
                    replication,
                    model: (*model).to_owned(),
                    metric: (*metric).to_owned(),
                    upper_s,
                    count,
                })
        })
        .collect()
}

fn action_rows(
    scenario: &Scenario,
    replication: u64,
    system: &LlmSystem,
    r: &ClusterReport,
) -> Vec<ActionRow> {
    r.actions
        .iter()
        .map(|a| ActionRow {
            scenario: scenario.name.clone(),
            replication,
            time_s: a.time.as_secs_f64(),
            model: system.cluster.models[a.model].name.clone(),
            node_type: a.node_type.clone(),
            action: if a.to > a.from {
                "scale_up"
            } else {
                "scale_down"
            }
            .into(),
            from_replicas: u64::from(a.from),
            to_replicas: u64::from(a.to),
            nodes_requested: u64::from(a.nodes_requested),
            unplaced: u64::from(a.unplaced),
            reason: a.reason.clone(),
            took_s: a.took.map(|d| d.as_secs_f64()),
        })
        .collect()
}

fn timeseries_rows(
    scenario: &Scenario,
    replication: u64,
    system: &LlmSystem,
    r: &ClusterReport,
) -> Vec<TimeseriesRow> {
    let finite = |v: f64| v.is_finite().then_some(v);
    // The newest forecast due at or before a sample's time, per model (each model's
    // forecasts are in due-time order: the loop makes them tick by tick).
    let mut by_model: Vec<Vec<(SimTime, f64)>> = vec![Vec::new(); system.cluster.models.len()];
    for &(due, m, f) in &r.controller.forecasts {
        if let Some(v) = by_model.get_mut(m) {
            v.push((due, f));
        }
    }
    let forecast_at = |model: usize, t: SimTime| {
        let v = by_model.get(model)?;
        let n = v.partition_point(|(due, _)| *due <= t);
        n.checked_sub(1).map(|i| v[i].1)
    };
    r.timeseries
        .iter()
        .map(|s| {
            let d = &system.cluster.models[s.model];
            TimeseriesRow {
                scenario: scenario.name.clone(),
                replication,
                time_s: s.time.as_secs_f64(),
                interval_s: s.interval.as_secs_f64(),
                model: d.name.clone(),
                node_type: system.cluster.pools[d.pool].node_type.name.clone(),
                arrivals: s.arrivals,
                completions: s.completions,
                dropped: s.dropped,
                replicas_provisioning: u64::from(s.provisioning),
                replicas_loading: u64::from(s.loading),
                replicas_ready: u64::from(s.ready),
                replicas_draining: u64::from(s.draining),
                queued: s.queued,
                running: s.running,
                kv_utilization: s.kv_utilization,
                ttft_p50_s: finite(s.ttft_p50_s),
                ttft_p99_s: finite(s.ttft_p99_s),
                e2e_p99_s: finite(s.e2e_p99_s),
                tpot_p99_s: finite(s.tpot_p99_s),
                prefill_tokens: s.prefix.prefill_tokens,
                cached_prompt_tokens: s.prefix.cached_tokens,
                cache_hit_rate: finite(s.prefix.block_hit_rate()),
                cost_rate_per_hour: s.cost_rate_per_hour,
                forecast_per_s: forecast_at(s.model, s.time),
            }
        })
        .collect()
}

fn fleet_rows(
    scenario: &Scenario,
    replication: u64,
    system: &LlmSystem,
    r: &ClusterReport,
) -> Vec<FleetRow> {
    r.fleet
        .iter()
        .map(|s| {
            let pool = &system.cluster.pools[s.pool];
            FleetRow {
                scenario: scenario.name.clone(),
                replication,
                time_s: s.time.as_secs_f64(),
                interval_s: s.interval.as_secs_f64(),
                node_type: pool.node_type.name.clone(),
                device: match pool.node_type.accelerator.kind {
                    DeviceKind::Gpu => "gpu",
                    DeviceKind::Cpu => "cpu",
                }
                .into(),
                spot: pool.spot.is_some(),
                nodes: u64::from(s.nodes),
                nodes_booting: u64::from(s.booting),
                node_hours: s.node_hours,
                cost_rate_per_hour: s.cost_rate_per_hour,
                reclaims: s.reclaims,
            }
        })
        .collect()
}

fn model_rows(
    scenario: &Scenario,
    replication: u64,
    system: &LlmSystem,
    r: &ClusterReport,
) -> Vec<ModelRow> {
    let window_s = (system.cluster.horizon - system.cluster.warmup).as_secs_f64();
    r.models
        .iter()
        .zip(&system.cluster.models)
        .map(|(m, d)| {
            let o = &m.outcomes;
            ModelRow {
                scenario: scenario.name.clone(),
                replication,
                seed: scenario.seed,
                model: m.name.clone(),
                node_type: system.cluster.pools[d.pool].node_type.name.clone(),
                ready_replicas: u64::from(m.ready_replicas),
                arrivals: o.arrivals_measured,
                completed: o.measured,
                dropped: o.dropped_measured,
                rejected: o.rejected_measured,
                truncated: o.truncated_measured,
                in_flight_at_end: m.in_flight_measured,
                sla_met: m.sla_met,
                sla_missed: m.sla_missed(),
                ttft_p50_s: o.ttft.quantile_s(0.5),
                ttft_p99_s: o.ttft.quantile_s(0.99),
                tpot_p50_s: o.tpot.quantile_s(0.5),
                tpot_p99_s: o.tpot.quantile_s(0.99),
                e2e_p50_s: o.e2e.quantile_s(0.5),
                e2e_p99_s: o.e2e.quantile_s(0.99),
                sla_attainment: m.sla_attainment(),
                goodput_per_s: m.sla_met as f64 / window_s,
                output_tokens: o.output_tokens_measured,
                utilization: m.replica_time.utilization(),
                kv_utilization: m.replica_time.kv_utilization(),
                prefill_tokens: m.prefix.prefill_tokens,
                cached_prompt_tokens: m.prefix.cached_tokens,
                cache_queried_blocks: m.prefix.queried_blocks,
                cache_hit_blocks: m.prefix.hit_blocks,
                cache_hit_rate: m.prefix.block_hit_rate(),
                cache_token_hit_rate: m.prefix.token_hit_rate(),
                mean_in_system: m.mean_in_system,
                node_hours: m.node_hours,
                node_hours_total: m.node_hours_total,
                cost_usd: m.cost,
                cost_total_usd: m.cost_total,
                cost_per_1k_requests: if o.measured == 0 {
                    f64::NAN
                } else {
                    m.cost / o.measured as f64 * 1e3
                },
                mean_replicas: m.mean_replicas,
                max_replicas: u64::from(m.max_replicas),
            }
        })
        .collect()
}

/// One lazily generated request stream per workload entry, each with its own random
/// streams ([`inferscale_workload::RequestSource::requests`]).
pub fn request_streams(system: &LlmSystem, streams: &RngStreams) -> Vec<RequestStream> {
    let horizon = system.cluster.horizon;
    system
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| RequestStream {
            model: w.model,
            requests: Box::new(w.source.requests(i, streams, horizon)),
        })
        .collect()
}

/// A cluster run's latencies over all its models (the run row's quantiles and
/// `latency.parquet`'s histograms both come from these).
struct RunLatencies {
    ttft: LatencyRecorder,
    tpot: LatencyRecorder,
    e2e: LatencyRecorder,
}

impl RunLatencies {
    fn of(r: &ClusterReport) -> Self {
        let mut all = RunLatencies {
            ttft: LatencyRecorder::new(),
            tpot: LatencyRecorder::new(),
            e2e: LatencyRecorder::new(),
        };
        for m in &r.models {
            all.ttft.merge(&m.outcomes.ttft);
            all.tpot.merge(&m.outcomes.tpot);
            all.e2e.merge(&m.outcomes.e2e);
        }
        all
    }
}

fn cluster_row(
    scenario: &Scenario,
    replication: u64,
    system: &LlmSystem,
    r: &ClusterReport,
    latencies: &RunLatencies,
) -> RunRow {
    let RunLatencies { ttft, tpot, e2e } = latencies;
    let (mut arrivals, mut completed, mut in_flight, mut dropped, mut rejected) = (0, 0, 0, 0, 0);
    let mut truncated = 0;
    let (mut met, mut output_tokens, mut preemptions, mut unplaced) = (0, 0, 0, 0);
    let mut time = inferscale_cluster::ReplicaTime::default();
    let mut in_system = 0.0;
    let mut prefix = inferscale_cluster::PrefixStats::default();
    for m in &r.models {
        prefix = prefix.plus(m.prefix);
        let o = &m.outcomes;
        arrivals += o.arrivals_measured;
        completed += o.measured;
        in_flight += m.in_flight_measured;
        dropped += o.dropped_measured;
        rejected += o.rejected_measured;
        truncated += o.truncated_measured;
        met += m.sla_met;
        output_tokens += o.output_tokens_measured;
        preemptions += m.preemptions;
        unplaced += u64::from(m.unplaced_replicas);
        time = time.plus(m.replica_time);
        in_system += m.mean_in_system;
    }
    let window_s = (system.cluster.horizon - system.cluster.warmup).as_secs_f64();
    // Node-hours per device kind: in the window, and over the whole run.
    let hours_of = |kind: DeviceKind, total: bool| -> f64 {
        r.pools
            .iter()
            .zip(&system.cluster.pools)
            .filter(|(_, p)| p.node_type.accelerator.kind == kind)
            .map(|(u, _)| {
                if total {
                    u.node_hours_total
                } else {
                    u.node_hours
                }
            })
            .sum()
    };
    let per = |num: f64, den: u64, scale: f64| {
        if den == 0 {
            f64::NAN
        } else {
            num / den as f64 * scale
        }
    };
    RunRow {
        scenario: scenario.name.clone(),
        replication,
        seed: scenario.seed,
        // The sweep's point knows it (`sweep_run::write_run` sets it).
        requests_id: String::new(),
        arrivals,
        completed,
        in_flight_at_end: in_flight,
        mean_wait_s: None,
        mean_response_s: e2e.mean_s(),
        p50_response_s: e2e.quantile_s(0.50),
        p90_response_s: e2e.quantile_s(0.90),
        p99_response_s: e2e.quantile_s(0.99),
        utilization: time.utilization(),
        mean_queue_len: None,
        mean_in_system: Some(in_system),
        window_s,
        events: r.events,
        wall_time_s: 0.0,
        llm: Some(LlmColumns {
            dropped,
            rejected,
            truncated,
            sla_met: met,
            sla_missed: arrivals - met,
            ttft_p50_s: ttft.quantile_s(0.50),
            ttft_p90_s: ttft.quantile_s(0.90),
            ttft_p99_s: ttft.quantile_s(0.99),
            tpot_p50_s: tpot.quantile_s(0.50),
            tpot_p90_s: tpot.quantile_s(0.90),
            tpot_p99_s: tpot.quantile_s(0.99),
            sla_attainment: inferscale_cluster::outcomes::sla_attainment(met, arrivals),
            goodput_per_s: met as f64 / window_s,
            output_tokens,
            cost_usd: r.cost,
            cost_total_usd: r.cost_total,
            cost_per_1k_requests: per(r.cost, completed, 1e3),
            cost_per_1m_output_tokens: per(r.cost, output_tokens, 1e6),
            gpu_node_hours: hours_of(DeviceKind::Gpu, false),
            cpu_node_hours: hours_of(DeviceKind::Cpu, false),
            gpu_node_hours_total: hours_of(DeviceKind::Gpu, true),
            cpu_node_hours_total: hours_of(DeviceKind::Cpu, true),
            kv_utilization: time.kv_utilization(),
            preemptions,
            prefill_tokens: prefix.prefill_tokens,
            cached_prompt_tokens: prefix.cached_tokens,
            cache_queried_blocks: prefix.queried_blocks,
            cache_hit_blocks: prefix.hit_blocks,
            cache_hit_rate: prefix.block_hit_rate(),
            cache_token_hit_rate: prefix.token_hit_rate(),
            unplaced_replicas: unplaced,
            scaling_actions: r.actions.len() as u64,
            mean_replicas: r.models.iter().map(|m| m.mean_replicas).sum(),
            max_replicas: r.models.iter().map(|m| u64::from(m.max_replicas)).sum(),
            forecast_mape: mean_of(r.controller.forecast_errors.iter().map(|e| e.mape)),
            forecast_rmse: mean_of(r.controller.forecast_errors.iter().map(|e| e.rmse)),
            forecast_fallbacks: r.controller.predictor_fallbacks.iter().map(|f| f.1).sum(),
            spot_reclaims: r.pools.iter().map(|p| p.reclaims).sum(),
        }),
    }
}

/// The mean of the finite values, `None` when there are none.
fn mean_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn station_row(scenario: &Scenario, replication: u64, r: &StationReport) -> RunRow {
    RunRow {
        scenario: scenario.name.clone(),
        replication,
        seed: scenario.seed,
        // The sweep's point knows it (`sweep_run::write_run` sets it).
        requests_id: String::new(),
        arrivals: r.arrivals,
        completed: r.completed,
        in_flight_at_end: r.in_flight_at_end,
        mean_wait_s: Some(r.wait.mean_s()),
        mean_response_s: r.response.mean_s(),
        p50_response_s: r.response.quantile_s(0.50),
        p90_response_s: r.response.quantile_s(0.90),
        p99_response_s: r.response.quantile_s(0.99),
        utilization: r.utilization,
        mean_queue_len: Some(r.mean_queue_len),
        mean_in_system: Some(r.mean_in_system),
        window_s: r.window_s,
        events: r.events,
        wall_time_s: 0.0,
        llm: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "name: chat
seed: 11
duration: 20m
warmup: 2m
hardware:
  - {name: gpu, preset: a100-80gb}
models:
  - {name: chat, llm: {preset: llama-3.1-8b}, placement: gpu, replicas: 2, sla: {ttft_p99: 2s}}
  - {name: code, llm: {preset: llama-3.1-8b}, placement: gpu, replicas: 1}
workload:
  - {model: chat, arrivals: {poisson: {rate: 4/s}}, input_tokens: 512, output_tokens: 64}
  - {model: code, arrivals: {poisson: {rate: 1/s}}, input_tokens: 1024, output_tokens: 32}
";

    fn llm(text: &str) -> (Scenario, LlmSystem) {
        let s = inferscale_scenario::parse(text, "t.yaml").unwrap();
        let System::Llm(system) = &s.system else {
            panic!("an LLM scenario");
        };
        let system = system.clone();
        (s, system)
    }

    /// Each workload entry draws from its own streams: removing the second entry
    /// leaves every request of the first as it was (common random numbers across
    /// scenarios that differ elsewhere).
    #[test]
    fn each_workload_entry_has_its_own_streams() {
        let streams = RngStreams::new(11, 0);
        let (_, both) = llm(CHAT);
        let (_, first_only) = llm(&CHAT.replace(
            "  - {model: code, arrivals: {poisson: {rate: 1/s}}, input_tokens: 1024, output_tokens: 32}\n",
            "",
        ));
        let take = |system: &LlmSystem| -> Vec<inferscale_cluster::Request> {
            let mut source = request_streams(system, &streams).swap_remove(0).requests;
            std::iter::from_fn(|| source.next_request()).collect()
        };
        let a = take(&both);
        assert_eq!(a, take(&first_only));
        // 20 minutes at 4/s.
        assert!((4_500..5_100).contains(&a.len()), "{}", a.len());
        assert!(a.windows(2).all(|w| w[0].arrival <= w[1].arrival));
        assert!(a.iter().all(|r| r.arrival <= SimTime::from_secs(1200)));
    }

    /// The run row is the models' rows added up, over the same window: arrivals,
    /// SLA counts, cost; and its SLA attainment is met over arrivals.
    #[test]
    fn the_run_row_adds_up_its_models() {
        let (s, _) = llm(CHAT);
        let one = run_one(&s, 0).unwrap();
        let llm = one.run.llm.as_ref().expect("LLM columns");
        let sum = |f: fn(&ModelRow) -> u64| one.models.iter().map(f).sum::<u64>();
        assert_eq!(one.run.arrivals, sum(|m| m.arrivals));
        assert_eq!(llm.sla_met, sum(|m| m.sla_met));
        assert_eq!(llm.sla_met + llm.sla_missed, one.run.arrivals);
        assert_eq!(
            one.run.arrivals,
            one.run.completed + llm.dropped + llm.rejected + one.run.in_flight_at_end
        );
        assert_eq!(
            llm.sla_attainment,
            llm.sla_met as f64 / one.run.arrivals as f64
        );
        let model_cost: f64 = one.models.iter().map(|m| m.cost_usd).sum();
        assert!(
            (model_cost - llm.cost_usd).abs() < 1e-9 * llm.cost_usd,
            "{model_cost} vs {}",
            llm.cost_usd
        );
        // 18 measured minutes of one 8-GPU node (three TP-1 replicas fit on it), billed
        // from its request at time zero to the end.
        assert_eq!(one.run.window_s, 1080.0);
        let price = inferscale_scenario::catalog::node_type("a100-80gb")
            .unwrap()
            .price_per_hour;
        let expected = price * 1080.0 / 3600.0;
        assert!(
            (llm.cost_usd - expected).abs() < 1e-9 * expected,
            "{} vs {expected}",
            llm.cost_usd
        );
        assert_eq!(llm.gpu_node_hours, 0.3);
    }
}
