//! A cluster: node types, nodes that boot and bill, LLM replicas placed on them, and
//! a router per model that spreads requests over its ready replicas.
//!
//! This is the static policy: every model asks for a fixed number of replicas at time
//! zero. Each replica needs `tp` accelerators of its model's node type on one node;
//! replicas are packed first-fit onto nodes, and a new node is requested when none has
//! room (within the node type's quota). A node **bills from the moment it is
//! requested** until the end of the run, rounded up to the node type's billing
//! granularity and at least its minimum. A replica's lifecycle is
//! `provisioning` (its node boots, a draw from the node type's boot-time distribution)
//! → `loading` (weights / load bandwidth + container start) → `ready`.
//!
//! Requests that arrive while a model has no ready replica wait in the router's queue
//! (bounded; past the bound they are dropped and counted) and are dispatched as
//! replicas come up. Every request ends in exactly one of: completed, dropped,
//! rejected (can never be served), or in flight at the end.

use std::collections::{BTreeSet, VecDeque};

use inferscale_engine::{Context, Model, RngStreams, SimDuration, SimRng, SimTime, Simulation};
use rand::Rng;

use crate::NodeType;
use crate::classic::{ClassicProfile, ClassicReplica, ClassicServerConfig, NextStep};
use crate::control::{
    ActionRecord, ClusterView, Controller, ExecutorConfig, ModelView, Placement, RemovalOrder,
    ReplicaView,
};
use crate::llm_server::{LlmOutcomes, LlmReplica, LlmRequest, LlmServerConfig, LlmSla};
use crate::perf::Roofline;

/// How a model's router picks a replica for each request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingPolicy {
    /// Each ready replica in turn.
    RoundRobin,
    /// A uniformly random ready replica.
    Random,
    /// The replica with the fewest requests waiting or running.
    LeastOutstanding,
    /// The replica with the fewest requests waiting for admission.
    ShortestQueue,
    /// The less loaded (outstanding) of two random replicas.
    PowerOfTwo,
}

/// A node type with its billing rules.
#[derive(Clone, Debug)]
pub struct NodePool {
    /// The node type.
    pub node_type: NodeType,
    /// Billing granularity (e.g. 1 s).
    pub billing_granularity: SimDuration,
    /// Minimum billed time per node (e.g. 60 s).
    pub billing_minimum: SimDuration,
    /// Spot capacity: nodes are reclaimed by the provider. `None`: on-demand.
    pub spot: Option<SpotTerms>,
}

/// How a spot node type is reclaimed: each node lives an exponential time with mean
/// `mean_lifetime` from its request, and gets `notice` warning first. At the notice
/// its ready replicas stop counting as capacity (so a controller replaces them) but
/// keep serving until a replacement of their model is ready, then drain; replicas not
/// yet ready drain at once. At the reclaim whatever is still running is dropped and
/// the node is gone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpotTerms {
    /// Mean time from a node's request to its reclaim.
    pub mean_lifetime: SimDuration,
    /// Warning before the reclaim (AWS gives 2 minutes).
    pub notice: SimDuration,
}

/// How a model's replicas serve: an LLM with continuous batching, or a classic model
/// with dynamic batching.
#[derive(Clone, Debug)]
// A handful of deployments per run, read at set-up only: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum Serving {
    /// A large language model.
    Llm {
        /// Performance model of one replica (model, accelerator, tp, efficiency).
        roofline: Roofline,
        /// Scheduler limits of each replica.
        server: LlmServerConfig,
    },
    /// A classic model (classifier, encoder) on one accelerator.
    Classic {
        /// Measured latency per batch size.
        profile: ClassicProfile,
        /// Dynamic-batching limits.
        server: ClassicServerConfig,
    },
}

/// One model served by the cluster.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Name, for reports.
    pub name: String,
    /// What its replicas run.
    pub serving: Serving,
    /// Index into the cluster's node pools.
    pub pool: usize,
    /// Replicas to run (the static policy).
    pub replicas: u32,
    /// Container start added to the weight load time.
    pub container_start: SimDuration,
    /// Targets each request is judged against.
    pub sla: LlmSla,
    /// How requests are spread.
    pub routing: RoutingPolicy,
    /// Most requests a replica's waiting queue (and the router's backlog) may hold;
    /// more are dropped. `None`: unbounded.
    pub max_queue: Option<u32>,
    /// Start with the initial replicas booted and loaded at time zero (billed from
    /// zero), instead of cold: a study need not spend its warm-up on a cold start.
    pub initial_ready: bool,
}

impl Deployment {
    /// Accelerators one replica occupies.
    pub fn tp(&self) -> u32 {
        match &self.serving {
            Serving::Llm { roofline, .. } => roofline.tp(),
            Serving::Classic { .. } => 1,
        }
    }

    /// Name of the model (the catalog entry).
    pub fn model_name(&self) -> &str {
        match &self.serving {
            Serving::Llm { roofline, .. } => &roofline.model().name,
            Serving::Classic { profile, .. } => &profile.name,
        }
    }

    /// Time to load the weights onto a freshly booted node.
    pub fn load_time(&self, pool: &NodePool) -> SimDuration {
        let weights = match &self.serving {
            Serving::Llm { roofline, .. } => roofline.model().weight_bytes(),
            Serving::Classic { profile, .. } => profile.weight_bytes,
        };
        SimDuration::from_secs_f64(weights / pool.node_type.load_bandwidth) + self.container_start
    }

    fn new_server(&self, stats_from: SimTime) -> Server {
        match &self.serving {
            Serving::Llm { roofline, server } => Server::Llm(Box::new(LlmReplica::new(
                roofline.clone(),
                server.clone(),
                stats_from,
            ))),
            Serving::Classic { profile, server } => Server::Classic(
                ClassicReplica::new(profile.clone(), server.clone()).with_stats_from(stats_from),
            ),
        }
    }
}

/// A replica's server, of either kind.
enum Server {
    Llm(Box<LlmReplica>),
    Classic(ClassicReplica),
}

impl Server {
    fn outstanding(&self) -> usize {
        match self {
            Server::Llm(s) => s.outstanding(),
            Server::Classic(s) => s.outstanding(),
        }
    }

    fn queued(&self) -> usize {
        match self {
            Server::Llm(s) => s.queued(),
            Server::Classic(s) => s.queued(),
        }
    }

    /// The request as the replica would take it (cut to the context, and whether it
    /// was), or `None` when it can never serve it.
    fn admit(&self, request: LlmRequest) -> Option<(LlmRequest, bool)> {
        match self {
            Server::Llm(s) => s.admit(request),
            Server::Classic(_) => Some((request, false)),
        }
    }

    fn enqueue(&mut self, request: LlmRequest) {
        match self {
            Server::Llm(s) => s.enqueue(request),
            Server::Classic(s) => s.enqueue(request),
        }
    }

    fn start(&mut self, now: SimTime, out: &mut LlmOutcomes) -> NextStep {
        match self {
            Server::Llm(s) => s
                .start_iteration(now, out)
                .map_or(NextStep::Idle, NextStep::Busy),
            Server::Classic(s) => s.start(now),
        }
    }

    fn complete(&mut self, now: SimTime, out: &mut LlmOutcomes) {
        match self {
            Server::Llm(s) => s.complete_iteration(now, out),
            Server::Classic(s) => s.complete(now, out),
        }
    }

    fn busy(&self) -> SimDuration {
        match self {
            Server::Llm(s) => s.stats().busy,
            Server::Classic(s) => s.busy(),
        }
    }

    /// Busy time within the statistics window, up to `end`.
    fn busy_in_window(&self, end: SimTime) -> SimDuration {
        match self {
            Server::Llm(s) => s.busy_in_window(end),
            Server::Classic(s) => s.busy_in_window(end),
        }
    }

    /// Calls `f` with every request it holds and its first token's time, if it came.
    fn for_each_outstanding(&self, f: impl FnMut(&LlmRequest, Option<SimTime>)) {
        match self {
            Server::Llm(s) => s.for_each_outstanding(f),
            Server::Classic(s) => s.for_each_outstanding(f),
        }
    }

    /// Whether the router's backlog may feed it another request now.
    fn has_room(&self) -> bool {
        match self {
            Server::Llm(s) => s.has_room(),
            Server::Classic(s) => s.has_room(),
        }
    }

    /// KV blocks (used, total); classic models have none.
    fn kv_blocks(&self) -> (u64, u64) {
        match self {
            Server::Llm(s) => (s.kv_blocks_used(), s.config().kv_blocks),
            Server::Classic(_) => (0, 0),
        }
    }

    /// KV blocks in use integrated over the statistics window up to `end`
    /// (block-seconds), and the replica's blocks; classic models have none.
    fn kv_block_seconds(&self, end: SimTime) -> (f64, u64) {
        match self {
            Server::Llm(s) => (s.stats().kv_block_seconds(end), s.config().kv_blocks),
            Server::Classic(_) => (0.0, 0),
        }
    }

