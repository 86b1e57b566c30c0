//! The `policy:` section: the scaling loop's four stages, each chosen by `kind:`.
//! Deciders that mirror a real system take that system's own field names: the `hpa`
//! decider reads a HorizontalPodAutoscaler `spec` (`minReplicas`, `maxReplicas`,
//! `metrics`, `behavior`) so a block pasted from a manifest works; the `kpa` decider
//! reads Knative's `config-autoscaler` keys (`stable-window`,
//! `panic-window-percentage`, ...).
//!
//! ```yaml
//! policy:
//!   interval: 15s
//!   monitor: {window: 60s, lag: 0s, noise: 0}
//!   predictor: {kind: linear_trend, window: 10m}
//!   horizon: 5m
//!   decider:
//!     kind: hpa
//!     minReplicas: 1
//!     maxReplicas: 20
//!     metrics:
//!       - type: Resource
//!         resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
//!     behavior:
//!       scaleDown: {stabilizationWindowSeconds: 300}
//!   executor: {removal: newest}
//! ```

use serde::Deserialize;

use crate::units::{Duration, Rate};
use inferscale_cluster::{ExecutorConfig, RemovalOrder};
use inferscale_policy::decide::{
    HpaMetricSource, Queueing, ReplicaMetric, Scheduled, Stabilizer, TargetTracking, Threshold,
};
use inferscale_policy::hpa::{
    Behavior, MetricTarget, RatePolicy, RatePolicyKind, ScalingRules, SelectPolicy,
};
use inferscale_policy::kpa::DeciderSpec;
use inferscale_policy::monitor::MonitorConfig;
use inferscale_policy::{DeciderConfig, LoopConfig, PredictorConfig};

fn secs(d: &Duration) -> f64 {
    d.0.as_secs_f64()
}

/// The `policy:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// Time between decisions. Default: 15 s (the HPA's sync period), 2 s for `kpa`
    /// (Knative's tick).
    #[serde(default)]
    pub interval: Option<Duration>,
    /// The models the loop controls, by name. Default: every model.
    #[serde(default)]
    pub models: Option<Vec<String>>,
    /// What the loop sees. Default: a 60 s window, no lag, no noise.
    #[serde(default)]
    pub monitor: MonitorSpec,
    /// How demand is forecast. Default: none (deciders see only the present).
    #[serde(default)]
    pub predictor: Option<PredictorSpec>,
    /// How far ahead to forecast. Default: one interval.
    #[serde(default)]
    pub horizon: Option<Duration>,
    /// How long a scale-up takes to serve: sizing deciders (`queueing`,
    /// `cost_optimal`) plan for the largest forecast from now to now + `lead_time` +
    /// `horizon`, the time a decision cannot react within. Default: per model, its
    /// node type's mean boot time plus its weight load and container start.
    #[serde(default)]
    pub lead_time: Option<Duration>,
    /// What to run. Required.
    pub decider: DeciderSpecYaml,
    /// How changes are carried out. Default: drain the newest replicas first.
    #[serde(default)]
    pub executor: ExecutorSpec,
}

/// `monitor:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// Averaging window. Default: 60 s.
    #[serde(default = "default_window")]
    pub window: Duration,
    /// Reporting lag. Default: 0 s.
    #[serde(default)]
    pub lag: Duration,
    /// Relative standard deviation of measurement noise. Default: 0.
    #[serde(default)]
    pub noise: f64,
}

fn default_window() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(60))
}

impl Default for MonitorSpec {
    fn default() -> Self {
        MonitorSpec {
            window: default_window(),
            lag: Duration::default(),
            noise: 0.0,
        }
    }
}

/// `predictor:`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PredictorSpec {
    /// The newest value.
    LastValue,
    /// Mean over `window`.
    MovingAverage {
        /// Window (default 5 min).
        #[serde(default = "five_minutes")]
        window: Duration,
    },
    /// EWMA with smoothing `alpha`.
    Ewma {
        /// Smoothing in (0, 1] (default 0.3).
        #[serde(default = "default_alpha")]
        alpha: f64,
    },
    /// Least-squares line over `window`.
    LinearTrend {
        /// Window (default 5 min).
        #[serde(default = "five_minutes")]
        window: Duration,
    },
    /// Additive Holt–Winters with a season.
    HoltWinters {
        /// Season length. Required.
        season: Duration,
        /// Level smoothing (default 0.3).
        #[serde(default = "default_alpha")]
        alpha: f64,
        /// Trend smoothing (default 0.05).
        #[serde(default = "default_beta")]
        beta: f64,
        /// Season smoothing (default 0.2).
        #[serde(default = "default_gamma")]
        gamma: f64,
    },
    /// ARIMA(p, d, q) over a sliding window.
    Arima {
        /// AR order (default 2).
        #[serde(default = "two")]
        p: usize,
        /// Differences (default 1).
        #[serde(default = "one")]
        d: usize,
        /// MA order (default 0).
        #[serde(default)]
        q: usize,
        /// Window (default 30 min).
        #[serde(default = "thirty_minutes")]
        window: Duration,
    },
    /// The workload's true rate (an upper bound).
    Oracle,
    /// Another program speaking JSON lines on stdin/stdout, e.g.
    /// `{kind: external, command: [python3, ../examples/svr_predictor.py]}`. The
    /// scenario runs this command: it starts in the scenario file's directory, so
    /// relative paths in it are relative to the file, as every path in a scenario.
    External {
        /// Program and arguments. Required.
        command: Vec<String>,
        /// Longest wait for one answer (and for the exit at the end). Default 30 s.
        #[serde(default)]
        timeout: Option<Duration>,
        /// `fail` (default): a failed program ends the run with an error naming the
        /// command and the end of its stderr. `fallback`: the loop goes on without
        /// forecasts, every tick without one counted in `forecast_fallbacks`.
        #[serde(default)]
        on_error: OnErrorSpec,
        /// The scenario file's directory, where the command runs.
        #[serde(skip, default = "scenario_dir")]
        dir: std::path::PathBuf,
    },
}

