//! A cluster: node types, nodes that boot and bill, replicas of LLM and classic models
//! placed on them, a router per model group, and the executor that carries out a
//! controller's scale actions.
//!
//! Each replica needs `tp` accelerators of its model's node type on one node; replicas
//! are placed first-fit (or best-fit) onto nodes, and a new node is requested when none
//! has room (within the node type's quota). A node **bills from the moment it is
//! requested** until it is released or the run ends, rounded up to the node type's
//! billing granularity and at least its minimum. A replica's lifecycle is
//! `provisioning` (its node boots, a draw from the node type's boot-time distribution)
//! → `loading` (weights / load bandwidth + container start) → `ready` → (`draining`)
//! → gone.
//!
//! Requests that arrive while a model has no ready replica wait in the router's queue
//! (bounded; past the bound they are dropped and counted) and are dispatched as
//! replicas come up. Every request ends in exactly one of: completed, dropped,
//! rejected (can never be served), or in flight at the end.
//!
//! One concern per file: `config` (what a run is given), `fleet` (nodes,
//! placement, boot, spot notice and reclaim, billing through the ledger), `router`
//! (routing policies and the backlog), `executor` (scale actions, drains,
//! make-before-break), `observe` (the controller's view and the time series) and
//! `report`. This file holds the cluster's state and its event dispatch.
mod cache_routing;
mod chains;
mod config;
mod executor;
mod fleet;
mod observe;
mod report;
mod requests;
mod router;
#[cfg(test)]
mod tests;

use inferscale_engine::{Context, Model, RngStreams, SimRng, SimTime, Simulation};

pub use config::{
    ClusterConfig, Deployment, NodePool, ReplicaChange, RequestStream, Reservation, RoutingPolicy,
    Serving, SpotTerms, billed,
};
pub use observe::{FleetSample, Sample};
pub use report::{ClusterReport, ModelReport, PoolUsage, ReplicaTime};

use crate::control::{ActionRecord, Controller, ExecutorConfig};
use crate::outcomes::Outcomes;
use crate::replica::NextStep;
use fleet::{FleetIndex, Node, ReplicaSlot};
use router::{ActiveStream, Router};

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
    /// A closed-loop stream's request falls due (a conversation's next turn), held in
    /// `Cluster::follow_ups`.
    FollowUp {
        slot: usize,
    },
}

/// What the cluster keeps for one model (one deployment) while it runs.
struct ModelState {
    /// Its requests' outcomes (a variant's requests are its group's, so only group
    /// owners' outcomes see requests).
    outcomes: Outcomes,
    /// Most replicas asked for at once that could not be placed.
    unplaced: u32,
    /// (arrivals, completions, dropped + rejected) at the last sample.
    counts_at_sample: (u64, u64, u64),
    /// What had been billed to it at the last sample.
    billed_at_sample: crate::billing::Billed,
    /// (arrivals, completions, output tokens) at the last control tick.
    counts_at_tick: (u64, u64, u64),
    /// Whole-run prefix counts of its replicas that have gone, and of all its
    /// replicas at the last sample.
    prefix_gone: crate::replica::PrefixStats,
    prefix_at_sample: crate::replica::PrefixStats,
    /// Whole-run prefix counts of its replicas at the last control tick.
    prefix_at_tick: crate::replica::PrefixStats,
    /// Replicas asked for, over time.
    replica_count: crate::metrics::TimeAverage,
    /// Most replicas asked for at once.
    max_replicas: u32,
}