    fn preemptions(&self) -> u64 {
        match self {
            Server::Llm(s) => s.stats().preemptions,
            Server::Classic(_) => 0,
        }
    }

    fn abort_all(&mut self, now: SimTime, out: &mut LlmOutcomes) -> u64 {
        match self {
            Server::Llm(s) => s.abort_all(now, out),
            Server::Classic(s) => s.abort_all(now, out),
        }
    }
}

/// A request stream for one model.
pub struct RequestStream {
    /// Index into the deployments.
    pub model: usize,
    /// Requests in arrival order.
    pub requests: Box<dyn Iterator<Item = LlmRequest> + Send>,
}

/// Everything a cluster run needs besides its random streams.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Node types on offer.
    pub pools: Vec<NodePool>,
    /// Models served.
    pub models: Vec<Deployment>,
    /// Requests arriving before this are served but not measured.
    pub warmup: SimTime,
    /// End of the run.
    pub horizon: SimTime,
    /// Time-series sampling interval; `None` records no time series.
    pub sample_interval: Option<SimDuration>,
    /// Scheduled changes of replica counts (a fixed timetable; the autoscaling loop
    /// drives the same mechanism).
    pub replica_changes: Vec<ReplicaChange>,
    /// Per model, the model whose router it joins: variants of one model on
    /// different node types share one router and queue, so requests go to whichever
    /// replica is free. Empty: every model has its own.
    pub router_groups: Vec<usize>,
    /// Limits the run enforces on itself (stall, wall clock).
    pub watchdog: inferscale_engine::Watchdog,
}

impl ClusterConfig {
    /// The model whose router serves `model`.
    pub fn router_of(&self, model: usize) -> usize {
        self.router_groups.get(model).copied().unwrap_or(model)
    }
}

/// At `at`, run `replicas` replicas of model `model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplicaChange {
    /// When.
    pub at: SimTime,
    /// Index into the deployments.
    pub model: usize,
    /// The new replica count.
    pub replicas: u32,
}

/// The state of one model's part of the cluster over one sampling interval, ending at
/// `time`. Intervals follow a fixed grid from time zero, with one boundary at the end
/// of the warm-up and the last interval ending at the horizon (either may be shorter),
/// so sums over the intervals after the warm-up cover exactly the measurement window.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// End of the interval.
    pub time: SimTime,
    /// Length of the interval.
    pub interval: SimDuration,
    /// Index of the model.
    pub model: usize,
    /// Requests that arrived in the interval.
    pub arrivals: u64,
    /// Requests that completed in the interval.
    pub completions: u64,
    /// Requests dropped or rejected in the interval.
    pub dropped: u64,
    /// Replicas whose node is still booting, at the end of the interval.
    pub provisioning: u32,
    /// Replicas loading weights.
    pub loading: u32,
    /// Replicas serving (draining ones included).
    pub ready: u32,
    /// Replicas draining: finishing their requests before they go.
    pub draining: u32,
    /// Requests waiting for admission (replica queues and the router's).
    pub queued: u64,
    /// Requests admitted and not finished.
    pub running: u64,
    /// Share of ready replicas' KV blocks in use.
    pub kv_utilization: f64,
    /// TTFT of first tokens in the interval: median and 99th percentile, seconds
    /// (NaN when none).
    pub ttft_p50_s: f64,
    /// 99th percentile TTFT in the interval.
    pub ttft_p99_s: f64,
    /// 99th percentile end-to-end latency of completions in the interval.
    pub e2e_p99_s: f64,
    /// Dollars billed in the interval for this model's share of the nodes (by the
    /// accelerators its replicas occupy, the billing rounding included when a node
    /// goes), per hour of the interval: integrated over the measurement window it is
    /// the model's cost.
    pub cost_rate_per_hour: f64,
}

/// One node type's fleet over one sampling interval (the same intervals as
/// [`Sample`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FleetSample {
    /// End of the interval.
    pub time: SimTime,
    /// Length of the interval.
    pub interval: SimDuration,
    /// Index of the node pool.
    pub pool: usize,
    /// Nodes alive (requested and not yet released) at the end of the interval.
    pub nodes: u32,
    /// Of those, nodes still booting.
    pub booting: u32,
    /// Node-hours billed in the interval (rounding included when a node goes).
    pub node_hours: f64,
    /// Dollars billed in the interval, per hour of it (as [`Sample::cost_rate_per_hour`]).
    pub cost_rate_per_hour: f64,
}

/// What a node type cost: over the measurement window (after the warm-up) and over
/// the whole run.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolUsage {
    /// Node type name.
    pub node_type: String,
    /// Nodes requested over the run.
    pub nodes: u64,
    /// Billed node-hours in the measurement window.
    pub node_hours: f64,
    /// Dollars in the measurement window.
    pub cost: f64,
    /// Billed node-hours over the whole run, warm-up included.
    pub node_hours_total: f64,
    /// Dollars over the whole run.
    pub cost_total: f64,
    /// Spot nodes that got a reclaim notice while in use.
    pub reclaims: u64,
}

/// What one model saw. Requests sent to a model are accounted to it whichever of its
/// variants served them (a variant's report has its replicas, utilization and cost,
/// and no requests of its own).
#[derive(Clone, Debug)]
pub struct ModelReport {
    /// Model name.
    pub name: String,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Still waiting or running at the end.
    pub in_flight_at_end: u64,
    /// Of those, requests that arrived after the warm-up: with `outcomes`' measured
    /// counts, `arrivals_measured = measured + dropped_measured + rejected_measured +
    /// in_flight_measured`.
    pub in_flight_measured: u64,
    /// Most replicas asked for at once that could not be placed (quota exhausted):
    /// the largest shortfall, not a count of retries (a scale-up the quota blocks is
    /// asked for again at every tick).
    pub unplaced_replicas: u32,
    /// Replicas that became ready.
    pub ready_replicas: u32,
    /// Latencies, completions, drops, at the end of the run.
    pub outcomes: LlmOutcomes,
    /// Requests that arrived after the warm-up and met every SLA target. Those still
    /// in flight at the end are followed (no new arrivals or scaling decisions) until
    /// they finish or can no longer meet the SLA, so every measured request is judged:
    /// `outcomes.arrivals_measured = sla_met + sla_missed()`.
    pub sla_met: u64,
    /// Time-average number of requests in the system (at the router or a replica)
    /// over the measurement window.
    pub mean_in_system: f64,
    /// Ready, busy and KV-block time in the window: its utilization and KV utilization
    /// ([`ReplicaTime::utilization`]), pooled over models by summing.
    pub replica_time: ReplicaTime,
    /// Preemptions over all replicas.
    pub preemptions: u64,
    /// Dollars attributed to this model in the measurement window: each node's bill
    /// split over the models by the accelerators their replicas occupy on it.
    pub cost: f64,
    /// Billed node-hours attributed the same way, in the window.
    pub node_hours: f64,
    /// Dollars attributed over the whole run, warm-up included.
    pub cost_total: f64,
    /// Node-hours attributed over the whole run.
    pub node_hours_total: f64,
    /// Time-average of the replicas asked for (not draining), over the measured window.
    pub mean_replicas: f64,
    /// Most replicas asked for at once.
    pub max_replicas: u32,
}

impl ModelReport {
    /// Measured requests that did not meet the SLA: late, dropped, rejected, or
    /// unfinished when the requests in flight at the end were judged.
    pub fn sla_missed(&self) -> u64 {
        self.outcomes.arrivals_measured - self.sla_met
    }

    /// `sla_met` over the requests that arrived after the warm-up (NaN when none did).
    pub fn sla_attainment(&self) -> f64 {
        if self.outcomes.arrivals_measured == 0 {
            f64::NAN
        } else {
            self.sla_met as f64 / self.outcomes.arrivals_measured as f64
        }
    }
}

/// A model's replica-time in the measurement window: the terms of its utilization
/// (`busy_s / ready_s`) and KV utilization (`kv_block_s / kv_capacity_s`), which pool
/// over models by summing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReplicaTime {
    /// Replica-seconds ready (serving or draining).
    pub ready_s: f64,
    /// Of those, replica-seconds in iterations (LLM) or batches (classic).
    pub busy_s: f64,
    /// KV-block-seconds in use.
    pub kv_block_s: f64,
    /// KV-block-seconds available over the ready time (0 for classic models).
    pub kv_capacity_s: f64,
}

impl ReplicaTime {
    /// `busy_s / ready_s` (0 without ready time).
    pub fn utilization(&self) -> f64 {
        if self.ready_s > 0.0 {
            (self.busy_s / self.ready_s).min(1.0)
        } else {
            0.0
        }
    }

    /// `kv_block_s / kv_capacity_s` (0 without KV capacity).
    pub fn kv_utilization(&self) -> f64 {
        if self.kv_capacity_s > 0.0 {
            (self.kv_block_s / self.kv_capacity_s).min(1.0)
        } else {
            0.0
        }
    }