/// What a failed external program does.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnErrorSpec {
    /// End the run with an error.
    #[default]
    Fail,
    /// Go on without forecasts, counting each tick.
    Fallback,
}

fn scenario_dir() -> std::path::PathBuf {
    crate::rates::scenario_relative(std::path::Path::new(""))
}

fn five_minutes() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(300))
}
fn thirty_minutes() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(1800))
}
fn default_alpha() -> f64 {
    0.3
}
fn default_beta() -> f64 {
    0.05
}
fn default_gamma() -> f64 {
    0.2
}
fn two() -> usize {
    2
}
fn one() -> usize {
    1
}

/// `decider:`.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeciderSpecYaml {
    /// Hold a count.
    Static(StaticSpec),
    /// Step scaling.
    Threshold(ThresholdSpec),
    /// Target tracking.
    TargetTracking(TargetTrackingSpec),
    /// The Kubernetes HPA (its own field names).
    Hpa(HpaSpec),
    /// Knative's KPA (`config-autoscaler` keys).
    Kpa(KpaSpec),
    /// Erlang-C sizing.
    Queueing(QueueingSpec),
    /// A time-of-day table.
    Scheduled(ScheduledSpec),
    /// The cheapest mix of a model's variants (CPU and GPU node types).
    CostOptimal(CostOptimalSpec),
}

/// `kind: cost_optimal`.
///
/// ```yaml
/// decider:
///   kind: cost_optimal
///   options:
///     - {model: chat, capacity: 40/s}        # replicas on the GPU pool
///     - {model: chat-cpu, capacity: 2/s}     # its `variant_of: chat` on CPUs
///   headroom: 0.8
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostOptimalSpec {
    /// The variants to choose among, each with the requests per second one replica
    /// serves within the SLA (measure it with a static run). Required.
    pub options: Vec<CostOptionSpec>,
    /// Plan for demand / headroom. Default: 0.8.
    #[serde(default = "default_headroom")]
    pub headroom: f64,
    /// Fewest replicas over all the options. Default: 1.
    #[serde(default = "default_one")]
    pub min: u32,
    /// Most replicas over all the options. Default: no bound but the quotas.
    #[serde(default)]
    pub max: Option<u32>,
    /// Scale in only once the demand has stayed lower this long (the HPA's
    /// scale-down stabilization). Default: 5 min.
    #[serde(default = "five_minutes")]
    pub stabilization_window: Duration,
}

fn default_headroom() -> f64 {
    0.8
}

/// One option of `cost_optimal`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostOptionSpec {
    /// A model (the loop's, or a `variant_of:` it).
    pub model: String,
    /// Requests per second one replica serves within the SLA.
    pub capacity: Rate,
}

/// `kind: static`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticSpec {
    /// The count to hold. Default: the model's `replicas`.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// Fewest replicas. Default: none.
    #[serde(default)]
    pub min: Option<u32>,
    /// Most replicas. Default: none.
    #[serde(default)]
    pub max: Option<u32>,
}

fn default_metric() -> String {
    "utilization".into()
}
fn default_max() -> u32 {
    100
}
fn default_one() -> u32 {
    1
}

/// `kind: threshold`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// `utilization` (busy share of ready replicas), `concurrency` (in flight per
    /// replica) or `ttft_p99` (the model's p99 time to first token over the last
    /// interval, seconds). Default: utilization.
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Scale out above this. Required.
    pub upper: f64,
    /// Scale in below this. Required.
    pub lower: f64,
    /// Replicas per step out. Default: 1.
    #[serde(default = "default_one")]
    pub step_up: u32,
    /// Replicas per step in. Default: 1.
    #[serde(default = "default_one")]
    pub step_down: u32,
    /// Wait after a step out. Default: 60 s.
    #[serde(default = "sixty")]
    pub cooldown_up: Duration,
    /// Wait after a step in. Default: 300 s.
    #[serde(default = "three_hundred")]
    pub cooldown_down: Duration,
    /// Fewest replicas. Default: 1.
    #[serde(default = "default_one")]
    pub min: u32,
    /// Most replicas. Default: 100.
    #[serde(default = "default_max")]
    pub max: u32,
}

fn sixty() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(60))
}
fn three_hundred() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(300))
}

/// `kind: target_tracking`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {
    /// As for `threshold`. Default: utilization.
    #[serde(default = "default_metric")]
    pub metric: String,
    /// Per-replica target. Required.
    pub target: f64,
    /// Wait after a scale-out. Default: 0 s.
    #[serde(default)]
    pub scale_out_cooldown: Duration,
    /// Wait after a scale-in. Default: 300 s.
    #[serde(default = "three_hundred")]
    pub scale_in_cooldown: Duration,
    /// Fewest replicas. Default: 1.
    #[serde(default = "default_one")]
    pub min: u32,
    /// Most replicas. Default: 100.
    #[serde(default = "default_max")]
    pub max: u32,
}