/// The simulated cluster: its configuration, fleet, routers and per-model state, and
/// the scaling loop that drives it.
struct Cluster {
    config: ClusterConfig,
    streams: Vec<ActiveStream>,
    nodes: Vec<Node>,
    /// Every replica the run created, by index (a gone one keeps only its final
    /// measurements).
    replicas: Vec<ReplicaSlot>,
    /// What is live in `nodes` and `replicas`, kept as they change.
    index: FleetIndex,
    /// Per model; only a group owner's router is used.
    routers: Vec<Router>,
    /// Per model.
    per_model: Vec<ModelState>,
    boot_rng: SimRng,
    /// The fleet's bill.
    ledger: crate::billing::Ledger,
    timeseries: Vec<Sample>,
    fleet: Vec<FleetSample>,
    /// When the last sample was taken.
    last_sample: SimTime,
    /// Per pool: what had been billed at the last sample.
    pool_billed_at_sample: Vec<crate::billing::Billed>,
    /// The scaling loop, if any.
    controller: Option<Box<dyn Controller>>,
    executor: ExecutorConfig,
    last_tick: SimTime,
    actions: Vec<ActionRecord>,
    /// Per action: replicas still to become ready or to go.
    action_pending: Vec<u32>,
    /// Draws spot nodes' lifetimes.
    spot_rng: SimRng,
    /// Per pool: spot nodes reclaimed.
    reclaims: Vec<u64>,
    /// [`Cluster::reclaims`] at the last sample (a sample reports the difference).
    reclaims_at_sample: Vec<u64>,
    /// Past the horizon, following the requests still in flight to their outcome: no
    /// more arrivals, control ticks or scheduled changes.
    running_out: bool,
    /// Why the controller could not go on (the run ends with it).
    failure: Option<String>,
    /// Where sampled requests' records go (`requests.parquet`), if anywhere.
    request_sink: Option<Box<dyn crate::request_log::RequestSink>>,
    /// Whether `request_sink` is set: one flag the hot paths test.
    logging: bool,
    /// Per model: the block size its prefix cache names blocks at, if it caches.
    prefix_block: Vec<Option<u32>>,
    /// Per model: a request reaches the cluster this long after it was sent (its
    /// serving stack's client latency, counted in its latencies).
    client_latency: Vec<inferscale_engine::SimDuration>,
    /// The block chains of requests drawn but not yet queued at a replica.
    chains: chains::ChainStore,
    /// Requests closed-loop streams made due, until they arrive: (stream, request).
    follow_ups: Vec<Option<(usize, inferscale_workload::Request)>>,
    free_follow_ups: Vec<usize>,
    /// Whether any stream follows its requests' ends.
    following: bool,
    /// Segments of a prompt and its answer, put together before naming their blocks.
    scratch: Vec<inferscale_workload::Segment>,
}

impl Cluster {
    /// The model whose outcomes (and router) account `model`'s requests.
    pub(super) fn owner(&self, model: usize) -> usize {
        self.config.router_of(model)
    }

    /// Draws stream `stream`'s next request and schedules its arrival.
    pub(super) fn next_arrival(&mut self, stream: usize, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
        let active = &mut self.streams[stream];
        active.next = active.source.next_request();
        if let Some(mut request) = active.next {
            request.chain = self.name_blocks(stream, &request);
            self.streams[stream].next = Some(request);
            let reaches = request.arrival + self.client_latency[self.streams[stream].model];
            // One that reaches the cluster after the horizon is not part of the run
            // (`LlmServerConfig::client_latency`): never an arrival the run-out would
            // serve beyond the window its counts cover.
            if reaches <= self.config.horizon {
                ctx.schedule_at(reaches.max(now), ClusterEvent::Arrival { stream });
            }
        }
    }

    /// Names the blocks of the request stream `stream` returned last (its prompt,
    /// then the answer it will generate, where the stream knows it) at its model's
    /// block size, if the model caches prefixes: the chain's handle, or 0.
    fn name_blocks(&mut self, stream: usize, request: &inferscale_workload::Request) -> u32 {
        let active = &self.streams[stream];
        let Some(size) = self.prefix_block[self.config.router_of(active.model)] else {
            return 0;
        };
        let segments = active.source.segments();
        if segments.is_empty() {
            return 0;
        }
        match active.source.answer(request) {
            None => self.chains.insert(segments, size),
            Some(answer) => {
                self.scratch.clear();
                self.scratch.extend_from_slice(segments);
                // An answer of the prompt's last content continues that text.
                match self.scratch.last_mut() {
                    Some(last) if last.content == answer.content => {
                        last.tokens = last.tokens.saturating_add(answer.tokens);
                    }
                    _ => self.scratch.push(answer),
                }
                self.chains.insert(&self.scratch, size)
            }
        }
    }