    /// The pooled terms of two sets of replicas.
    pub fn plus(self, other: ReplicaTime) -> ReplicaTime {
        ReplicaTime {
            ready_s: self.ready_s + other.ready_s,
            busy_s: self.busy_s + other.busy_s,
            kv_block_s: self.kv_block_s + other.kv_block_s,
            kv_capacity_s: self.kv_capacity_s + other.kv_capacity_s,
        }
    }
}

/// What a cluster run measured.
#[derive(Clone, Debug)]
pub struct ClusterReport {
    /// Per model.
    pub models: Vec<ModelReport>,
    /// Per node type.
    pub pools: Vec<PoolUsage>,
    /// Dollars billed in the measurement window (after the warm-up).
    pub cost: f64,
    /// Dollars billed over the whole run.
    pub cost_total: f64,
    /// Events the engine processed.
    pub events: u64,
    /// One sample per model per interval, if sampling was asked for.
    pub timeseries: Vec<Sample>,
    /// One sample per node type per interval, if sampling was asked for.
    pub fleet: Vec<FleetSample>,
    /// Every change the scaling loop made, in time order.
    pub actions: Vec<crate::control::ActionRecord>,
    /// What the scaling loop measured of itself.
    pub controller: crate::control::ControllerReport,
}

/// Events of the cluster.
#[derive(Clone, Copy, Debug)]
enum ClusterEvent {
    /// Time zero: provision the static fleet and prime every request stream.
    Start,
    Arrival {
        stream: usize,
    },
    NodeBooted {
        node: usize,
    },
    ReplicaLoaded {
        replica: usize,
    },
    IterationDone {
        replica: usize,
    },
    /// End of a sampling interval.
    Sample,
    /// A classic replica's batch delay ran out.
    BatchTimer {
        replica: usize,
    },
    /// A scheduled change of a model's replica count.
    SetReplicas {
        model: usize,
        replicas: u32,
    },
    /// A tick of the scaling loop.
    Control,
    /// A spot node's reclaim notice.
    SpotNotice {
        node: usize,
    },
    /// A spot node is reclaimed.
    SpotReclaim {
        node: usize,
    },
}

struct Node {
    pool: usize,
    booted: bool,
    /// When its last replica went: billing stops here.
    released: Option<SimTime>,
    free_accelerators: u32,
    replicas: Vec<usize>,
    /// Of `replicas`, those not yet gone: the node goes with the last.
    live_replicas: u32,
}

/// One model's live replicas counted by state, for a sample.
#[derive(Clone, Copy, Default)]
struct ReplicaTally {
    provisioning: u32,
    loading: u32,
    ready: u32,
    draining: u32,
    queued: u64,
    outstanding: u64,
    kv_used: u64,
    kv_total: u64,
}

/// Indices over the fleet kept up to date as it changes, so that placing a replica,
/// counting a model's replicas, a control tick and a sample cost what the live fleet
/// costs — not every node and replica the run ever had (scanning those made a start
/// of 16,000 replicas quadratic).
struct FleetIndex {
    /// Per pool: live nodes with a free accelerator, by index (first fit takes the
    /// first that fits).
    open_nodes: Vec<BTreeSet<usize>>,
    /// Per pool: live nodes still booting.
    booting: Vec<u32>,
    /// Replicas not yet gone, by index.
    live: BTreeSet<usize>,
    /// Per model: replicas asked for (not draining, doomed or gone).
    active: Vec<u32>,
    /// Per router group: replicas still booting or loading (not draining or gone).
    starting: Vec<u32>,
    /// Per router group: doomed replicas still serving (not draining), by index.
    doomed: Vec<BTreeSet<usize>>,
}

impl FleetIndex {
    fn new(pools: usize, models: usize) -> Self {
        FleetIndex {
            open_nodes: vec![BTreeSet::new(); pools],
            booting: vec![0; pools],
            live: BTreeSet::new(),
            active: vec![0; models],
            starting: vec![0; models],
            doomed: vec![BTreeSet::new(); models],
        }
    }
}

struct Replica {
    model: usize,
    /// The model whose router and outcomes serve it (itself, or the one it is a
    /// variant of).
    owner: usize,
    node: usize,
    server: Server,
    /// A batch-delay timer already scheduled for this instant.
    timer_at: Option<SimTime>,
    booted: bool,
    ready_at: Option<SimTime>,
    /// Asked to go: takes no new requests.
    draining: bool,
    /// Drained and empty: holds no accelerator any more.
    gone_at: Option<SimTime>,
    /// On a spot node with a reclaim notice: still serving, but no longer counted as
    /// capacity, so the loop replaces it; it drains once a replacement is ready.
    doomed: bool,
    /// When it was created.
    created: SimTime,
    /// The action that created or removed it, until that took effect for it.
    action: Option<usize>,
    /// Busy time at the last control tick.
    busy_at_tick: SimDuration,
}

struct Router {
    ready: Vec<usize>,
    next: usize,
    pending: VecDeque<LlmRequest>,
    rng: SimRng,
}

/// A request stream with its next request, already drawn.
struct ActiveStream {
    model: usize,
    source: Box<dyn Iterator<Item = LlmRequest> + Send>,
    next: Option<LlmRequest>,
}

struct Cluster {
    config: ClusterConfig,
    streams: Vec<ActiveStream>,
    nodes: Vec<Node>,
    replicas: Vec<Replica>,
    /// What is live in `nodes` and `replicas`, kept as they change.
    index: FleetIndex,
    routers: Vec<Router>,
    /// Per model: its requests' outcomes (a variant's requests are its group's, so
    /// only group owners' outcomes see requests).
    outcomes: Vec<LlmOutcomes>,
    unplaced: Vec<u32>,
    boot_rng: SimRng,
    /// The fleet's bill.
    ledger: crate::billing::Ledger,
    timeseries: Vec<Sample>,
    fleet: Vec<FleetSample>,
    /// When the last sample was taken.
    last_sample: SimTime,
    /// Per model: (arrivals, completions, dropped + rejected) at the last sample.
    last_counts: Vec<(u64, u64, u64)>,
    /// Per model and per pool: what had been billed at the last sample.
    model_billed_at_sample: Vec<crate::billing::Billed>,
    pool_billed_at_sample: Vec<crate::billing::Billed>,
    /// The scaling loop, if any.
    controller: Option<Box<dyn Controller>>,
    executor: ExecutorConfig,
    /// Per model: (arrivals, completions, output tokens) at the last control tick.
    tick_counts: Vec<(u64, u64, u64)>,
    last_tick: SimTime,
    actions: Vec<ActionRecord>,
    /// Per action: replicas still to become ready or to go.
    action_pending: Vec<u32>,
    /// Per model: replicas asked for, over time, and the most at once.
    replica_counts: Vec<crate::metrics::TimeAverage>,
    max_replicas: Vec<u32>,
    /// Draws spot nodes' lifetimes.
    spot_rng: SimRng,
    /// Per pool: spot nodes reclaimed.
    reclaims: Vec<u64>,
    /// Past the horizon, following the requests still in flight to their outcome: no
    /// more arrivals, control ticks or scheduled changes.
    running_out: bool,
    /// Why the controller could not go on (the run ends with it).
    failure: Option<String>,
}

impl Cluster {
    /// Recomputes the [`FleetIndex`] by scanning every node and replica, and insists
    /// the one kept up to date agrees.
    #[cfg(test)]
    fn check_index(&self) {
        let pools = self.config.pools.len();
        let models = self.config.models.len();
        let mut expected = FleetIndex::new(pools, models);
        for (i, n) in self.nodes.iter().enumerate() {
            if n.released.is_none() {
                if n.free_accelerators > 0 {
                    expected.open_nodes[n.pool].insert(i);
                }
                if !n.booted {
                    expected.booting[n.pool] += 1;
                }
            }
            let live = n
                .replicas
                .iter()
                .filter(|&&r| self.replicas[r].gone_at.is_none())
                .count() as u32;
            assert_eq!(n.live_replicas, live, "node {i}'s live replicas");
        }
        for (i, r) in self.replicas.iter().enumerate() {
            if r.gone_at.is_some() {
                continue;
            }
            expected.live.insert(i);
            if !r.draining && !r.doomed {
                expected.active[r.model] += 1;
            }
            if !r.draining && r.ready_at.is_none() {
                expected.starting[r.owner] += 1;
            }
            if r.doomed && !r.draining {
                expected.doomed[r.owner].insert(i);
            }
        }
        let i = &self.index;
        assert_eq!(i.open_nodes, expected.open_nodes, "open nodes");
        assert_eq!(i.booting, expected.booting, "booting nodes");
        assert_eq!(i.live, expected.live, "live replicas");
        assert_eq!(i.active, expected.active, "active replicas");
        assert_eq!(i.starting, expected.starting, "starting replicas");
        assert_eq!(i.doomed, expected.doomed, "doomed replicas");
    }

    /// The model whose outcomes (and router) account `model`'s requests.
    fn owner(&self, model: usize) -> usize {
        self.config.router_of(model)
    }

