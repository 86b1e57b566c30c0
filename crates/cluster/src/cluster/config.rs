//! What a cluster run is given: node pools with their billing and spot terms, the
//! models deployed on them and how they serve, request streams, and scheduled changes.

use std::sync::Arc;

use inferscale_engine::{SimDuration, SimTime};

use crate::NodeType;
use crate::classic::{ClassicProfile, ClassicReplica, ClassicServerConfig};
use crate::llm_replica::{LlmReplica, LlmServerConfig};
use crate::outcomes::Sla;
use crate::perf::Roofline;
use crate::replica::{Replica, ReplicaKind};
use inferscale_workload::Arrivals;

/// How a model's router picks a replica for each request.
#[derive(Clone, Copy, Debug, PartialEq)]
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
    /// Consistent (rendezvous) hashing on the hash of the prompt's first
    /// `prefix_blocks` KV blocks, with bounded loads: a replica holding
    /// `load_factor` × the mean outstanding requests (the new one counted) or more is
    /// passed over for the next in the request's hash order. Requests without blocks
    /// go to the least outstanding replica.
    PrefixAffinity {
        /// Leading blocks hashed.
        prefix_blocks: u32,
        /// Load bound, a multiple of the mean (at least 1).
        load_factor: f64,
    },
    /// llm-d's weighted scorers: the best `prefix × cached share + queue × queue
    /// score + running × running score + kv_utilization × free KV share`, the queue
    /// and running scores min–max normalised over the replicas; ties at random.
    KvAware {
        /// Weight of the share of the prompt's looked-up blocks cached there.
        prefix: f64,
        /// Weight of `(max − waiting) / (max − min)`.
        queue: f64,
        /// Weight of `(max − running) / (max − min)`.
        running: f64,
        /// Weight of `1 − KV blocks in use / KV blocks`.
        kv_utilization: f64,
    },
    /// The least `outstanding − bonus × cached share of the prompt's blocks`.
    LeastLoadedCache {
        /// Outstanding requests a wholly cached prompt outweighs.
        bonus: f64,
    },
}

impl RoutingPolicy {
    /// Whether it reads replicas' prefix caches (and so requests' block chains).
    pub fn cache_aware(&self) -> bool {
        matches!(
            self,
            RoutingPolicy::PrefixAffinity { .. }
                | RoutingPolicy::KvAware { .. }
                | RoutingPolicy::LeastLoadedCache { .. }
        )
    }
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
    /// Reserved (committed-use) capacity: a number of nodes paid for at a lower rate
    /// for the whole run whether they run or not, on-demand price beyond them.
    /// `None`: every node on demand.
    pub reserved: Option<Reservation>,
}

/// A commitment to `nodes` nodes of a type at `price_per_hour` each (AWS Reserved
/// Instances and Savings Plans, GCP committed-use discounts): the commitment is paid
/// for every hour of the run whatever runs; at each instant it covers up to `nodes`
/// alive nodes (whichever they are), and nodes beyond it are billed on demand, their
/// granularity and minimum included.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reservation {
    /// Nodes committed to.
    pub nodes: u32,
    /// Price of one committed node, dollars per hour.
    pub price_per_hour: f64,
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
    /// A replica kind defined outside this crate: the extension point for a kind the
    /// scenario format does not name (yet).
    Custom(Arc<dyn ReplicaKind>),
}

impl Serving {
    /// Accelerators one replica occupies.
    pub fn accelerators(&self) -> u32 {
        match self {
            Serving::Llm { roofline, .. } => roofline.tp(),
            Serving::Classic { .. } => 1,
            Serving::Custom(kind) => kind.accelerators(),
        }
    }

    /// Name of the model (the catalog entry).
    pub fn model_name(&self) -> &str {
        match self {
            Serving::Llm { roofline, .. } => &roofline.model().name,
            Serving::Classic { profile, .. } => &profile.name,
            Serving::Custom(kind) => kind.model_name(),
        }
    }

    /// The block size its replicas' prefix caches name blocks at, if they cache
    /// prefixes (an LLM with `prefix_caching`; a custom kind says for itself through
    /// its replicas, and is not asked here).
    pub fn prefix_block_size(&self) -> Option<u32> {
        match self {
            Serving::Llm { server, .. } => server.prefix_caching.then_some(server.block_size),
            Serving::Classic { .. } | Serving::Custom(_) => None,
        }
    }

    /// The time between a client sending a request and the engine receiving it,
    /// plus that from a token's computation to the client (the API server's
    /// parsing and tokenization, streaming back): the serving stack's
    /// [`LlmServerConfig::client_latency`](crate::LlmServerConfig::client_latency),
    /// zero for other kinds. It counts in TTFT and end-to-end latency.
    pub fn client_latency(&self) -> inferscale_engine::SimDuration {
        match self {
            Serving::Llm { server, .. } => server.client_latency,
            Serving::Classic { .. } | Serving::Custom(_) => inferscale_engine::SimDuration::ZERO,
        }
    }

    /// Bytes of weights a replica loads before it is ready.
    pub fn weight_bytes(&self) -> f64 {
        match self {
            Serving::Llm { roofline, .. } => roofline.model().weight_bytes(),
            Serving::Classic { profile, .. } => profile.weight_bytes,
            Serving::Custom(kind) => kind.weight_bytes(),
        }
    }

    /// A new, empty replica keeping statistics from `stats_from` on.
    pub fn new_replica(&self, stats_from: SimTime) -> Box<dyn Replica> {
        match self {
            Serving::Llm { roofline, server } => Box::new(LlmReplica::new(
                roofline.clone(),
                server.clone(),
                stats_from,
            )),
            Serving::Classic { profile, server } => Box::new(
                ClassicReplica::new(profile.clone(), server.clone()).with_stats_from(stats_from),
            ),
            Serving::Custom(kind) => kind.new_replica(stats_from),
        }
    }
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
    /// Replicas at time zero (a controller or scheduled changes move it later).
    pub replicas: u32,
    /// Container start added to the weight load time.
    pub container_start: SimDuration,
    /// Targets each request is judged against.
    pub sla: Sla,
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
        self.serving.accelerators()
    }

    /// Name of the model (the catalog entry).
    pub fn model_name(&self) -> &str {
        self.serving.model_name()
    }

    /// Time to load the weights onto a freshly booted node.
    pub fn load_time(&self, pool: &NodePool) -> SimDuration {
        SimDuration::from_secs_f64(self.serving.weight_bytes() / pool.node_type.load_bandwidth)
            + self.container_start
    }
}

/// A request stream for one model.
pub struct RequestStream {
    /// Index into the deployments.
    pub model: usize,
    /// Requests in arrival order.
    pub requests: Box<dyn Arrivals>,
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

/// Bills a node alive for `lifetime`: rounded up to the granularity, at least the
/// minimum.
pub fn billed(lifetime: SimDuration, pool: &NodePool) -> SimDuration {
    let granularity = pool.billing_granularity.as_nanos().max(1);
    let rounded = lifetime.as_nanos().div_ceil(granularity) * granularity;
    SimDuration::from_nanos(rounded.max(pool.billing_minimum.as_nanos()))
}