/// `kind: hpa`: an autoscaling/v2 HorizontalPodAutoscaler `spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaSpec {
    /// Default: 1.
    #[serde(default = "default_one")]
    pub min_replicas: u32,
    /// Required.
    pub max_replicas: u32,
    /// Default: CPU at 80 % utilization (the API default).
    #[serde(default)]
    pub metrics: Vec<HpaMetricSpec>,
    /// Default: none (the legacy path).
    #[serde(default)]
    pub behavior: Option<HpaBehaviorSpec>,
    /// `--horizontal-pod-autoscaler-tolerance`. Default: 0.1.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

fn default_tolerance() -> f64 {
    0.1
}

/// One entry of `metrics`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
pub enum HpaMetricSpec {
    /// `type: Resource` (`cpu`: the replica's busy share of one core).
    Resource {
        /// `resource:`.
        resource: NamedTarget,
    },
    /// `type: Pods` (`concurrency`: requests in flight per pod).
    Pods {
        /// `pods:`.
        pods: MetricWithTarget,
    },
    /// `type: External` (`arrival_rate` per second, `queue_length` at the router).
    External {
        /// `external:`.
        external: MetricWithTarget,
    },
}

/// `{name, target}` of a Resource metric.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedTarget {
    /// `cpu`.
    pub name: String,
    /// The target.
    pub target: TargetSpec,
}

/// `{metric: {name}, target}` of a Pods or External metric.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricWithTarget {
    /// `{name: ...}`.
    pub metric: MetricName,
    /// The target.
    pub target: TargetSpec,
}

/// `{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricName {
    /// The metric's name.
    pub name: String,
}

/// `target:` of a metric.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TargetSpec {
    /// `Utilization`, `AverageValue` or `Value`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Percent, for `Utilization`.
    #[serde(default)]
    pub average_utilization: Option<i64>,
    /// A quantity (`4`, `"500m"`), for `AverageValue`.
    #[serde(default)]
    pub average_value: Option<Quantity>,
    /// A quantity, for `Value`.
    #[serde(default)]
    pub value: Option<Quantity>,
}

/// A Kubernetes quantity in milli-units: `4`, `2.5`, `"500m"`, `"3k"`.
#[derive(Clone, Copy, Debug)]
pub struct Quantity(pub i64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a quantity such as `4`, `2.5`, `\"500m\"` or `\"3k\"`")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity((v as i64).saturating_mul(1000)))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.saturating_mul(1000)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity((v * 1000.0).round() as i64))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                let v = v.trim();
                let (number, scale) = if let Some(n) = v.strip_suffix('m') {
                    (n, 1.0)
                } else if let Some(n) = v.strip_suffix('k') {
                    (n, 1e6)
                } else if let Some(n) = v.strip_suffix('M') {
                    (n, 1e9)
                } else {
                    (v, 1e3)
                };
                number
                    .parse::<f64>()
                    .map(|x| Quantity((x * scale).round() as i64))
                    .map_err(|_| {
                        E::custom(format!(
                            "`{v}` is not a quantity such as `4`, `\"500m\"` or `\"3k\"`"
                        ))
                    })
            }
        }
        de.deserialize_any(V)
    }
}

/// `behavior:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaBehaviorSpec {
    /// `scaleUp:` (default: 0 s window; 4 pods or 100 % per 15 s; Max).
    #[serde(default)]
    pub scale_up: Option<HpaRulesSpec>,
    /// `scaleDown:` (default: 300 s window; 100 % per 15 s; Max).
    #[serde(default)]
    pub scale_down: Option<HpaRulesSpec>,
}

/// `scaleUp:` / `scaleDown:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaRulesSpec {
    /// 0–3600.
    #[serde(default)]
    pub stabilization_window_seconds: Option<u32>,
    /// `Max`, `Min` or `Disabled`.
    #[serde(default)]
    pub select_policy: Option<String>,
    /// `[{type: Pods|Percent, value, periodSeconds}]`.
    #[serde(default)]
    pub policies: Option<Vec<HpaPolicySpec>>,
    /// Per-direction tolerance (KEP-4951).
    #[serde(default)]
    pub tolerance: Option<f64>,
}

/// One scaling policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HpaPolicySpec {
    /// `Pods` or `Percent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Pods or percent.
    pub value: i64,
    /// 1–1800.
    pub period_seconds: u32,
}