    /// Picks a ready replica of `model` by its routing policy, or `None` if there is
    /// none.
    fn route(&mut self, model: usize) -> Option<usize> {
        let router = &mut self.routers[self.config.router_of(model)];
        let n = router.ready.len();
        if n == 0 {
            return None;
        }
        let replicas = &self.replicas;
        let outstanding = |r: usize| replicas[r].server.outstanding();
        let pick = |rng: &mut SimRng| ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize;
        let index = match self.config.models[model].routing {
            RoutingPolicy::RoundRobin => {
                router.next = router.next.wrapping_add(1) % n;
                router.next
            }
            RoutingPolicy::Random => pick(&mut router.rng),
            RoutingPolicy::LeastOutstanding => {
                (0..n).min_by_key(|&i| (outstanding(router.ready[i]), i))?
            }
            RoutingPolicy::ShortestQueue => {
                (0..n).min_by_key(|&i| (replicas[router.ready[i]].server.queued(), i))?
            }
            RoutingPolicy::PowerOfTwo => {
                let a = pick(&mut router.rng);
                let b = pick(&mut router.rng);
                if outstanding(router.ready[b]) < outstanding(router.ready[a]) {
                    b
                } else {
                    a
                }
            }
        };
        Some(router.ready[index])
    }

    /// [`Cluster::route`] among the ready replicas with room for another request (the
    /// backlog is fed only to replicas that would start it at once), or `None`.
    fn route_with_room(&mut self, model: usize) -> Option<usize> {
        let router = &mut self.routers[self.config.router_of(model)];
        let n = router.ready.len();
        let replicas = &self.replicas;
        let outstanding = |r: usize| replicas[r].server.outstanding();
        let eligible = |i: usize| replicas[router.ready[i]].server.has_room();
        let count = (0..n).filter(|&i| eligible(i)).count();
        if count == 0 {
            return None;
        }
        // A uniform draw among the eligible positions, without collecting them.
        let random = |rng: &mut SimRng| {
            let j = ((u128::from(rng.next_u64()) * count as u128) >> 64) as usize;
            (0..n).filter(|&i| eligible(i)).nth(j).unwrap_or(0)
        };
        let index = match self.config.models[model].routing {
            RoutingPolicy::RoundRobin => {
                // The next eligible replica after the one used last.
                let start = router.next.wrapping_add(1);
                let i = (0..n).map(|k| (start + k) % n).find(|&i| eligible(i))?;
                router.next = i;
                i
            }
            RoutingPolicy::Random => random(&mut router.rng),
            RoutingPolicy::LeastOutstanding => (0..n)
                .filter(|&i| eligible(i))
                .min_by_key(|&i| (outstanding(router.ready[i]), i))?,
            RoutingPolicy::ShortestQueue => (0..n)
                .filter(|&i| eligible(i))
                .min_by_key(|&i| (replicas[router.ready[i]].server.queued(), i))?,
            RoutingPolicy::PowerOfTwo => {
                let a = random(&mut router.rng);
                let b = random(&mut router.rng);
                if outstanding(router.ready[b]) < outstanding(router.ready[a]) {
                    b
                } else {
                    a
                }
            }
        };
        Some(router.ready[index])
    }

    /// Sends `request` (already counted as an arrival of `model`'s group) to a replica,
    /// or holds it in the router's backlog, or drops it. While the backlog holds
    /// requests, new ones join it in order: the backlog goes out first, by the routing
    /// policy, to replicas with room ([`Cluster::settle_backlog`]), and while it is not
    /// empty no ready replica has room.
    fn dispatch(&mut self, model: usize, request: LlmRequest, ctx: &mut Context<ClusterEvent>) {
        let owner = self.owner(model);
        let backlog = !self.routers[owner].pending.is_empty();
        match (!backlog).then(|| self.route(owner)).flatten() {
            Some(r) => self.send(r, request, ctx),
            None => {
                let max_queue = self.config.models[owner].max_queue.map(|q| q as usize);
                let pending = &mut self.routers[owner].pending;
                if max_queue.is_some_and(|q| pending.len() >= q) {
                    self.outcomes[owner].record_drop(&request, ctx.now());
                } else {
                    pending.push_back(request);
                }
            }
        }
    }

    /// Hands replica `r` a request and starts it: see [`Cluster::enqueue`].
    fn send(&mut self, r: usize, request: LlmRequest, ctx: &mut Context<ClusterEvent>) {
        if self.enqueue(r, request, ctx.now()) {
            self.kick(r, ctx);
        }
    }

    /// Queues a request at replica `r`: refused if it can never be served, dropped if
    /// the replica's queue is full. Says whether it was queued (the caller starts the
    /// replica: once per batch of requests, so dynamic batching sees them together).
    fn enqueue(&mut self, r: usize, request: LlmRequest, now: SimTime) -> bool {
        let owner = self.replicas[r].owner;
        let max_queue = self.config.models[owner].max_queue.map(|q| q as usize);
        let server = &mut self.replicas[r].server;
        let Some((admitted, cut)) = server.admit(request) else {
            self.outcomes[owner].record_reject(&request, now);
            return false;
        };
        if max_queue.is_some_and(|q| server.queued() >= q) {
            self.outcomes[owner].record_drop(&request, now);
            return false;
        }
        if cut {
            self.outcomes[owner].record_truncation(&admitted);
        }
        server.enqueue(admitted);
        true
    }

    /// Whether a replica of `owner`'s group is still booting or loading (and not
    /// already leaving).
    fn group_starting(&self, owner: usize) -> bool {
        self.index.starting[owner] > 0
    }

    /// Hands out the backlog of `owner`'s router after a replica came up or the fleet
    /// changed: while more replicas of the group are still starting, only to replicas
    /// with room, so the first one up is not buried under it; once none is, all of
    /// it, by the routing policy, and the router is a plain router again.
    fn settle_backlog(&mut self, owner: usize, ctx: &mut Context<ClusterEvent>) {
        if !self.routers[owner].pending.is_empty() {
            let room_only = self.group_starting(owner);
            self.hand_out_backlog(owner, room_only, ctx);
        }
    }

    /// [`Cluster::settle_backlog`] for every router that holds a backlog.
    fn settle_backlogs(&mut self, ctx: &mut Context<ClusterEvent>) {
        for owner in 0..self.routers.len() {
            self.settle_backlog(owner, ctx);
        }
    }

    /// Sends the router's backlog, oldest first, to ready replicas chosen by the routing
    /// policy: all of it (their own queues hold what they cannot start yet), or with
    /// `room_only` only what replicas with room start at once — the rest waits for
    /// the next replica to come up or to finish work, and afterwards either the
    /// backlog is empty or no ready replica has room, which only a replica's own
    /// events change ([`Cluster::feed_replica`]). Each replica fed is started once.
    fn hand_out_backlog(&mut self, owner: usize, room_only: bool, ctx: &mut Context<ClusterEvent>) {
        let mut fed: Vec<usize> = Vec::new();
        while !self.routers[owner].pending.is_empty() {
            let chosen = if room_only {
                self.route_with_room(owner)
            } else {
                self.route(owner)
            };
            let Some(r) = chosen else {
                break;
            };
            if let Some(request) = self.routers[owner].pending.pop_front()
                && self.enqueue(r, request, ctx.now())
                && !fed.contains(&r)
            {
                fed.push(r);
            }
        }
        for r in fed {
            self.feed_replica(r, ctx);
        }
    }

    /// Feeds the backlog to replica `r`, which may have made room (it finished work,
    /// or came up): only it can have, so every routing policy would pick it. Starts it
    /// once per batch; again if starting it dropped timed-out requests and made room.
    fn feed_replica(&mut self, r: usize, ctx: &mut Context<ClusterEvent>) {
        let owner = self.replicas[r].owner;
        let serving =
            |c: &Cluster| c.routers[owner].ready.contains(&r) && c.replicas[r].server.has_room();
        loop {
            while !self.routers[owner].pending.is_empty() && serving(self) {
                if let Some(request) = self.routers[owner].pending.pop_front() {
                    self.enqueue(r, request, ctx.now());
                }
            }
            self.kick(r, ctx);
            if self.routers[owner].pending.is_empty() || !serving(self) {
                break;
            }
        }
    }

    fn kick(&mut self, r: usize, ctx: &mut Context<ClusterEvent>) {
        let owner = self.replicas[r].owner;
        let now = ctx.now();
        match self.replicas[r]
            .server
            .start(now, &mut self.outcomes[owner])
        {
            NextStep::Busy(d) => ctx.schedule_in(d, ClusterEvent::IterationDone { replica: r }),
            NextStep::WaitUntil(t) => {
                if self.replicas[r]
                    .timer_at
                    .is_none_or(|at| at > t || at < now)
                {
                    self.replicas[r].timer_at = Some(t);
                    ctx.schedule_at(t, ClusterEvent::BatchTimer { replica: r });
                }
            }
            NextStep::Idle => {}
        }
    }