    /// Hands the ends of requests to the closed-loop streams they came from, and
    /// schedules what that makes due (none past the horizon, or while running out).
    fn hand_on_ends(&mut self, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
        for m in 0..self.per_model.len() {
            let Some(ends) = self.per_model[m].outcomes.ends.as_mut() else {
                continue;
            };
            if ends.is_empty() {
                continue;
            }
            let batch = std::mem::take(ends);
            for (request, at, output) in &batch {
                let stream = request.entry();
                if stream >= self.streams.len() || !self.streams[stream].follows {
                    continue;
                }
                let Some(mut next) = self.streams[stream].source.ended(request, *at, *output)
                else {
                    continue;
                };
                let reaches = next.arrival + self.client_latency[self.streams[stream].model];
                if self.running_out || reaches > self.config.horizon {
                    continue;
                }
                next.chain = self.name_blocks(stream, &next);
                let slot = match self.free_follow_ups.pop() {
                    Some(slot) => {
                        self.follow_ups[slot] = Some((stream, next));
                        slot
                    }
                    None => {
                        self.follow_ups.push(Some((stream, next)));
                        self.follow_ups.len() - 1
                    }
                };
                // Sent at its arrival, it reaches the cluster a client latency later,
                // as a stream's first requests do.
                ctx.schedule_at(reaches.max(now), ClusterEvent::FollowUp { slot });
            }
            let mut batch = batch;
            batch.clear();
            if let Some(ends) = self.per_model[m].outcomes.ends.as_mut() {
                *ends = batch;
            }
        }
    }