/// `kind: kpa`: Knative's `config-autoscaler` keys and revision annotations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KpaSpec {
    /// `concurrency` or `rps`. Default: concurrency.
    #[serde(default = "default_kpa_metric")]
    pub metric: String,
    /// The `autoscaling.knative.dev/target` annotation (per pod). Default: the
    /// container concurrency if set, else 100 (rps: 200).
    #[serde(default)]
    pub target: Option<f64>,
    /// `containerConcurrency` (0: unlimited). Default: 0.
    #[serde(default)]
    pub container_concurrency: u32,
    /// Percent of the target to aim for. Default: 70.
    #[serde(default = "seventy")]
    pub target_utilization_percentage: f64,
    /// Default: 60 s.
    #[serde(default = "sixty")]
    pub stable_window: Duration,
    /// Default: 10.
    #[serde(default = "ten")]
    pub panic_window_percentage: f64,
    /// Default: 200.
    #[serde(default = "two_hundred")]
    pub panic_threshold_percentage: f64,
    /// Default: 1000.
    #[serde(default = "thousand")]
    pub max_scale_up_rate: f64,
    /// Default: 2.
    #[serde(default = "two_f")]
    pub max_scale_down_rate: f64,
    /// Default: 211.
    #[serde(default = "tbc")]
    pub target_burst_capacity: f64,
    /// Default: 0 s.
    #[serde(default)]
    pub scale_down_delay: Duration,
    /// Default: 0.
    #[serde(default)]
    pub min_scale: u32,
    /// Default: 0 (unbounded).
    #[serde(default)]
    pub max_scale: u32,
    /// Default: true.
    #[serde(default = "yes")]
    pub enable_scale_to_zero: bool,
    /// Default: 30 s.
    #[serde(default = "thirty")]
    pub scale_to_zero_grace_period: Duration,
    /// Default: 1.
    #[serde(default = "default_one")]
    pub activation_scale: u32,
}

fn default_kpa_metric() -> String {
    "concurrency".into()
}
fn seventy() -> f64 {
    70.0
}
fn ten() -> f64 {
    10.0
}
fn two_hundred() -> f64 {
    200.0
}
fn thousand() -> f64 {
    1000.0
}
fn two_f() -> f64 {
    2.0
}
fn tbc() -> f64 {
    211.0
}
fn yes() -> bool {
    true
}
fn thirty() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(30))
}

/// `kind: queueing`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueingSpec {
    /// Completions per second of one server (1 / mean service time). Required.
    pub service_rate: Rate,
    /// Parallel servers per replica (e.g. batch slots). Default: 1.
    #[serde(default = "default_one")]
    pub servers_per_replica: u32,
    /// Response-time percentile to meet. Default: 0.99.
    #[serde(default = "p99")]
    pub percentile: f64,
    /// Response-time target. Required.
    pub target: Duration,
    /// Fewest replicas. Default: 1.
    #[serde(default = "default_one")]
    pub min: u32,
    /// Most replicas. Default: 100.
    #[serde(default = "default_max")]
    pub max: u32,
    /// Scale in only once the demand has stayed lower this long (the HPA's
    /// scale-down stabilization). Default: 5 min.
    #[serde(default = "five_minutes")]
    pub stabilization_window: Duration,
}

fn p99() -> f64 {
    0.99
}

/// `kind: scheduled`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledSpec {
    /// Length of the cycle. Default: 24 h.
    #[serde(default = "day")]
    pub period: Duration,
    /// `[[offset, replicas], ...]` in increasing offset. Required.
    pub table: Vec<(Duration, u32)>,
    /// Fewest replicas. Default: none.
    #[serde(default)]
    pub min: Option<u32>,
    /// Most replicas. Default: none.
    #[serde(default)]
    pub max: Option<u32>,
}

fn day() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(86_400))
}

/// `executor:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorSpec {
    /// `newest` (default), `oldest` or `least_loaded`: which replicas go first.
    #[serde(default)]
    pub removal: RemovalSpec,
    /// `first_fit` (default) or `best_fit`: how new replicas are packed onto nodes.
    #[serde(default)]
    pub placement: PlacementSpec,
    /// Drain removed replicas (finish their requests first; default) or kill them
    /// (their requests are dropped).
    #[serde(default)]
    pub drain: Option<bool>,
}

/// Bin-packing rule.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PlacementSpec {
    /// The first node with room.
    #[default]
    FirstFit,
    /// The fullest node that fits.
    BestFit,
}

/// Removal order.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum RemovalSpec {
    /// Newest first.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
    /// Fewest requests first.
    LeastLoaded,
}

/// The loop and executor a scenario asks for.
#[derive(Clone, Debug)]
pub struct PolicySetup {
    /// The loop.
    pub config: LoopConfig,
    /// The executor.
    pub executor: ExecutorConfig,
}

fn metric(name: &str) -> Result<ReplicaMetric, String> {
    inferscale_policy::scaling_loop::replica_metric(name)
        .ok_or_else(|| format!("unknown metric `{name}`; expected `utilization` or `concurrency`"))
}

/// An HPA `behavior:` block as a scenario writes it (`scaleUp` and `scaleDown` with
/// Kubernetes' `autoscaling/v2` field names), checked and built exactly as `kind: hpa`
/// builds it: the path the HPA golden cases go through, so they test what users write.
pub fn hpa_behavior(yaml: &str) -> Result<Behavior, String> {
    let spec: HpaBehaviorSpec =
        serde_saphyr::from_str_with_options(yaml, crate::load::yaml_options())
            .map_err(|e| e.to_string())?;
    Ok(Behavior {
        scale_up: rules(spec.scale_up.as_ref(), true)?,
        scale_down: rules(spec.scale_down.as_ref(), false)?,
    })
}