    fn next_arrival(&mut self, stream: usize, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
        let active = &mut self.streams[stream];
        active.next = active.source.next();
        if let Some(request) = active.next {
            ctx.schedule_at(request.arrival.max(now), ClusterEvent::Arrival { stream });
        }
    }

    /// When the sample after `now` is due: the next point of the interval grid, or the
    /// end of the warm-up if that comes first; `None` from the horizon on (the last
    /// sample is taken when the run ends, after the last events and the bill's
    /// rounding).
    fn next_sample_after(&self, now: SimTime) -> Option<SimTime> {
        let interval = self.config.sample_interval?.as_nanos();
        if interval == 0 {
            return None;
        }
        let grid = SimTime::from_nanos((now.as_nanos() / interval + 1).saturating_mul(interval));
        let warmup = self.config.warmup;
        let next = if warmup > now && warmup < grid {
            warmup
        } else {
            grid
        };
        (next < self.config.horizon).then_some(next)
    }

    /// Records one sample per model and per node type for the interval ending now, and
    /// starts the next interval.
    fn sample(&mut self, now: SimTime) {
        let interval = now - self.last_sample;
        let hours = interval.as_secs_f64() / 3600.0;
        let per_hour = |dollars: f64| if hours > 0.0 { dollars / hours } else { 0.0 };
        // One pass over the live replicas, each counted for its model.
        let mut tally = vec![ReplicaTally::default(); self.config.models.len()];
        for &index in &self.index.live {
            let r = &self.replicas[index];
            let t = &mut tally[r.model];
            if r.draining {
                t.draining += 1;
            }
            match (r.booted, r.ready_at.is_some()) {
                (false, _) => t.provisioning += 1,
                (true, false) => t.loading += 1,
                (true, true) => {
                    t.ready += 1;
                    let (used, total) = r.server.kv_blocks();
                    t.kv_used += used;
                    t.kv_total += total;
                }
            }
            t.queued += r.server.queued() as u64;
            t.outstanding += r.server.outstanding() as u64;
        }
        for (model, counted) in tally.into_iter().enumerate() {
            let ReplicaTally {
                provisioning,
                loading,
                ready,
                draining,
                queued,
                outstanding,
                kv_used,
                kv_total,
            } = counted;
            let billed = self.ledger.model_billed(model, now);
            let cost = billed.dollars - self.model_billed_at_sample[model].dollars;
            self.model_billed_at_sample[model] = billed;
            // A router's backlog is reported once, on the model that owns it.
            let pending = if self.owner(model) == model {
                self.routers[model].pending.len() as u64
            } else {
                0
            };
            let o = &mut self.outcomes[model];
            let counts = (o.arrivals, o.completed, o.dropped + o.rejected);
            let last = self.last_counts[model];
            self.timeseries.push(Sample {
                time: now,
                interval,
                model,
                arrivals: counts.0 - last.0,
                completions: counts.1 - last.1,
                dropped: counts.2 - last.2,
                provisioning,
                loading,
                ready,
                draining,
                queued: queued + pending,
                running: outstanding - queued,
                kv_utilization: if kv_total == 0 {
                    0.0
                } else {
                    kv_used as f64 / kv_total as f64
                },
                ttft_p50_s: o.window_ttft.quantile_s(0.5),
                ttft_p99_s: o.window_ttft.quantile_s(0.99),
                e2e_p99_s: o.window_e2e.quantile_s(0.99),
                cost_rate_per_hour: per_hour(cost),
            });
            o.start_window();
            self.last_counts[model] = counts;
        }
        for pool in 0..self.config.pools.len() {
            let booting = self.index.booting[pool];
            let billed = self.ledger.pool_billed(pool, now);
            let delta = billed - self.pool_billed_at_sample[pool];
            self.pool_billed_at_sample[pool] = billed;
            self.fleet.push(FleetSample {
                time: now,
                interval,
                pool,
                nodes: self.ledger.alive(pool),
                booting,
                node_hours: delta.node_hours,
                cost_rate_per_hour: per_hour(delta.dollars),
            });
        }
        self.last_sample = now;
    }

    /// Places every model's initial replicas at time zero: cold (nodes boot, weights
    /// load), or ready at once for a model that starts `initial_ready`.
    fn provision(&mut self, ctx: &mut Context<ClusterEvent>) {
        for model in 0..self.config.models.len() {
            let warm = self.config.models[model].initial_ready;
            let mut unplaced = 0;
            for _ in 0..self.config.models[model].replicas {
                if self.add_replica(model, warm, ctx).is_none() {
                    unplaced += 1;
                }
            }
            self.unplaced[model] = self.unplaced[model].max(unplaced);
        }
    }