    /// Asks replica `r` to start work, and schedules what it asks for: the end of its
    /// step, or a batch-delay timer.
    pub(super) fn kick(&mut self, r: usize, ctx: &mut Context<ClusterEvent>) {
        let owner = self.replicas[r].owner;
        let now = ctx.now();
        self.attribute(owner, Some(r));
        let step = self.replicas[r]
            .server
            .start(now, &mut self.per_model[owner].outcomes);
        self.attribute(owner, None);
        match step {
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
}

impl Model for Cluster {
    type Event = ClusterEvent;

    fn handle(&mut self, event: ClusterEvent, ctx: &mut Context<ClusterEvent>) {
        self.handle_event(event, ctx);
        if self.following {
            self.hand_on_ends(ctx);
        }
        if self.logging {
            self.drain_request_records();
        }
    }
}

impl Cluster {
    fn handle_event(&mut self, event: ClusterEvent, ctx: &mut Context<ClusterEvent>) {
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
                    self.per_model[owner].outcomes.record_arrival(&request);
                    self.dispatch(model, request, ctx);
                }
                self.next_arrival(stream, ctx);
            }
            ClusterEvent::FollowUp { slot } => {
                if let Some((stream, request)) = self.follow_ups[slot].take() {
                    self.free_follow_ups.push(slot);
                    let model = self.streams[stream].model;
                    let owner = self.owner(model);
                    self.per_model[owner].outcomes.record_arrival(&request);
                    self.dispatch(model, request, ctx);
                }
            }
            ClusterEvent::NodeBooted { node } => self.on_node_booted(node, ctx),
            ClusterEvent::ReplicaLoaded { replica } => self.on_replica_loaded(replica, ctx),
            ClusterEvent::IterationDone { replica } => {
                if self.replicas[replica].gone_at.is_some() {
                    return; // killed mid-iteration
                }
                let owner = self.replicas[replica].owner;
                self.attribute(owner, Some(replica));
                self.replicas[replica]
                    .server
                    .complete(now, &mut self.per_model[owner].outcomes);
                self.attribute(owner, None);
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
            ClusterEvent::Control => self.on_control(ctx),
            ClusterEvent::Sample => {
                self.sample(now);
                if let Some(at) = self.next_sample_after(now) {
                    ctx.schedule_at(at, ClusterEvent::Sample);
                }
            }
            ClusterEvent::SpotNotice { node } => self.on_spot_notice(node, ctx),
            ClusterEvent::SpotReclaim { node } => self.on_spot_reclaim(node, ctx),
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
    simulate_cluster_with(config, streams, rng, controller, executor, None)
}

/// Per-request records to keep: a fraction of the requests (by a hash of their id)
/// and where their records go.
pub struct RequestLogging {
    /// Share of the requests kept, in (0, 1]; 1 keeps every one.
    pub fraction: f64,
    /// Receives each record as its request ends (in-flight ones at the end).
    pub sink: Box<dyn crate::request_log::RequestSink>,
}

/// [`simulate_controlled_cluster`], also handing a sample of the requests' records
/// to `requests`' sink as they end. A request still in flight at the horizon is
/// recorded as in flight (as `ModelReport::in_flight_at_end` counts it), judged
/// against its SLA as the report judges it, after the run-out.
pub fn simulate_cluster_with(
    config: ClusterConfig,
    streams: Vec<RequestStream>,
    rng: &RngStreams,
    controller: Option<Box<dyn Controller>>,
    executor: ExecutorConfig,
    requests: Option<RequestLogging>,
) -> Result<ClusterReport, crate::RunError> {
    let (fraction, request_sink) = match requests {
        Some(r) => (Some(r.fraction), Some(r.sink)),
        None => (None, None),
    };
    let models = config.models.len();
    let routers = (0..models)
        .map(|m| Router::new(rng.stream(&format!("routing/{}", config.models[m].name))))
        .collect();
    let per_model = config
        .models
        .iter()
        .map(|m| {
            let mut outcomes = Outcomes::measured_from(m.sla, config.warmup);
            outcomes.leads = streams
                .iter()
                .map(|s| config.models[s.model].serving.client_latency())
                .collect();
            if controller.is_some() {
                outcomes.tick_ttft = Some(Vec::new());
            }
            if let Some(f) = fraction {
                outcomes.log = Some(Box::new(crate::request_log::RequestLog::sampling(f)));
            }
            ModelState {
                outcomes,
                unplaced: 0,
                counts_at_sample: (0, 0, 0),
                billed_at_sample: Default::default(),
                counts_at_tick: (0, 0, 0),
                prefix_gone: Default::default(),
                prefix_at_sample: Default::default(),
                prefix_at_tick: Default::default(),
                replica_count: crate::metrics::TimeAverage::new(config.warmup),
                max_replicas: 0,
            }
        })
        .collect();
    let horizon = config.horizon;
    let cluster = Cluster {
        streams: streams
            .into_iter()
            .map(|s| ActiveStream {
                model: s.model,
                follows: s.requests.follows_ends(),
                source: s.requests,
                next: None,
            })
            .collect(),
        nodes: Vec::new(),
        replicas: Vec::new(),
        index: FleetIndex::new(config.pools.len(), models),
        routers,
        per_model,
        boot_rng: rng.stream("boot"),
        ledger: crate::billing::Ledger::new(
            &config.pools,
            &config.models.iter().map(|d| d.pool).collect::<Vec<_>>(),
            config.warmup,
        ),
        timeseries: Vec::new(),
        fleet: Vec::new(),
        last_sample: SimTime::ZERO,
        pool_billed_at_sample: vec![Default::default(); config.pools.len()],
        controller,
        executor,
        last_tick: SimTime::ZERO,
        actions: Vec::new(),
        action_pending: Vec::new(),
        spot_rng: rng.stream("spot"),
        reclaims: vec![0; config.pools.len()],
        reclaims_at_sample: vec![0; config.pools.len()],
        running_out: false,
        failure: None,
        logging: request_sink.is_some(),
        request_sink,
        prefix_block: config
            .models
            .iter()
            .map(|m| m.serving.prefix_block_size())
            .collect(),
        client_latency: config
            .models
            .iter()
            .map(|m| m.serving.client_latency())
            .collect(),
        chains: chains::ChainStore::default(),
        follow_ups: Vec::new(),
        free_follow_ups: Vec::new(),
        following: false,
        scratch: Vec::new(),
        config,
    };
    let mut cluster = cluster;
    // Streams that follow their requests' ends hear of them through their group's
    // outcomes.
    for s in 0..cluster.streams.len() {
        if cluster.streams[s].follows {
            let owner = cluster.owner(cluster.streams[s].model);
            cluster.per_model[owner].outcomes.ends = Some(Vec::new());
            cluster.following = true;
        }
    }
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
    // Requests that end from here on are the report's in flight.
    sim.model_mut().freeze_request_logs(end);
    // Judge the requests still in flight: follow them, with no new arrivals or
    // decisions, until each has finished or can no longer meet its SLA.
    if let Some(until) = sim.model_mut().start_run_out() {
        crate::RunError::from_outcome(sim.run_until(until))?;
    }
    let cluster = sim.model_mut();
    for (m, model) in report.models.iter_mut().enumerate() {
        model.sla_met = cluster.per_model[m].outcomes.met_sla + cluster.met_in_flight(m);
    }
    cluster.log_requests_in_flight();
    Ok(report)
}