fn rules(spec: Option<&HpaRulesSpec>, up: bool) -> Result<ScalingRules, String> {
    let default = if up {
        ScalingRules::default_scale_up()
    } else {
        ScalingRules::default_scale_down()
    };
    let Some(s) = spec else { return Ok(default) };
    if let Some(w) = s.stabilization_window_seconds
        && w > 3600
    {
        return Err(format!(
            "`stabilizationWindowSeconds` must be 0–3600, got {w}"
        ));
    }
    let policies = match &s.policies {
        None => default.policies,
        Some(ps) => ps
            .iter()
            .map(|p| {
                if !(1..=1800).contains(&p.period_seconds) {
                    return Err(format!(
                        "`periodSeconds` must be 1–1800, got {}",
                        p.period_seconds
                    ));
                }
                Ok(RatePolicy {
                    kind: match p.kind.as_str() {
                        "Pods" => RatePolicyKind::Pods,
                        "Percent" => RatePolicyKind::Percent,
                        other => {
                            return Err(format!(
                                "unknown policy type `{other}`; expected `Pods` or `Percent`"
                            ));
                        }
                    },
                    value: p.value,
                    period_s: f64::from(p.period_seconds),
                })
            })
            .collect::<Result<Vec<_>, String>>()?,
    };
    Ok(ScalingRules {
        stabilization_window_s: s
            .stabilization_window_seconds
            .map(f64::from)
            .or(default.stabilization_window_s),
        select: match s.select_policy.as_deref() {
            None | Some("Max") => SelectPolicy::Max,
            Some("Min") => SelectPolicy::Min,
            Some("Disabled") => SelectPolicy::Disabled,
            Some(other) => {
                return Err(format!(
                    "unknown selectPolicy `{other}`; expected `Max`, `Min` or `Disabled`"
                ));
            }
        },
        policies,
        tolerance: s.tolerance,
    })
}

/// A target quantity, which the Kubernetes API requires to be positive (its
/// validation rejects zero and negative ones: a zero target divides by zero).
fn positive(q: Quantity, field: &str) -> Result<i64, String> {
    if q.0 > 0 {
        Ok(q.0)
    } else {
        Err(format!(
            "`{field}` must be positive, got {}",
            q.0 as f64 / 1000.0
        ))
    }
}

fn hpa_metric(m: &HpaMetricSpec) -> Result<(MetricTarget, HpaMetricSource), String> {
    let average = |t: &TargetSpec| {
        t.average_value
            .ok_or_else(|| "an `AverageValue` target needs `averageValue`".to_string())
            .and_then(|q| positive(q, "averageValue"))
    };
    match m {
        HpaMetricSpec::Resource { resource } => {
            if resource.name != "cpu" {
                return Err(format!(
                    "resource `{}` is not simulated; use `cpu` (a replica's busy share of one core)",
                    resource.name
                ));
            }
            match resource.target.kind.as_str() {
                "Utilization" => Ok((
                    MetricTarget::ResourceUtilization {
                        cpu: true,
                        target_pct: match resource.target.average_utilization {
                            None => {
                                return Err(
                                    "a `Utilization` target needs `averageUtilization`".into()
                                );
                            }
                            Some(pct) if pct < 1 => {
                                return Err(format!(
                                    "`averageUtilization` must be greater than 0, got {pct}"
                                ));
                            }
                            Some(pct) => pct,
                        },
                    },
                    HpaMetricSource::Cpu,
                )),
                "AverageValue" => Ok((
                    MetricTarget::AverageValue {
                        target_m: average(&resource.target)?,
                    },
                    HpaMetricSource::Cpu,
                )),
                other => Err(format!(
                    "a Resource target is `Utilization` or `AverageValue`, not `{other}`"
                )),
            }
        }
        HpaMetricSpec::Pods { pods } => {
            if pods.metric.name != "concurrency" {
                return Err(format!(
                    "Pods metric `{}` is not simulated; use `concurrency` (requests in flight per pod)",
                    pods.metric.name
                ));
            }
            Ok((
                MetricTarget::AverageValue {
                    target_m: average(&pods.target)?,
                },
                HpaMetricSource::Concurrency,
            ))
        }
        HpaMetricSpec::External { external } => {
            let source = match external.metric.name.as_str() {
                "arrival_rate" => HpaMetricSource::ArrivalRate,
                "queue_length" => HpaMetricSource::QueueLength,
                other => {
                    return Err(format!(
                        "External metric `{other}` is not simulated; use `arrival_rate` or `queue_length`"
                    ));
                }
            };
            let target = match external.target.kind.as_str() {
                "AverageValue" => MetricTarget::ExternalAverageValue {
                    target_m: average(&external.target)?,
                },
                "Value" => MetricTarget::ExternalValue {
                    target_m: external
                        .target
                        .value
                        .ok_or_else(|| "a `Value` target needs `value`".to_string())
                        .and_then(|q| positive(q, "value"))?,
                },
                other => {
                    return Err(format!(
                        "an External target is `Value` or `AverageValue`, not `{other}`"
                    ));
                }
            };
            Ok((target, source))
        }
    }
}