    /// Places one more replica of `model`: first fit on a live node of its type with
    /// room, else on a newly requested node (within the quota). A replica placed on a
    /// node that has already booted starts loading at once.
    /// With `warm`, a new node is booted and the replica loaded at once (the initial
    /// fleet of a model that starts `initial_ready`). Returns the replica, and whether
    /// a new node was requested for it; `None` when it could not be placed.
    fn add_replica(
        &mut self,
        model: usize,
        warm: bool,
        ctx: &mut Context<ClusterEvent>,
    ) -> Option<(usize, bool)> {
        let now = ctx.now();
        let deployment = &self.config.models[model];
        let (pool, tp) = (deployment.pool, deployment.tp());
        let nodes = &self.nodes;
        let mut open = self.index.open_nodes[pool]
            .iter()
            .copied()
            .filter(|&i| nodes[i].free_accelerators >= tp);
        let fits = match self.executor.placement {
            Placement::FirstFit => open.next(),
            // The fullest node that still fits: keeps other nodes empty, so they can go.
            Placement::BestFit => open.min_by_key(|&i| (nodes[i].free_accelerators, i)),
        };
        let new_node = fits.is_none();
        let node = match fits {
            Some(node) => node,
            None => {
                let node_type = &self.config.pools[pool].node_type;
                let live = self.ledger.alive(pool);
                if node_type
                    .max_count
                    .is_some_and(|max| u64::from(live) >= u64::from(max))
                    || node_type.accelerators_per_node < tp
                {
                    return None;
                }
                // Drawn for a warm node too, so later nodes boot as in a cold start.
                let boot =
                    SimDuration::from_secs_f64(node_type.boot_time.sample(&mut self.boot_rng));
                self.nodes.push(Node {
                    pool,
                    booted: warm,
                    released: None,
                    free_accelerators: node_type.accelerators_per_node,
                    replicas: Vec::new(),
                    live_replicas: 0,
                });
                let node = self.nodes.len() - 1;
                if node_type.accelerators_per_node > 0 {
                    self.index.open_nodes[pool].insert(node);
                }
                if !warm {
                    self.index.booting[pool] += 1;
                }
                let billed_as = self.ledger.request_node(pool, now);
                debug_assert_eq!(billed_as, node, "the ledger numbers nodes as the cluster");
                if !warm {
                    ctx.schedule_in(boot, ClusterEvent::NodeBooted { node });
                }
                if let Some(spot) = self.config.pools[pool].spot {
                    // Exp(1) by inversion of one uniform draw.
                    let u = ((self.spot_rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                    let lifetime =
                        SimDuration::from_secs_f64(-u.ln() * spot.mean_lifetime.as_secs_f64());
                    let reclaim = now + lifetime;
                    let notice_at = SimTime::from_nanos(
                        reclaim
                            .as_nanos()
                            .saturating_sub(spot.notice.as_nanos())
                            .max(now.as_nanos()),
                    );
                    ctx.schedule_at(notice_at, ClusterEvent::SpotNotice { node });
                    ctx.schedule_at(reclaim, ClusterEvent::SpotReclaim { node });
                }
                node
            }
        };
        self.nodes[node].free_accelerators -= tp;
        if self.nodes[node].free_accelerators == 0 {
            self.index.open_nodes[pool].remove(&node);
        }
        self.nodes[node].live_replicas += 1;
        self.ledger.occupy(node, model, i64::from(tp), now);
        let server = self.config.models[model].new_server(self.config.warmup);
        let booted = self.nodes[node].booted;
        let ready = warm && booted;
        self.replicas.push(Replica {
            model,
            owner: self.config.router_of(model),
            node,
            server,
            timer_at: None,
            booted,
            ready_at: ready.then_some(now),
            draining: false,
            gone_at: None,
            doomed: false,
            created: now,
            action: None,
            busy_at_tick: SimDuration::ZERO,
        });
        let r = self.replicas.len() - 1;
        self.nodes[node].replicas.push(r);
        self.index.live.insert(r);
        self.index.active[model] += 1;
        if !ready {
            self.index.starting[self.config.router_of(model)] += 1;
        }
        self.note_replica_count(model, now);
        if ready {
            let router = self.owner(model);
            self.routers[router].ready.push(r);
        } else if booted {
            let load = self.config.models[model].load_time(&self.config.pools[pool]);
            ctx.schedule_in(load, ClusterEvent::ReplicaLoaded { replica: r });
        }
        Some((r, new_node))
    }

    /// Changes `model`'s replica count to `target`: adds replicas, or drains some (in
    /// the executor's removal order; they stop receiving requests, finish what they
    /// hold, then go; a node is released, and stops billing, when its last replica has
    /// gone). Returns (new nodes requested, replicas that could not be placed, the
    /// replicas added or drained).
    pub(crate) fn set_replicas(
        &mut self,
        model: usize,
        target: u32,
        ctx: &mut Context<ClusterEvent>,
    ) -> (u32, u32, Vec<usize>) {
        let mut active: Vec<usize> = self
            .index
            .live
            .iter()
            .copied()
            .filter(|&r| {
                self.replicas[r].model == model
                    && !self.replicas[r].draining
                    && !self.replicas[r].doomed
            })
            .collect();
        let current = active.len() as u32;
        let (mut nodes, mut unplaced, mut touched) = (0, 0, Vec::new());
        if target > current {
            for _ in current..target {
                match self.add_replica(model, false, ctx) {
                    Some((r, new_node)) => {
                        nodes += u32::from(new_node);
                        touched.push(r);
                    }
                    None => unplaced += 1,
                }
            }
            self.unplaced[model] = self.unplaced[model].max(unplaced);
        } else {
            match self.executor.removal {
                RemovalOrder::Newest => active.reverse(),
                RemovalOrder::Oldest => {}
                RemovalOrder::LeastLoaded => {
                    // Not-ready replicas first (they serve nothing), then by load.
                    active.sort_by_key(|&r| {
                        (
                            self.replicas[r].ready_at.is_some(),
                            self.replicas[r].server.outstanding(),
                        )
                    });
                }
            }
            for &r in active.iter().take((current - target) as usize) {
                touched.push(r);
                if self.executor.kill {
                    self.kill(r, ctx.now());
                } else {
                    self.drain(r, ctx.now());
                }
            }
        }
        (nodes, unplaced, touched)
    }

    /// Applies a controller's action and logs it.
    fn act(&mut self, action: crate::control::ScaleAction, ctx: &mut Context<ClusterEvent>) {
        let model = action.model;
        if model >= self.config.models.len() {
            return;
        }
        let from = self.active_replicas(model);
        if action.replicas == from {
            return;
        }
        let index = self.actions.len();
        self.actions.push(ActionRecord {
            time: ctx.now(),
            model,
            from,
            to: action.replicas,
            reason: action.reason,
            node_type: self.config.pools[self.config.models[model].pool]
                .node_type
                .name
                .clone(),
            nodes_requested: 0,
            unplaced: 0,
            took: None,
        });
        self.action_pending.push(0);
        let (nodes, unplaced, touched) = self.set_replicas(model, action.replicas, ctx);
        self.actions[index].nodes_requested = nodes;
        self.actions[index].unplaced = unplaced;
        for r in touched {
            let replica = &self.replicas[r];
            let done = if action.replicas > from {
                replica.ready_at.is_some()
            } else {
                replica.gone_at.is_some()
            };
            if !done {
                self.replicas[r].action = Some(index);
                self.action_pending[index] += 1;
            }
        }
        if self.action_pending[index] == 0 {
            self.actions[index].took = Some(SimDuration::ZERO);
        }
    }

    /// A replica reached the state its action asked for.
    fn action_effect(&mut self, r: usize, now: SimTime) {
        if let Some(a) = self.replicas[r].action.take() {
            self.action_pending[a] -= 1;
            if self.action_pending[a] == 0 {
                self.actions[a].took = Some(now - self.actions[a].time);
            }
        }
    }

    fn active_replicas(&self, model: usize) -> u32 {
        self.index.active[model]
    }

    /// What the controller sees now.
    fn view(&mut self, now: SimTime) -> ClusterView {
        let interval = now - self.last_tick;
        let span = interval.as_secs_f64();
        let mut models = Vec::with_capacity(self.config.models.len());
        let routers = &self.routers;
        let config = &self.config;
        // A router's queue is reported once, on the model that owns it.
        let own_queue = |m: usize| {
            if config.router_of(m) == m {
                routers[m].pending.len() as u64
            } else {
                0
            }
        };
        for m in 0..self.config.models.len() {
            let view = ModelView {
                name: self.config.models[m].name.clone(),
                arrivals: self.outcomes[m].arrivals - self.tick_counts[m].0,
                completions: self.outcomes[m].completed - self.tick_counts[m].1,
                desired: 0,
                ready: 0,
                provisioning: 0,
                loading: 0,
                draining: 0,
                router_queue: own_queue(m),
                in_flight: own_queue(m),
                kv_utilization: 0.0,
                ttft_p99_s: self.outcomes[m]
                    .tick_ttft
                    .as_mut()
                    .map_or(f64::NAN, |t| p99_s(t)),
                output_tokens_per_s: if span > 0.0 {
                    (self.outcomes[m].output_tokens - self.tick_counts[m].2) as f64 / span
                } else {
                    0.0
                },
                replicas: Vec::new(),
            };
            if let Some(t) = self.outcomes[m].tick_ttft.as_mut() {
                t.clear();
            }
            self.tick_counts[m] = (
                self.outcomes[m].arrivals,
                self.outcomes[m].completed,
                self.outcomes[m].output_tokens,
            );
            models.push(view);
        }
        // One pass over the live replicas, each counted in its model's view.
        let mut kv = vec![(0u64, 0u64); models.len()];
        for &index in &self.index.live {
            let r = &mut self.replicas[index];
            let (view, (kv_used, kv_total)) = (&mut models[r.model], &mut kv[r.model]);
            {
                let busy = r.server.busy();
                let busy_fraction = if span > 0.0 {
                    ((busy.as_secs_f64() - r.busy_at_tick.as_secs_f64()) / span).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                r.busy_at_tick = busy;
                let in_flight = r.server.outstanding() as u32;
                view.in_flight += u64::from(in_flight);
                if r.draining || r.doomed {
                    view.draining += 1;
                } else {
                    view.desired += 1;
                    match (r.booted, r.ready_at.is_some()) {
                        (false, _) => view.provisioning += 1,
                        (true, false) => view.loading += 1,
                        (true, true) => {
                            view.ready += 1;
                            let (used, total) = r.server.kv_blocks();
                            *kv_used += used;
                            *kv_total += total;
                        }
                    }
                }
                view.replicas.push(ReplicaView {
                    created_s: r.created.as_secs_f64(),
                    ready_since_s: r.ready_at.map(SimTime::as_secs_f64),
                    draining: r.draining || r.doomed,
                    busy_fraction,
                    in_flight,
                });
            }
        }
        for (view, &(kv_used, kv_total)) in models.iter_mut().zip(&kv) {
            if kv_total > 0 {
                view.kv_utilization = kv_used as f64 / kv_total as f64;
            }
        }
        self.last_tick = now;
        ClusterView {
            now,
            interval,
            models,
        }
    }

    fn note_replica_count(&mut self, model: usize, now: SimTime) {
        let n = self.active_replicas(model);
        self.replica_counts[model].set(now, u64::from(n));
        self.max_replicas[model] = self.max_replicas[model].max(n);
    }

    fn drain(&mut self, r: usize, now: SimTime) {
        let model = self.replicas[r].model;
        let owner = self.replicas[r].owner;
        let replica = &self.replicas[r];
        if !replica.draining && replica.gone_at.is_none() {
            if replica.doomed {
                self.index.doomed[owner].remove(&r);
            } else {
                self.index.active[model] -= 1;
            }
            if replica.ready_at.is_none() {
                self.index.starting[owner] -= 1;
            }
        }
        self.replicas[r].draining = true;
        self.note_replica_count(model, now);
        let router = self.config.router_of(model);
        self.routers[router].ready.retain(|&x| x != r);
        self.retire_if_idle(r, now);
    }

    /// Removes a replica at once: what it holds is dropped.
    fn kill(&mut self, r: usize, now: SimTime) {
        if self.replicas[r].gone_at.is_some() {
            return;
        }
        if !self.replicas[r].draining {
            self.drain(r, now);
        }
        let owner = self.replicas[r].owner;
        self.replicas[r]
            .server
            .abort_all(now, &mut self.outcomes[owner]);
        self.replicas[r].timer_at = None;
        self.retire_if_idle(r, now);
    }

    /// The node goes: it stops billing (its bill's rounding is charged now).
    fn release_node(&mut self, node: usize, now: SimTime) {
        if self.nodes[node].released.is_none() {
            self.nodes[node].released = Some(now);
            let pool = self.nodes[node].pool;
            self.index.open_nodes[pool].remove(&node);
            if !self.nodes[node].booted {
                self.index.booting[pool] -= 1;
            }
            self.ledger.release(node, now);
        }
    }

    /// A draining replica with nothing left to do is gone; its node may go with it.
    /// (Checked after every iteration: the check is inlined, the retirement is not.)
    #[inline]
    fn retire_if_idle(&mut self, r: usize, now: SimTime) {
        let replica = &self.replicas[r];
        if replica.draining && replica.gone_at.is_none() && replica.server.outstanding() == 0 {
            self.retire(r, now);
        }
    }

    /// Replica `r`, drained and empty, goes: its accelerators are freed, and its node
    /// released when it was the last.
    #[inline(never)]
    fn retire(&mut self, r: usize, now: SimTime) {
        self.replicas[r].gone_at = Some(now);
        self.index.live.remove(&r);
        self.action_effect(r, now);
        let node = self.replicas[r].node;
        let model = self.replicas[r].model;
        let tp = self.config.models[model].tp();
        self.nodes[node].free_accelerators += tp;
        if self.nodes[node].released.is_none() && tp > 0 {
            self.index.open_nodes[self.nodes[node].pool].insert(node);
        }
        self.nodes[node].live_replicas -= 1;
        self.ledger.occupy(node, model, -i64::from(tp), now);
        if self.nodes[node].live_replicas == 0 {
            self.release_node(node, now);
        }
    }
}

impl Model for Cluster {
    type Event = ClusterEvent;

    fn handle(&mut self, event: ClusterEvent, ctx: &mut Context<ClusterEvent>) {
        // The crate's own tests check the fleet index against a full scan before
        // every event.
        #[cfg(test)]
        self.check_index();
        let now = ctx.now();
        match event {
            ClusterEvent::Start => {
                self.provision(ctx);
                for change in self.config.replica_changes.clone() {
                    ctx.schedule_at(
                        change.at,
                        ClusterEvent::SetReplicas {
                            model: change.model,
                            replicas: change.replicas,
                        },
                    );
                }
                if let Some(at) = self.next_sample_after(now) {
                    ctx.schedule_at(at, ClusterEvent::Sample);
                }
                if let Some(interval) = self.controller.as_ref().map(|c| c.interval())
                    && !interval.is_zero()
                {
                    ctx.schedule_in(interval, ClusterEvent::Control);
                }
                for stream in 0..self.streams.len() {
                    self.next_arrival(stream, ctx);
                }
            }
            ClusterEvent::Arrival { stream } => {
                let model = self.streams[stream].model;
                if let Some(request) = self.streams[stream].next {
                    let owner = self.owner(model);
                    self.outcomes[owner].record_arrival(&request);
                    self.dispatch(model, request, ctx);
                }
                self.next_arrival(stream, ctx);
            }
            ClusterEvent::NodeBooted { node } => {
                if self.nodes[node].released.is_none() && !self.nodes[node].booted {
                    self.index.booting[self.nodes[node].pool] -= 1;
                }
                self.nodes[node].booted = true;
                let pool = &self.config.pools[self.nodes[node].pool];
                for i in 0..self.nodes[node].replicas.len() {
                    let r = self.nodes[node].replicas[i];
                    self.replicas[r].booted = true;
                    if self.replicas[r].draining {
                        continue;
                    }
                    let load = self.config.models[self.replicas[r].model].load_time(pool);
                    ctx.schedule_in(load, ClusterEvent::ReplicaLoaded { replica: r });
                }
            }
            ClusterEvent::ReplicaLoaded { replica } => {
                if self.replicas[replica].draining {
                    return;
                }
                let model = self.replicas[replica].model;
                self.replicas[replica].ready_at = Some(now);
                let router = self.config.router_of(model);
                self.index.starting[router] -= 1;
                self.action_effect(replica, now);
                self.routers[router].ready.push(replica);
                // A replacement is ready: let one doomed replica of the group drain.
                if let Some(&doomed) = self.index.doomed[router].first() {
                    self.drain(doomed, now);
                }
                self.settle_backlog(router, ctx);
            }
            ClusterEvent::IterationDone { replica } => {
                if self.replicas[replica].gone_at.is_some() {
                    return; // killed mid-iteration
                }
                let owner = self.replicas[replica].owner;
                self.replicas[replica]
                    .server
                    .complete(now, &mut self.outcomes[owner]);
                if self.routers[owner].pending.is_empty() {
                    self.kick(replica, ctx);
                } else {
                    self.feed_replica(replica, ctx);
                }
                self.retire_if_idle(replica, now);
            }
            ClusterEvent::SetReplicas { model, replicas } => {
                if !self.running_out {
                    let _ = self.set_replicas(model, replicas, ctx);
                    self.settle_backlogs(ctx);
                }
            }
            ClusterEvent::Control if self.running_out => {}
            ClusterEvent::Control => {
                let view = self.view(now);
                let actions = match self.controller.as_mut().map(|c| c.tick(&view)) {
                    Some(Ok(actions)) => actions,
                    Some(Err(failure)) => {
                        self.failure = Some(failure);
                        ctx.stop();
                        return;
                    }
                    None => Vec::new(),
                };
                for action in actions {
                    self.act(action, ctx);
                }
                // A replica drained before it came up may have been the last one the
                // backlog waited for.
                self.settle_backlogs(ctx);
                if let Some(interval) = self.controller.as_ref().map(|c| c.interval()) {
                    ctx.schedule_in(interval, ClusterEvent::Control);
                }
            }
            ClusterEvent::Sample => {
                self.sample(now);
                if let Some(at) = self.next_sample_after(now) {
                    ctx.schedule_at(at, ClusterEvent::Sample);
                }
            }
            ClusterEvent::SpotNotice { node } => {
                if self.nodes[node].released.is_none() {
                    self.reclaims[self.nodes[node].pool] += 1;
                    for i in 0..self.nodes[node].replicas.len() {
                        let r = self.nodes[node].replicas[i];
                        let replica = &self.replicas[r];
                        if replica.draining || replica.gone_at.is_some() {
                            continue;
                        }
                        if replica.ready_at.is_some() {
                            // Keep serving until a replacement is ready (or the reclaim).
                            let (model, owner, doomed) =
                                (replica.model, replica.owner, replica.doomed);
                            if !doomed {
                                self.replicas[r].doomed = true;
                                self.index.active[model] -= 1;
                                self.index.doomed[owner].insert(r);
                            }
                            self.note_replica_count(model, now);
                        } else {
                            self.drain(r, now);
                        }
                    }
                    self.settle_backlogs(ctx);
                }
            }
            ClusterEvent::SpotReclaim { node } => {
                if self.nodes[node].released.is_none() {
                    for i in 0..self.nodes[node].replicas.len() {
                        let r = self.nodes[node].replicas[i];
                        self.kill(r, now);
                    }
                    // A node whose replicas were all placed but none started still goes.
                    self.release_node(node, now);
                    self.settle_backlogs(ctx);
                }
            }
            ClusterEvent::BatchTimer { replica } => {
                if self.replicas[replica].gone_at.is_some() {
                    return;
                }
                if self.replicas[replica].timer_at == Some(now) {
                    self.replicas[replica].timer_at = None;
                }
                self.kick(replica, ctx);
            }
        }
    }
}

/// The 99th percentile of `nanos` in seconds (nearest rank), NaN when empty.
fn p99_s(nanos: &mut [u64]) -> f64 {
    if nanos.is_empty() {
        return f64::NAN;
    }
    let rank = ((nanos.len() as f64 * 0.99).ceil() as usize).clamp(1, nanos.len()) - 1;
    let (_, &mut v, _) = nanos.select_nth_unstable(rank);
    v as f64 * 1e-9
}

/// Bills a node alive for `lifetime`: rounded up to the granularity, at least the
/// minimum.
pub fn billed(lifetime: SimDuration, pool: &NodePool) -> SimDuration {
    let granularity = pool.billing_granularity.as_nanos().max(1);
    let rounded = lifetime.as_nanos().div_ceil(granularity) * granularity;
    SimDuration::from_nanos(rounded.max(pool.billing_minimum.as_nanos()))
}

/// Runs the cluster until the horizon with a fixed fleet (and any scheduled
/// replica changes).
pub fn simulate_cluster(
    config: ClusterConfig,
    streams: Vec<RequestStream>,
    rng: &RngStreams,
) -> Result<ClusterReport, crate::RunError> {
    simulate_controlled_cluster(config, streams, rng, None, ExecutorConfig::default())
}

/// Runs the cluster until the horizon under `controller`, whose actions `executor`
/// carries out. Fails when the controller fails or the watchdog ends the run.
pub fn simulate_controlled_cluster(
    config: ClusterConfig,
    streams: Vec<RequestStream>,
    rng: &RngStreams,
    controller: Option<Box<dyn Controller>>,
    executor: ExecutorConfig,
) -> Result<ClusterReport, crate::RunError> {
    let models = config.models.len();
    let routers = (0..models)
        .map(|m| Router {
            ready: Vec::new(),
            next: usize::MAX,
            pending: VecDeque::new(),
            rng: rng.stream(&format!("routing/{}", config.models[m].name)),
        })
        .collect();
    let outcomes = config
        .models
        .iter()
        .map(|m| {
            let mut o = LlmOutcomes::measured_from(m.sla, config.warmup);
            if controller.is_some() {
                o.tick_ttft = Some(Vec::new());
            }
            o
        })
        .collect();
    let horizon = config.horizon;
    let cluster = Cluster {
        streams: streams
            .into_iter()
            .map(|s| ActiveStream {
                model: s.model,
                source: s.requests,
                next: None,
            })
            .collect(),
        nodes: Vec::new(),
        replicas: Vec::new(),
        index: FleetIndex::new(config.pools.len(), models),
        routers,
        outcomes,
        unplaced: vec![0; models],
        boot_rng: rng.stream("boot"),
        ledger: crate::billing::Ledger::new(&config.pools, models, config.warmup),
        timeseries: Vec::new(),
        fleet: Vec::new(),
        last_sample: SimTime::ZERO,
        last_counts: vec![(0, 0, 0); models],
        model_billed_at_sample: vec![Default::default(); models],
        pool_billed_at_sample: vec![Default::default(); config.pools.len()],
        controller,
        executor,
        tick_counts: vec![(0, 0, 0); models],
        last_tick: SimTime::ZERO,
        actions: Vec::new(),
        action_pending: Vec::new(),
        replica_counts: (0..models)
            .map(|_| crate::metrics::TimeAverage::new(config.warmup))
            .collect(),
        max_replicas: vec![0; models],
        spot_rng: rng.stream("spot"),
        reclaims: vec![0; config.pools.len()],
        running_out: false,
        failure: None,
        config,
    };
    let mut sim = Simulation::new(cluster);
    sim.set_watchdog(sim.model().config.watchdog);
    sim.schedule_at(SimTime::ZERO, ClusterEvent::Start);
    let outcome = sim.run_until(horizon);
    if let Some(failure) = sim.model_mut().failure.take() {
        return Err(crate::RunError::Controller(failure));
    }
    crate::RunError::from_outcome(outcome)?;
    let events = sim.events();
    // The run ends at the horizon even if no event was left to reach it: nodes still
    // alive bill until then.
    let end = horizon;
    let cluster = sim.model_mut();
    cluster.ledger.close(end);
    if cluster.config.sample_interval.is_some_and(|i| !i.is_zero()) && cluster.last_sample < end {
        cluster.sample(end);
    }
    let mut report = sim.model().report(end, events);
    // Judge the requests still in flight: follow them, with no new arrivals or
    // decisions, until each has finished or can no longer meet its SLA.
    if let Some(until) = sim.model_mut().start_run_out() {
        crate::RunError::from_outcome(sim.run_until(until))?;
    }
    let cluster = sim.model();
    for (m, model) in report.models.iter_mut().enumerate() {
        model.sla_met = cluster.outcomes[m].met_sla + cluster.met_in_flight(m);
    }
    Ok(report)
}

impl Cluster {
    /// Stops the run at the horizon and starts following the measured requests still
    /// in flight; returns until when: the latest instant one of them can still meet
    /// its SLA (`None` when none has a deadline to wait for).
    fn start_run_out(&mut self) -> Option<SimTime> {
        self.running_out = true;
        let from = self.config.warmup;
        let mut until: Option<SimTime> = None;
        for (m, o) in self.outcomes.iter().enumerate() {
            let sla = o.sla;
            self.for_each_in_flight(m, |request, first| {
                if request.arrival >= from
                    && let Some(d) = sla.deadline(request, first)
                {
                    until = Some(until.map_or(d, |u| u.max(d)));
                }
            });
        }
        until.filter(|&u| u > self.config.horizon)
    }

    /// Measured requests of `model`'s group still in flight that have met every target
    /// with none left to miss (a first token within a TTFT-only SLA).
    fn met_in_flight(&self, model: usize) -> u64 {
        let sla = self.outcomes[model].sla;
        let from = self.config.warmup;
        let mut met = 0;
        self.for_each_in_flight(model, |request, first| {
            if request.arrival >= from && sla.met_before_completion(request, first) {
                met += 1;
            }
        });
        met
    }

    /// Calls `f` with every request of `owner`'s group still in the system — held by a
    /// replica of the group or waiting in its router's backlog — and its first token's
    /// time, if it came. Nothing for a model that is a variant of another (its
    /// requests are its owner's). A walk over them: for the end of a run.
    fn for_each_in_flight(&self, owner: usize, mut f: impl FnMut(&LlmRequest, Option<SimTime>)) {
        if self.config.router_of(owner) != owner {
            return;
        }
        for r in self
            .replicas
            .iter()
            .filter(|r| r.gone_at.is_none() && r.owner == owner)
        {
            r.server.for_each_outstanding(&mut f);
        }
        for request in &self.routers[owner].pending {
            f(request, None);
        }
    }

    /// What the run measured, once it has ended at `end` (the ledger closed).
    fn report(&self, end: SimTime, events: u64) -> ClusterReport {
        let warmup = self.config.warmup;
        let pools: Vec<PoolUsage> = self
            .config
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let total = self.ledger.pool_billed(i, end);
                let window = total - self.ledger.pool_before_window(i);
                PoolUsage {
                    node_type: p.node_type.name.clone(),
                    nodes: self.nodes.iter().filter(|n| n.pool == i).count() as u64,
                    node_hours: window.node_hours,
                    cost: window.dollars,
                    node_hours_total: total.node_hours,
                    cost_total: total.dollars,
                    reclaims: self.reclaims[i],
                }
            })
            .collect();
        let cost = pools.iter().map(|p| p.cost).sum();
        let cost_total = pools.iter().map(|p| p.cost_total).sum();

        let mut reports = Vec::with_capacity(self.config.models.len());
        for (m, outcomes) in self.outcomes.iter().enumerate() {
            let mine: Vec<&Replica> = self.replicas.iter().filter(|r| r.model == m).collect();
            // Busy and KV-block time over ready replica-time, in the window.
            let mut time = ReplicaTime::default();
            for r in mine.iter().filter(|r| r.ready_at.is_some()) {
                let from = r.ready_at.unwrap_or(end).max(warmup);
                let until = r.gone_at.unwrap_or(end).min(end);
                let span = until.saturating_since(from).as_secs_f64();
                let (block_s, blocks) = r.server.kv_block_seconds(until);
                time = time.plus(ReplicaTime {
                    ready_s: span,
                    busy_s: r.server.busy_in_window(until).as_secs_f64(),
                    kv_block_s: block_s,
                    kv_capacity_s: blocks as f64 * span,
                });
            }
            // Requests still in the system: all of them, those that arrived after the
            // warm-up, and their time in it so far.
            let (mut in_flight, mut in_flight_measured, mut in_flight_ns) = (0, 0, 0);
            self.for_each_in_flight(m, |request, _| {
                in_flight += 1;
                if request.arrival >= warmup {
                    in_flight_measured += 1;
                }
                in_flight_ns += outcomes.in_system_ns(request, end);
            });
            let total = self.ledger.model_billed(m, end);
            let window = total - self.ledger.model_before_window(m);
            reports.push(ModelReport {
                name: self.config.models[m].name.clone(),
                sla_met: outcomes.met_sla,
                arrivals: outcomes.arrivals,
                in_flight_at_end: in_flight,
                in_flight_measured,
                unplaced_replicas: self.unplaced[m],
                ready_replicas: mine.iter().filter(|r| r.ready_at.is_some()).count() as u32,
                outcomes: outcomes.clone(),
                mean_in_system: outcomes.mean_in_system(end, in_flight_ns),
                replica_time: time,
                preemptions: mine.iter().map(|r| r.server.preemptions()).sum(),
                cost: window.dollars,
                node_hours: window.node_hours,
                cost_total: total.dollars,
                node_hours_total: total.node_hours,
                mean_replicas: self.replica_counts[m].mean_until(end),
                max_replicas: self.max_replicas[m],
            });
        }
        ClusterReport {
            models: reports,
            pools,
            cost,
            cost_total,
            events,
            timeseries: self.timeseries.clone(),
            fleet: self.fleet.clone(),
            actions: self.actions.clone(),
            controller: self
                .controller
                .as_ref()
                .map(|c| c.report())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AcceleratorSpec, DeviceKind, Efficiency, LlmSpec};
    use inferscale_engine::Dist;
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
            sla: LlmSla {
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
        }
    }

    fn poisson(rate: f64, until_s: f64, seed: u64) -> Box<dyn Iterator<Item = LlmRequest> + Send> {
        let mut rng = RngStreams::new(seed, 0).stream("arrivals");
        let mut t = 0.0;
        Box::new(std::iter::from_fn(move || {
            let gap: f64 = Exp1.sample(&mut rng);
            t += gap / rate;
            (t < until_s).then(|| LlmRequest {
                arrival: SimTime::from_secs_f64(t),
                prompt: 512,
                output: 128,
            })
        }))
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
            fn tick(
                &mut self,
                view: &ClusterView,
            ) -> Result<Vec<crate::control::ScaleAction>, String> {
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
}
