//! What a run reports: per model, per node type and in total, once it has ended; and
//! the run-out that judges requests still in flight at the horizon.

use inferscale_engine::SimTime;

use super::{Cluster, FleetSample, ReplicaSlot, Sample};
use crate::outcomes::Outcomes;
use inferscale_workload::Request;

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
    pub outcomes: Outcomes,
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
    /// Prompt tokens computed and taken from prefix caches, and blocks looked up and
    /// found, over all replicas in the window.
    pub prefix: crate::replica::PrefixStats,
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
        crate::outcomes::sla_attainment(self.sla_met, self.outcomes.arrivals_measured)
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

impl Cluster {
    /// Stops the run at the horizon and starts following the measured requests still
    /// in flight; returns until when: the latest instant one of them can still meet
    /// its SLA (`None` when none has a deadline to wait for).
    pub(super) fn start_run_out(&mut self) -> Option<SimTime> {
        self.running_out = true;
        let mut until: Option<SimTime> = None;
        for (m, o) in self.per_model.iter().map(|s| &s.outcomes).enumerate() {
            let sla = o.sla;
            self.for_each_in_flight(m, |request, first| {
                if o.measured(request)
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
    pub(super) fn met_in_flight(&self, model: usize) -> u64 {
        let outcomes = &self.per_model[model].outcomes;
        let mut met = 0;
        self.for_each_in_flight(model, |request, first| {
            if outcomes.measured(request) && outcomes.sla.met_before_completion(request, first) {
                met += 1;
            }
        });
        met
    }

    /// Calls `f` with every request of `owner`'s group still in the system — held by a
    /// replica of the group or waiting in its router's backlog — and its first token's
    /// time, if it came. Nothing for a model that is a variant of another (its
    /// requests are its owner's). A walk over them: for the end of a run.
    pub(super) fn for_each_in_flight(
        &self,
        owner: usize,
        mut f: impl FnMut(&Request, Option<SimTime>),
    ) {
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
    pub(super) fn report(&self, end: SimTime, events: u64) -> ClusterReport {
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
        for (m, outcomes) in self.per_model.iter().map(|s| &s.outcomes).enumerate() {
            let mine: Vec<&ReplicaSlot> = self.replicas.iter().filter(|r| r.model == m).collect();
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
                unplaced_replicas: self.per_model[m].unplaced,
                ready_replicas: mine.iter().filter(|r| r.ready_at.is_some()).count() as u32,
                outcomes: outcomes.clone(),
                mean_in_system: outcomes.mean_in_system(end, in_flight_ns),
                replica_time: time,
                preemptions: mine.iter().map(|r| r.server.preemptions()).sum(),
                prefix: mine
                    .iter()
                    .fold(Default::default(), |a, r| a.plus(r.server.prefix_stats())),
                cost: window.dollars,
                node_hours: window.node_hours,
                cost_total: total.dollars,
                node_hours_total: total.node_hours,
                mean_replicas: self.per_model[m].replica_count.mean_until(end),
                max_replicas: self.per_model[m].max_replicas,
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
