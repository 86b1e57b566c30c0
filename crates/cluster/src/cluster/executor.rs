//! The executor: carries out scale actions (adds replicas, drains or kills them in the
//! configured removal order) and logs how long each took to take effect.

use inferscale_engine::{Context, SimDuration, SimTime};

use super::{Cluster, ClusterEvent};
use crate::control::{ActionRecord, RemovalOrder, ScaleAction};
use crate::replica::GoneReplica;

impl Cluster {
    /// Changes `model`'s replica count to `target`: adds replicas, or drains some (in
    /// the executor's removal order; they stop receiving requests, finish what they
    /// hold, then go; a node is released, and stops billing, when its last replica has
    /// gone). Returns (new nodes requested, replicas that could not be placed, the
    /// replicas added or drained).
    pub(super) fn set_replicas(
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
            self.per_model[model].unplaced = self.per_model[model].unplaced.max(unplaced);
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
    pub(super) fn act(
        &mut self,
        action: crate::control::ScaleAction,
        ctx: &mut Context<ClusterEvent>,
    ) {
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
    pub(super) fn action_effect(&mut self, r: usize, now: SimTime) {
        if let Some(a) = self.replicas[r].action.take() {
            self.action_pending[a] -= 1;
            if self.action_pending[a] == 0 {
                self.actions[a].took = Some(now - self.actions[a].time);
            }
        }
    }

    /// Replicas of `model` asked for: not draining, doomed or gone.
    pub(super) fn active_replicas(&self, model: usize) -> u32 {
        self.index.active[model]
    }

    /// Records `model`'s replica count after a change, for its time average and peak.
    pub(super) fn note_replica_count(&mut self, model: usize, now: SimTime) {
        let n = self.active_replicas(model);
        self.per_model[model].replica_count.set(now, u64::from(n));
        self.per_model[model].max_replicas = self.per_model[model].max_replicas.max(n);
    }

    /// Replica `r` stops taking requests, finishes what it holds, then goes.
    pub(super) fn drain(&mut self, r: usize, now: SimTime) {
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
    pub(super) fn kill(&mut self, r: usize, now: SimTime) {
        if self.replicas[r].gone_at.is_some() {
            return;
        }
        if !self.replicas[r].draining {
            self.drain(r, now);
        }
        let owner = self.replicas[r].owner;
        self.attribute(owner, Some(r));
        self.replicas[r]
            .server
            .abort_all(now, &mut self.per_model[owner].outcomes);
        self.attribute(owner, None);
        self.replicas[r].timer_at = None;
        self.retire_if_idle(r, now);
    }

    /// A draining replica with nothing left to do is gone; its node may go with it.
    /// (Checked after every iteration: the check is inlined, the retirement is not.)
    #[inline]
    pub(super) fn retire_if_idle(&mut self, r: usize, now: SimTime) {
        let replica = &self.replicas[r];
        if replica.draining && replica.gone_at.is_none() && replica.server.outstanding() == 0 {
            self.retire(r, now);
        }
    }

    /// Replica `r`, drained and empty, goes: its accelerators are freed, and its node
    /// released when it was the last.
    #[inline(never)]
    pub(super) fn retire(&mut self, r: usize, now: SimTime) {
        self.replicas[r].gone_at = Some(now);
        // Its queues and KV slots go with it; its measurements stay for the report.
        let gone = GoneReplica::of(&*self.replicas[r].server, now);
        let model = self.replicas[r].model;
        self.per_model[model].prefix_gone = self.per_model[model]
            .prefix_gone
            .plus(crate::Replica::prefix_stats_run(&gone));
        self.replicas[r].server = Box::new(gone);
        self.index.live.remove(&r);
        self.action_effect(r, now);
        let node = self.replicas[r].node;
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

    /// A tick of the scaling loop: the controller sees the cluster, and its actions
    /// are carried out.
    pub(super) fn on_control(&mut self, ctx: &mut Context<ClusterEvent>) {
        let now = ctx.now();
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
        let mut actions = actions;
        self.make_before_break(&mut actions);
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

    /// Make before break, whatever the controller: when one tick's actions name two or
    /// more models of one router group (a model and its variants on other node types:
    /// capacity moving between node types), none of them shrinks while a replica of
    /// the group is still booting or loading, or while one of them grows. The new
    /// replicas come up first; the old ones drain at a later tick, so a move never
    /// leaves the model short.
    pub(super) fn make_before_break(&self, actions: &mut [ScaleAction]) {
        let models = self.config.models.len();
        let group_of = |a: &ScaleAction| (a.model < models).then(|| self.owner(a.model));
        let mut groups: Vec<usize> = actions.iter().filter_map(group_of).collect();
        groups.sort_unstable();
        groups.dedup();
        for group in groups {
            let in_group = |a: &&mut ScaleAction| group_of(a) == Some(group);
            let mut named: Vec<usize> = actions
                .iter_mut()
                .filter(in_group)
                .map(|a| a.model)
                .collect();
            named.sort_unstable();
            named.dedup();
            if named.len() < 2 {
                continue;
            }
            let active = |m: usize| self.index.active[m];
            let grows = actions
                .iter_mut()
                .filter(in_group)
                .any(|a| a.replicas > active(a.model));
            if grows || self.group_starting(group) {
                for a in actions.iter_mut().filter(in_group) {
                    a.replicas = a.replicas.max(active(a.model));
                }
            }
        }
    }
}
