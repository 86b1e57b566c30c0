//! The cluster's side of the scaling loop: what a controller sees at each tick
//! ([`ClusterView`]), what it may ask for ([`ScaleAction`]), and the record of what
//! was done and how long it took to take effect ([`ActionRecord`]).
//!
//! The loop itself (monitor → predict → decide) lives in the policy crate and reaches
//! the cluster only through [`Controller`]; the cluster executes: it places new
//! replicas (booting nodes when none has room), loads them, and drains or kills the
//! ones it removes.

use inferscale_engine::{SimDuration, SimTime};

/// One replica as a monitoring system would see it (a Kubernetes pod).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReplicaView {
    /// When it was requested (its pod was created), seconds.
    pub created_s: f64,
    /// When it became ready (`None`: booting or loading).
    pub ready_since_s: Option<f64>,
    /// Whether it is draining (being removed).
    pub draining: bool,
    /// Share of the last interval it spent computing (0–1).
    pub busy_fraction: f64,
    /// Requests it holds (queued or running).
    pub in_flight: u32,
    /// Of those, requests waiting for admission (vLLM's `num_requests_waiting`).
    pub waiting: u32,
}

/// One model's state at a tick.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelView {
    /// Model name.
    pub name: String,
    /// The node type its replicas run on (its `placement`).
    pub node_type: String,
    /// The model whose router it shares (a `variant_of:` names it), by index; its
    /// own index when it has its own.
    pub group: usize,
    /// What it has been billed from the start of the run to now, dollars (its share
    /// of the nodes it occupies; the warm-up included).
    pub cost_usd: f64,
    /// Requests that arrived since the last tick.
    pub arrivals: u64,
    /// Requests completed since the last tick.
    pub completions: u64,
    /// Requests measured (reaching the cluster after the warm-up) that have met every
    /// SLA target so far, counted as they complete.
    pub sla_met: u64,
    /// Requests measured that have ended without meeting the SLA so far: completed
    /// late, dropped or refused. Those in flight are judged when the run ends, so at
    /// the end `sla_met + sla_missed` grows to the run's measured arrivals.
    pub sla_missed: u64,
    /// Replicas asked for (not draining): the scale's `spec.replicas`.
    pub desired: u32,
    /// Replicas ready (not draining).
    pub ready: u32,
    /// Replicas waiting for their node.
    pub provisioning: u32,
    /// Replicas loading weights.
    pub loading: u32,
    /// Replicas draining.
    pub draining: u32,
    /// Requests waiting at the router for a ready replica.
    pub router_queue: u64,
    /// Requests held by replicas plus the router's queue.
    pub in_flight: u64,
    /// Share of ready replicas' KV cache in use.
    pub kv_utilization: f64,
    /// Share of the full prompt blocks its replicas looked up in their prefix caches
    /// since the last tick that were cached (NaN when none was looked up).
    pub cache_hit_rate: f64,
    /// 99th percentile time to first token of the first tokens since the last tick,
    /// seconds (NaN when there were none).
    pub ttft_p99_s: f64,
    /// Output tokens of requests completed since the last tick, per second.
    pub output_tokens_per_s: f64,
    /// Every live replica (draining ones included).
    pub replicas: Vec<ReplicaView>,
}

/// What a controller sees at a tick.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterView {
    /// Now.
    pub now: SimTime,
    /// Time since the previous tick.
    pub interval: SimDuration,
    /// One per model, in the scenario's order.
    pub models: Vec<ModelView>,
    /// What the run has been billed from its start to now, dollars (every node
    /// type, the warm-up included): the models' `cost_usd` plus what no model bears.
    pub cost_usd: f64,
}

/// Run `replicas` replicas of model `model`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleAction {
    /// Index of the model.
    pub model: usize,
    /// The new count.
    pub replicas: u32,
    /// Why, for the action log (e.g. `hpa: ratio 1.43 over 3 ready`).
    pub reason: String,
    /// The forecast behind it, if any (requests/s), for the time series.
    pub forecast_per_s: Option<f64>,
}

/// The autoscaling loop, as the cluster drives it.
pub trait Controller: Send {
    /// Time between ticks.
    fn interval(&self) -> SimDuration;
    /// One tick: look at the cluster, return the changes to make (none to keep
    /// everything as it is). An error ends the run with it (e.g. an external
    /// program the loop depends on died): the cluster reports nothing from a run
    /// whose policy could not act.
    fn tick(&mut self, view: &ClusterView) -> Result<Vec<ScaleAction>, String>;
    /// What the loop measured of itself, asked once at the end of the run.
    fn report(&self) -> ControllerReport {
        ControllerReport::default()
    }
}

/// How good one model's forecasts were: each forecast compared with the arrival rate
/// actually seen over the interval it was made for.
#[derive(Clone, Debug, PartialEq)]
pub struct ForecastError {
    /// Index of the model.
    pub model: usize,
    /// Forecasts compared.
    pub count: u64,
    /// Mean absolute percentage error (over intervals with arrivals), 0–1.
    pub mape: f64,
    /// Root mean squared error, requests/s.
    pub rmse: f64,
}

/// What a controller reports at the end of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ControllerReport {
    /// Per model with a predictor.
    pub forecast_errors: Vec<ForecastError>,
    /// Every forecast: (the time it is for, model, forecast arrival rate per second).
    pub forecasts: Vec<(SimTime, usize, f64)>,
    /// Per controlled model: (model, ticks its decider went without a forecast
    /// because the predictor had failed — `on_error: fallback`).
    pub predictor_fallbacks: Vec<(usize, u64)>,
}

/// A change the cluster made, with how long it took to take effect.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    /// When it was decided.
    pub time: SimTime,
    /// Index of the model.
    pub model: usize,
    /// Replicas asked for before.
    pub from: u32,
    /// Replicas asked for now.
    pub to: u32,
    /// Why.
    pub reason: String,
    /// Node type of the replicas concerned.
    pub node_type: String,
    /// New nodes requested for it.
    pub nodes_requested: u32,
    /// Replicas that could not be placed (quota).
    pub unplaced: u32,
    /// Until the last added replica was ready, or the last removed one gone; `None`
    /// while that has not happened by the end of the run.
    pub took: Option<SimDuration>,
}

/// How the executor removes replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RemovalOrder {
    /// The most recently created first (least warm cache lost).
    #[default]
    Newest,
    /// The oldest first.
    Oldest,
    /// The one holding the fewest requests first.
    LeastLoaded,
}

/// How new replicas are packed onto live nodes of their type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Placement {
    /// The first node with room (in the order nodes were requested).
    #[default]
    FirstFit,
    /// The node with the least room that still fits.
    BestFit,
}

/// How the executor acts. By default removed replicas drain: they take no new
/// requests, finish what they hold, then release their accelerators (and their node,
/// once empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExecutorConfig {
    /// Which replicas go first on scale-down.
    pub removal: RemovalOrder,
    /// Bin-packing of new replicas onto nodes.
    pub placement: Placement,
    /// Kill instead of drain: a removed replica's requests are dropped at once.
    pub kill: bool,
}
