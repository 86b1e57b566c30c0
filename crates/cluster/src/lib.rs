//! The serving side of inferscale: models, the servers that run them, the queues in
//! front of them, and what is measured about the requests that pass through.
//!
//! Three kinds of model: the **generic** one — requests that each need a random
//! amount of service from one of `c` identical servers behind a FIFO queue, simulated
//! by the [`station`] (the queueing-theory core the engine is validated against:
//! M/M/c, M/D/1, M/G/1) —, **LLMs** served with continuous batching and a paged KV
//! cache ([`llm_replica`], timed by the roofline of [`perf`]; alone in
//! [`llm_server`]), and **classic** DNNs with dynamic batching ([`classic`]). Every
//! replica kind implements one trait ([`Replica`]) and records into one [`Outcomes`]
//! per model ([`outcomes`]). The [`cluster`] runs them on nodes that boot, bill (an
//! exact ledger) and fail, behind routers, under a [`Controller`] (the execute side of
//! the scaling loop, [`control`]); a run that cannot finish returns a [`RunError`].
//!
//! Measurements use bounded memory whatever the number of requests: exact running sums
//! for means, time integrals for time averages, and an HDR histogram (3 significant
//! digits) for latency quantiles.
#![deny(missing_docs)]

mod billing;
pub mod classic;
pub mod cluster;
pub mod control;
mod generic;
mod hardware;
mod llm;
pub mod llm_replica;
pub mod llm_server;
pub mod metrics;
pub mod outcomes;
pub mod perf;
pub mod prefix_cache;
pub mod replica;
pub mod request_log;
mod run_error;
pub mod station;

pub use classic::{ClassicProfile, ClassicReplica, ClassicServerConfig};
pub use cluster::{
    ClusterConfig, ClusterReport, Deployment, FleetSample, ModelReport, NodePool, PoolUsage,
    ReplicaChange, ReplicaTime, RequestLogging, RequestStream, Reservation, RoutingPolicy, Serving,
    SpotTerms, simulate_cluster, simulate_cluster_with, simulate_controlled_cluster,
};
pub use control::{
    ActionRecord, ClusterView, Controller, ControllerReport, ExecutorConfig, ForecastError,
    ModelView, Placement, RemovalOrder, ReplicaView, ScaleAction,
};
pub use generic::GenericModel;
pub use hardware::{AcceleratorSpec, DeviceKind, NodeType};
pub use inferscale_workload::Request;
pub use llm::LlmSpec;
pub use llm_replica::{LlmReplica, LlmServerConfig, ReplicaStats};
pub use llm_server::{LlmReport, simulate_llm_server};
pub use outcomes::{Outcomes, Sla};
pub use perf::{BatchWork, Efficiency, ProfileTable, Roofline};
pub use replica::{NextStep, PrefixStats, Replica, ReplicaKind};
pub use request_log::{RequestLog, RequestOutcome, RequestRecord, RequestSink};
pub use run_error::RunError;
pub use station::{StationConfig, StationReport, simulate_station};
