//! The fleet: nodes (placement, boot, release, billing through the ledger) and the
//! replicas placed on them, the indices over what is live, and spot capacity's notice
//! and reclaim — where further failure kinds go.

use std::collections::BTreeSet;

use inferscale_engine::{Context, SimDuration, SimTime};
use rand::Rng;

use super::{Cluster, ClusterEvent, SpotTerms};
use crate::control::Placement;
use crate::replica::Replica;

pub(super) struct Node {
    pub(super) pool: usize,
    pub(super) booted: bool,
    /// When its last replica went: billing stops here.
    pub(super) released: Option<SimTime>,
    pub(super) free_accelerators: u32,
    pub(super) replicas: Vec<usize>,
    /// Of `replicas`, those not yet gone: the node goes with the last.
    pub(super) live_replicas: u32,
}

/// Indices over the fleet kept up to date as it changes, so that placing a replica,
/// counting a model's replicas, a control tick and a sample cost what the live fleet
/// costs — not every node and replica the run ever had (scanning those made a start
/// of 16,000 replicas quadratic).
pub(super) struct FleetIndex {
    /// Per pool: live nodes with a free accelerator, by index (first fit takes the
    /// first that fits).
    pub(super) open_nodes: Vec<BTreeSet<usize>>,
    /// Per pool: live nodes still booting.
    pub(super) booting: Vec<u32>,
    /// Replicas not yet gone, by index.
    pub(super) live: BTreeSet<usize>,
    /// Per model: replicas asked for (not draining, doomed or gone).
    pub(super) active: Vec<u32>,
    /// Per router group: replicas still booting or loading (not draining or gone).
    pub(super) starting: Vec<u32>,
    /// Per router group: doomed replicas still serving (not draining), by index.
    pub(super) doomed: Vec<BTreeSet<usize>>,
}

impl FleetIndex {
    pub(super) fn new(pools: usize, models: usize) -> Self {
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

/// A replica's place in the cluster: its model and node, its lifecycle, and the
/// replica itself.
pub(super) struct ReplicaSlot {
    pub(super) model: usize,
    /// The model whose router and outcomes serve it (itself, or the one it is a
    /// variant of).
    pub(super) owner: usize,
    pub(super) node: usize,
    pub(super) server: Box<dyn Replica>,
    /// A batch-delay timer already scheduled for this instant.
    pub(super) timer_at: Option<SimTime>,
    pub(super) booted: bool,
    pub(super) ready_at: Option<SimTime>,
    /// Asked to go: takes no new requests.
    pub(super) draining: bool,
    /// Drained and empty: holds no accelerator any more.
    pub(super) gone_at: Option<SimTime>,
    /// On a spot node with a reclaim notice: still serving, but no longer counted as
    /// capacity, so the loop replaces it; it drains once a replacement is ready.
    pub(super) doomed: bool,
    /// When it was created.
    pub(super) created: SimTime,
    /// The action that created or removed it, until that took effect for it.
    pub(super) action: Option<usize>,
    /// Busy time at the last control tick.
    pub(super) busy_at_tick: SimDuration,
}

impl Cluster {
    /// Recomputes the [`FleetIndex`] by scanning every node and replica, and insists
    /// the one kept up to date agrees.
    #[cfg(test)]
    pub(super) fn check_index(&self) {
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

    /// Places every model's initial replicas at time zero: cold (nodes boot, weights
    /// load), or ready at once for a model that starts `initial_ready`.
    pub(super) fn provision(&mut self, ctx: &mut Context<ClusterEvent>) {
        for model in 0..self.config.models.len() {
            let warm = self.config.models[model].initial_ready;
            let mut unplaced = 0;
            for _ in 0..self.config.models[model].replicas {
                if self.add_replica(model, warm, ctx).is_none() {
                    unplaced += 1;
                }
            }
            self.per_model[model].unplaced = self.per_model[model].unplaced.max(unplaced);
        }
    }

    /// Places one more replica of `model`: first fit on a live node of its type with
    /// room, else on a newly requested node (within the quota). A replica placed on a
    /// node that has already booted starts loading at once.
    /// With `warm`, a new node is booted and the replica loaded at once (the initial
    /// fleet of a model that starts `initial_ready`). Returns the replica, and whether
    /// a new node was requested for it; `None` when it could not be placed.
    pub(super) fn add_replica(
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
                    self.schedule_reclaim(node, spot, ctx);
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
        let server = self.config.models[model]
            .serving
            .new_replica(self.config.warmup);
        let booted = self.nodes[node].booted;
        let ready = warm && booted;
        self.replicas.push(ReplicaSlot {
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

    /// The node goes: it stops billing (its bill's rounding is charged now).
    pub(super) fn release_node(&mut self, node: usize, now: SimTime) {
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

    /// Node `node` has booted: its replicas (not already leaving) start loading.
    pub(super) fn on_node_booted(&mut self, node: usize, ctx: &mut Context<ClusterEvent>) {
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

    /// Replica `replica` has loaded its weights: it joins its router, lets one doomed
    /// replica of its group drain (a replacement is ready), and takes the backlog.
    pub(super) fn on_replica_loaded(&mut self, replica: usize, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
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

    /// Draws a new spot node's lifetime and schedules its reclaim notice and reclaim.
    pub(super) fn schedule_reclaim(
        &mut self,
        node: usize,
        spot: SpotTerms,
        ctx: &mut Context<ClusterEvent>,
    ) {
        let now = ctx.now();
        // Exp(1) by inversion of one uniform draw.
        let u = ((self.spot_rng.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let lifetime = SimDuration::from_secs_f64(-u.ln() * spot.mean_lifetime.as_secs_f64());
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

    /// A spot node's reclaim notice: its ready replicas stop counting as capacity but
    /// keep serving until a replacement is ready; those not ready drain at once.
    pub(super) fn on_spot_notice(&mut self, node: usize, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
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
                    let (model, owner, doomed) = (replica.model, replica.owner, replica.doomed);
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

    /// A spot node is reclaimed: whatever still runs on it is dropped and it goes.
    pub(super) fn on_spot_reclaim(&mut self, node: usize, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
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
}