impl PolicySpec {
    /// The loop for the models of `cluster`.
    pub fn build(
        &self,
        cluster: &inferscale_cluster::ClusterConfig,
    ) -> Result<PolicySetup, String> {
        let names: Vec<String> = cluster.models.iter().map(|m| m.name.clone()).collect();
        let model_names = names.as_slice();
        let models = match &self.models {
            None => (0..model_names.len()).collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    model_names.iter().position(|m| m == n).ok_or_else(|| {
                        format!(
                            "no model named `{n}`; the models are: {}",
                            model_names
                                .iter()
                                .map(|m| format!("`{m}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
                })
                .collect::<Result<Vec<usize>, String>>()?,
        };
        let default_interval = if matches!(self.decider, DeciderSpecYaml::Kpa(_)) {
            2.0
        } else {
            15.0
        };
        let interval_s = self.interval.as_ref().map_or(default_interval, secs);
        if interval_s <= 0.0 {
            return Err("`interval` must be longer than 0 s".into());
        }
        if !(0.0..1.0).contains(&self.monitor.noise) {
            return Err(format!(
                "`monitor.noise` must be in [0, 1), got {}",
                self.monitor.noise
            ));
        }
        let predictor = match &self.predictor {
            None => PredictorConfig::None,
            Some(PredictorSpec::LastValue) => PredictorConfig::LastValue,
            Some(PredictorSpec::MovingAverage { window }) => PredictorConfig::MovingAverage {
                window_s: secs(window),
            },
            Some(PredictorSpec::Ewma { alpha }) => {
                if !(*alpha > 0.0 && *alpha <= 1.0) {
                    return Err(format!("`alpha` must be in (0, 1], got {alpha}"));
                }
                PredictorConfig::Ewma { alpha: *alpha }
            }
            Some(PredictorSpec::LinearTrend { window }) => PredictorConfig::LinearTrend {
                window_s: secs(window),
            },
            Some(PredictorSpec::HoltWinters {
                season,
                alpha,
                beta,
                gamma,
            }) => {
                for (n, v) in [("alpha", alpha), ("beta", beta), ("gamma", gamma)] {
                    if !(0.0..=1.0).contains(v) {
                        return Err(format!("`{n}` must be in [0, 1], got {v}"));
                    }
                }
                if secs(season) < 2.0 * interval_s {
                    return Err("a Holt-Winters `season` must span at least two intervals".into());
                }
                PredictorConfig::HoltWinters {
                    alpha: *alpha,
                    beta: *beta,
                    gamma: *gamma,
                    season_s: secs(season),
                }
            }
            Some(PredictorSpec::Arima { p, d, q, window }) => {
                if p + q > 10 || *d > 2 {
                    return Err("ARIMA orders are limited to p + q ≤ 10 and d ≤ 2".into());
                }
                PredictorConfig::Arima {
                    p: *p,
                    d: *d,
                    q: *q,
                    window_s: secs(window),
                }
            }
            Some(PredictorSpec::Oracle) => PredictorConfig::Oracle,
            Some(PredictorSpec::External {
                command,
                timeout,
                on_error,
                dir,
            }) => {
                if command.is_empty() || command[0].is_empty() {
                    return Err("an external predictor needs `command: [program, args...]`".into());
                }
                let timeout = match timeout {
                    None => inferscale_policy::external::ExternalCommand::DEFAULT_TIMEOUT,
                    Some(t) if t.0.is_zero() => {
                        return Err("an external predictor's `timeout` must be above zero".into());
                    }
                    Some(t) => std::time::Duration::from_nanos(t.0.as_nanos()),
                };
                PredictorConfig::External(inferscale_policy::external::ExternalCommand {
                    command: command.clone(),
                    dir: dir.clone(),
                    timeout,
                    on_error: match on_error {
                        OnErrorSpec::Fail => inferscale_policy::external::OnError::Fail,
                        OnErrorSpec::Fallback => inferscale_policy::external::OnError::Fallback,
                    },
                })
            }
        };
        let decider = match &self.decider {
            DeciderSpecYaml::Static(s) => {
                let (min, max) = bounds(s.min, s.max)?;
                DeciderConfig::Static {
                    replicas: s.replicas,
                    min,
                    max,
                }
            }
            DeciderSpecYaml::Threshold(t) => {
                if t.lower >= t.upper {
                    return Err(format!(
                        "`lower` ({}) must be below `upper` ({})",
                        t.lower, t.upper
                    ));
                }
                DeciderConfig::Threshold(Threshold {
                    metric: metric(&t.metric)?,
                    upper: t.upper,
                    lower: t.lower,
                    step_up: t.step_up,
                    step_down: t.step_down,
                    cooldown_up_s: secs(&t.cooldown_up),
                    cooldown_down_s: secs(&t.cooldown_down),
                    min: t.min,
                    max: t.max.max(t.min),
                    last_step_s: None,
                })
            }
            DeciderSpecYaml::TargetTracking(t) => {
                if t.target <= 0.0 {
                    return Err(format!("`target` must be greater than 0, got {}", t.target));
                }
                DeciderConfig::TargetTracking(TargetTracking {
                    metric: metric(&t.metric)?,
                    target: t.target,
                    scale_out_cooldown_s: secs(&t.scale_out_cooldown),
                    scale_in_cooldown_s: secs(&t.scale_in_cooldown),
                    min: t.min,
                    max: t.max.max(t.min),
                    last_out_s: None,
                    last_in_s: None,
                })
            }
            DeciderSpecYaml::Hpa(h) => {
                if h.max_replicas < h.min_replicas.max(1) {
                    return Err(format!(
                        "`maxReplicas` ({}) must be at least `minReplicas` ({}) and 1",
                        h.max_replicas, h.min_replicas
                    ));
                }
                let metrics = if h.metrics.is_empty() {
                    vec![(
                        MetricTarget::ResourceUtilization {
                            cpu: true,
                            target_pct: 80,
                        },
                        HpaMetricSource::Cpu,
                    )]
                } else {
                    h.metrics
                        .iter()
                        .map(hpa_metric)
                        .collect::<Result<Vec<_>, String>>()?
                };
                let behavior = match &h.behavior {
                    None => None,
                    Some(b) => Some(Behavior {
                        scale_up: rules(b.scale_up.as_ref(), true)?,
                        scale_down: rules(b.scale_down.as_ref(), false)?,
                    }),
                };
                DeciderConfig::Hpa {
                    min: h.min_replicas,
                    max: h.max_replicas,
                    metrics,
                    behavior,
                    tolerance: h.tolerance,
                }
            }
            DeciderSpecYaml::Kpa(k) => {
                let rps = match k.metric.as_str() {
                    "concurrency" => false,
                    "rps" => true,
                    other => {
                        return Err(format!(
                            "KPA `metric` is `concurrency` or `rps`, not `{other}`"
                        ));
                    }
                };
                let stable = secs(&k.stable_window);
                if !(6.0..=3600.0).contains(&stable) {
                    return Err(format!("`stable-window` must be 6 s – 1 h, got {stable} s"));
                }
                let default_total = if rps {
                    200.0
                } else if k.container_concurrency > 0 {
                    f64::from(k.container_concurrency)
                } else {
                    100.0
                };
                let mut total = k.target.unwrap_or(default_total);
                if !rps && k.container_concurrency > 0 {
                    total = total.min(f64::from(k.container_concurrency));
                }
                let target_value = (total * k.target_utilization_percentage / 100.0).max(0.01);
                DeciderConfig::Kpa {
                    spec: DeciderSpec {
                        target_value,
                        total_value: total,
                        target_burst_capacity: k.target_burst_capacity,
                        panic_threshold: k.panic_threshold_percentage / 100.0,
                        max_scale_up_rate: k.max_scale_up_rate,
                        max_scale_down_rate: k.max_scale_down_rate,
                        activator_capacity: 100.0,
                        stable_window_s: stable,
                        scale_down_delay_s: secs(&k.scale_down_delay),
                        reachable: true,
                        activation_scale: i64::from(k.activation_scale),
                    },
                    panic_window_s: (stable * k.panic_window_percentage / 100.0)
                        .round()
                        .max(1.0),
                    min: k.min_scale,
                    max: k.max_scale,
                    scale_to_zero: k.enable_scale_to_zero,
                    grace_period_s: secs(&k.scale_to_zero_grace_period),
                    rps,
                }
            }
            DeciderSpecYaml::Queueing(q) => {
                if !(0.0..1.0).contains(&q.percentile) || q.percentile == 0.0 {
                    return Err(format!(
                        "`percentile` must be in (0, 1), got {}",
                        q.percentile
                    ));
                }
                DeciderConfig::Queueing(Queueing {
                    service_rate: q.service_rate.per_second(),
                    servers_per_replica: q.servers_per_replica.max(1),
                    percentile: q.percentile,
                    target_s: secs(&q.target),
                    min: q.min,
                    max: q.max.max(q.min),
                    stabilizer: Stabilizer::new(secs(&q.stabilization_window)),
                })
            }
            DeciderSpecYaml::Scheduled(s) => {
                if s.table.is_empty() {
                    return Err("a schedule needs at least one `[offset, replicas]` row".into());
                }
                let table: Vec<(f64, u32)> = s.table.iter().map(|(d, r)| (secs(d), *r)).collect();
                if table.windows(2).any(|w| w[1].0 <= w[0].0) {
                    return Err("schedule offsets must increase".into());
                }
                let (min, max) = bounds(s.min, s.max)?;
                DeciderConfig::Scheduled(Scheduled {
                    table,
                    period_s: secs(&s.period),
                    min,
                    max,
                })
            }
            DeciderSpecYaml::CostOptimal(c) => cost_optimal(c, cluster, model_names)?,
        };
        Ok(PolicySetup {
            config: LoopConfig {
                interval_s,
                monitor: MonitorConfig {
                    window_s: secs(&self.monitor.window),
                    lag_s: secs(&self.monitor.lag),
                    noise: self.monitor.noise,
                },
                predictor,
                horizon_s: self.horizon.as_ref().map_or(interval_s, secs),
                lead_time_s: cluster
                    .models
                    .iter()
                    .map(|d| match &self.lead_time {
                        Some(lead) => secs(lead),
                        None => {
                            let pool = &cluster.pools[d.pool];
                            pool.node_type.boot_time.mean() + d.load_time(pool).as_secs_f64()
                        }
                    })
                    .collect(),
                decider,
                models,
            },
            executor: ExecutorConfig {
                removal: match self.executor.removal {
                    RemovalSpec::Newest => RemovalOrder::Newest,
                    RemovalSpec::Oldest => RemovalOrder::Oldest,
                    RemovalSpec::LeastLoaded => RemovalOrder::LeastLoaded,
                },
                kill: self.executor.drain == Some(false),
                placement: match self.executor.placement {
                    PlacementSpec::FirstFit => inferscale_cluster::Placement::FirstFit,
                    PlacementSpec::BestFit => inferscale_cluster::Placement::BestFit,
                },
            },
        })
    }
}

fn cost_optimal(
    c: &CostOptimalSpec,
    cluster: &inferscale_cluster::ClusterConfig,
    model_names: &[String],
) -> Result<DeciderConfig, String> {
    if !(c.headroom > 0.0 && c.headroom <= 1.0) {
        return Err(format!("`headroom` must be in (0, 1], got {}", c.headroom));
    }
    if c.options.is_empty() {
        return Err("cost_optimal needs at least one option".into());
    }
    let mut options = Vec::new();
    for o in &c.options {
        let Some(m) = model_names.iter().position(|n| *n == o.model) else {
            return Err(format!("no model named `{}` among the options", o.model));
        };
        let d = &cluster.models[m];
        let node = &cluster.pools[d.pool].node_type;
        let per_node = (node.accelerators_per_node / d.tp().max(1)).max(1);
        // On-demand prices: spot capacity (and its preemptions) is not simulated yet.
        let node_price = node.price_per_hour;
        if o.capacity.per_second() <= 0.0 {
            return Err(format!("option `{}` needs a capacity above 0", o.model));
        }
        options.push((
            m,
            inferscale_policy::cost::NodeOption {
                name: o.model.clone(),
                price_per_hour: node_price / f64::from(per_node),
                capacity: o.capacity.per_second(),
                quota: node.max_count.map_or(1000, |n| n.saturating_mul(per_node)),
                spot: false,
            },
        ));
    }
    let groups: Vec<usize> = options.iter().map(|(m, _)| cluster.router_of(*m)).collect();
    if groups.windows(2).any(|w| w[0] != w[1]) {
        return Err("cost_optimal options must be one model and its `variant_of:` entries".into());
    }
    let (min, max) = bounds(Some(c.min), c.max)?;
    Ok(DeciderConfig::CostOptimal {
        options,
        headroom: c.headroom,
        max_spot_share: 0.0,
        min,
        max,
        stabilization_window_s: secs(&c.stabilization_window),
    })
}

/// Optional `min` and `max` of a decider, checked: (0, unbounded) by default.
fn bounds(min: Option<u32>, max: Option<u32>) -> Result<(u32, u32), String> {
    let (lo, hi) = (min.unwrap_or(0), max.unwrap_or(u32::MAX));
    if hi < lo {
        return Err(format!("`max` ({hi}) must be at least `min` ({lo})"));
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direction written in part is filled with the API defaults field by field (the
    /// other direction keeps all of them), as the Kubernetes API server does.
    #[test]
    fn a_behavior_written_in_part_gets_the_api_defaults() {
        let b = hpa_behavior(
            "{scaleDown: {stabilizationWindowSeconds: 60, policies: [{type: Percent, value: 50, periodSeconds: 30}]}}",
        )
        .unwrap();
        assert_eq!(b.scale_up, ScalingRules::default_scale_up());
        assert_eq!(b.scale_down.stabilization_window_s, Some(60.0));
        assert_eq!(b.scale_down.select, SelectPolicy::Max);
        assert_eq!(
            b.scale_down.policies,
            [RatePolicy {
                kind: RatePolicyKind::Percent,
                value: 50,
                period_s: 30.0,
            }]
        );
        let min = hpa_behavior("{scaleUp: {selectPolicy: Min, tolerance: 0.05}}").unwrap();
        assert_eq!(min.scale_up.select, SelectPolicy::Min);
        assert_eq!(min.scale_up.tolerance, Some(0.05));
        assert_eq!(
            min.scale_up.policies,
            ScalingRules::default_scale_up().policies
        );
    }

    /// Values the Kubernetes API validation refuses are refused, saying what is
    /// accepted.
    #[test]
    fn a_behavior_the_api_would_refuse_is_refused() {
        let err = |yaml: &str| hpa_behavior(yaml).unwrap_err();
        assert!(
            err("{scaleDown: {stabilizationWindowSeconds: 3601}}").contains("0–3600, got 3601"),
            "{}",
            err("{scaleDown: {stabilizationWindowSeconds: 3601}}")
        );
        assert!(
            err("{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}")
                .contains("`periodSeconds` must be 1–1800, got 0")
        );
        assert!(
            err("{scaleUp: {policies: [{type: Replicas, value: 1, periodSeconds: 15}]}}")
                .contains("expected `Pods` or `Percent`")
        );
        assert!(
            err("{scaleUp: {selectPolicy: Average}}")
                .contains("expected `Max`, `Min` or `Disabled`")
        );
        assert!(err("{scaleUp: {stabilisationWindowSeconds: 5}}").contains("unknown field"));
    }

    /// Quantities in the Kubernetes notation, in milli-units.
    #[test]
    fn quantities_read_as_kubernetes_writes_them() {
        let q = |yaml: &str| serde_saphyr::from_str::<Quantity>(yaml).map(|q| q.0);
        assert_eq!(q("4").unwrap(), 4_000);
        assert_eq!(q("2.5").unwrap(), 2_500);
        assert_eq!(q("\"500m\"").unwrap(), 500);
        assert_eq!(q("\"3k\"").unwrap(), 3_000_000);
        assert!(q("\"lots\"").is_err());
    }
}
