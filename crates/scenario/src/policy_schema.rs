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

//!
//! This module is the schema (serde types and their defaults); [`crate::policy_build`]
//! turns a checked [`PolicySpec`] into the loop's configuration.

use serde::Deserialize;

use crate::units::{Duration, Rate};

/// The `policy:` section.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
    },
}

/// What a failed external program does.
#[derive(Clone, Copy, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnErrorSpec {
    /// End the run with an error.
    #[default]
    Fail,
    /// Go on without forecasts, counting each tick.
    Fallback,
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
    /// Another program decides for the whole fleet, over JSON lines: every tick it
    /// reads the controller's view (time, cost so far, per model its node type,
    /// replicas, monitored metrics and forecast) and answers replica counts or deltas
    /// per model (`docs/decider-protocol.md`). E.g. `{kind: external, command:
    /// [python3, ../examples/threshold_decider.py]}`; it starts in the scenario file's
    /// directory.
    External(ExternalDeciderSpec),
}

/// `kind: external` (a decider).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalDeciderSpec {
    /// Program and arguments. Required.
    pub command: Vec<String>,
    /// Longest wait for one answer (and for the exit at the end). Default 30 s.
    #[serde(default)]
    pub timeout: Option<Duration>,
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostOptionSpec {
    /// A model (the loop's, or a `variant_of:` it).
    pub model: String,
    /// Requests per second one replica serves within the SLA.
    pub capacity: Rate,
}

/// `kind: static`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// `utilization` (busy share of ready replicas), `concurrency` (in flight per
    /// replica), `ttft_p99` (the model's p99 time to first token over the last
    /// interval, seconds), `kv_utilization` (share of the ready replicas' KV cache in
    /// use, 0–1) or `queue_length` (requests waiting for admission per ready replica,
    /// vLLM's `num_requests_waiting`, the router's backlog included). Default:
    /// utilization.
    #[serde(default = "default_metric")]
    #[schemars(schema_with = "replica_metric_names")]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetTrackingSpec {
    /// As for `threshold`. Default: utilization.
    #[serde(default = "default_metric")]
    #[schemars(schema_with = "replica_metric_names")]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamedTarget {
    /// `cpu`.
    pub name: String,
    /// The target.
    pub target: TargetSpec,
}

/// `{metric: {name}, target}` of a Pods or External metric.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricWithTarget {
    /// `{name: ...}`.
    pub metric: MetricName,
    /// The target.
    pub target: TargetSpec,
}

/// `{name}`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricName {
    /// The metric's name.
    pub name: String,
}

/// `target:` of a metric.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Default, Deserialize, schemars::JsonSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PlacementSpec {
    /// The first node with room.
    #[default]
    FirstFit,
    /// The fullest node that fits.
    BestFit,
}

/// Removal order.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema, Clone, Copy)]
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

impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Kubernetes quantity: `4`, `2.5`, `\"500m\"` (milli), `\"3k\"`, `\"2M\"`.",
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": r"^\s*[0-9.eE+-]+[mkM]?\s*$"}
            ]
        })
    }
}

/// The editor schema of a per-replica metric: the names the loop knows.
fn replica_metric_names(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = inferscale_policy::scaling_loop::REPLICA_METRICS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    schemars::json_schema!({
        "description": "A per-replica metric.",
        "type": "string",
        "enum": names,
        "default": "utilization"
    })
}
