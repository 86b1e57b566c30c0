//! The router of each model group: its routing policies over the ready replicas, and
//! the backlog that holds requests while no replica can take them.

use std::collections::VecDeque;

use inferscale_engine::{Context, SimRng, SimTime};
use rand::Rng;

use super::{Cluster, ClusterEvent, RoutingPolicy};
use inferscale_workload::Request;

/// A model group's router: its ready replicas, its place in a round robin, its
/// backlog and its random stream.
pub(super) struct Router {
    pub(super) ready: Vec<usize>,
    pub(super) next: usize,
    pub(super) pending: VecDeque<Request>,
    pub(super) rng: SimRng,
}

impl Router {
    /// A router with no ready replica yet, drawing from `rng`.
    pub(super) fn new(rng: SimRng) -> Self {
        Router {
            ready: Vec::new(),
            next: usize::MAX,
            pending: VecDeque::new(),
            rng,
        }
    }
}

/// A request stream with its next request, already drawn.
pub(super) struct ActiveStream {
    pub(super) model: usize,
    /// Whether it hears how its requests end (a closed loop).
    pub(super) follows: bool,
    pub(super) source: Box<dyn inferscale_workload::Arrivals>,
    pub(super) next: Option<Request>,
}

impl Cluster {
    /// Picks a ready replica of `model` for `request` by its routing policy, or `None`
    /// if there is none.
    pub(super) fn route(&mut self, model: usize, request: &Request) -> Option<usize> {
        if self.config.models[model].routing.cache_aware() {
            return self.route_by_cache(model, request, false);
        }
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
            RoutingPolicy::PrefixAffinity { .. }
            | RoutingPolicy::KvAware { .. }
            | RoutingPolicy::LeastLoadedCache { .. } => unreachable!("routed by cache"),
        };
        Some(router.ready[index])
    }

    /// [`Cluster::route`] among the ready replicas with room for another request (the
    /// backlog is fed only to replicas that would start it at once), or `None`.
    pub(super) fn route_with_room(&mut self, model: usize, request: &Request) -> Option<usize> {
        if self.config.models[model].routing.cache_aware() {
            return self.route_by_cache(model, request, true);
        }
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
            RoutingPolicy::PrefixAffinity { .. }
            | RoutingPolicy::KvAware { .. }
            | RoutingPolicy::LeastLoadedCache { .. } => unreachable!("routed by cache"),
        };
        Some(router.ready[index])
    }

    /// Sends `request` (already counted as an arrival of `model`'s group) to a replica,
    /// or holds it in the router's backlog, or drops it. While the backlog holds
    /// requests, new ones join it in order: the backlog goes out first, by the routing
    /// policy, to replicas with room ([`Cluster::settle_backlog`]), and while it is not
    /// empty no ready replica has room.
    pub(super) fn dispatch(
        &mut self,
        model: usize,
        request: Request,
        ctx: &mut Context<ClusterEvent>,
    ) {
        let owner = self.owner(model);
        let backlog = !self.routers[owner].pending.is_empty();
        match (!backlog).then(|| self.route(owner, &request)).flatten() {
            Some(r) => self.send(r, request, ctx),
            None => {
                let max_queue = self.config.models[owner].max_queue.map(|q| q as usize);
                let pending = &mut self.routers[owner].pending;
                if max_queue.is_some_and(|q| pending.len() >= q) {
                    self.chains.release(&request);
                    self.per_model[owner]
                        .outcomes
                        .record_drop(&request, ctx.now());
                } else {
                    pending.push_back(request);
                }
            }
        }
    }

    /// Hands replica `r` a request and starts it: see [`Cluster::enqueue`].
    pub(super) fn send(&mut self, r: usize, request: Request, ctx: &mut Context<ClusterEvent>) {
        if self.enqueue(r, request, ctx.now()) {
            self.kick(r, ctx);
        }
    }

    /// Queues a request at replica `r`: refused if it can never be served, dropped if
    /// the replica's queue is full. Says whether it was queued (the caller starts the
    /// replica: once per batch of requests, so dynamic batching sees them together).
    pub(super) fn enqueue(&mut self, r: usize, request: Request, now: SimTime) -> bool {
        let owner = self.replicas[r].owner;
        let max_queue = self.config.models[owner].max_queue.map(|q| q as usize);
        let server = &mut self.replicas[r].server;
        let Some((mut admitted, cut)) = server.admit(request) else {
            self.chains.release(&request);
            self.attribute(owner, Some(r));
            self.per_model[owner].outcomes.record_reject(&request, now);
            self.attribute(owner, None);
            return false;
        };
        if max_queue.is_some_and(|q| server.queued() >= q) {
            self.chains.release(&request);
            self.attribute(owner, Some(r));
            self.per_model[owner].outcomes.record_drop(&request, now);
            self.attribute(owner, None);
            return false;
        }
        if cut {
            self.per_model[owner].outcomes.record_truncation(&admitted);
        }
        if request.chain == 0 {
            server.enqueue(admitted);
        } else {
            // The chain was named at the group's block size: a replica naming blocks
            // at another (a variant on other hardware) takes the request plainly.
            admitted.chain = 0;
            if server.prefix_block_size() == self.prefix_block[owner] {
                server.enqueue_with_prefix(admitted, self.chains.of_mut(&request));
            } else {
                server.enqueue(admitted);
            }
            self.chains.release(&request);
        }
        true
    }

    /// Whether a replica of `owner`'s group is still booting or loading (and not
    /// already leaving).
    pub(super) fn group_starting(&self, owner: usize) -> bool {
        self.index.starting[owner] > 0
    }

    /// Hands out the backlog of `owner`'s router after a replica came up or the fleet
    /// changed: while more replicas of the group are still starting, only to replicas
    /// with room, so the first one up is not buried under it; once none is, all of
    /// it, by the routing policy, and the router is a plain router again.
    pub(super) fn settle_backlog(&mut self, owner: usize, ctx: &mut Context<ClusterEvent>) {
        if !self.routers[owner].pending.is_empty() {
            let room_only = self.group_starting(owner);
            self.hand_out_backlog(owner, room_only, ctx);
        }
    }

    /// [`Cluster::settle_backlog`] for every router that holds a backlog.
    pub(super) fn settle_backlogs(&mut self, ctx: &mut Context<ClusterEvent>) {
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
    pub(super) fn hand_out_backlog(
        &mut self,
        owner: usize,
        room_only: bool,
        ctx: &mut Context<ClusterEvent>,
    ) {
        let mut fed: Vec<usize> = Vec::new();
        while let Some(front) = self.routers[owner].pending.front().copied() {
            let chosen = if room_only {
                self.route_with_room(owner, &front)
            } else {
                self.route(owner, &front)
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
    pub(super) fn feed_replica(&mut self, r: usize, ctx: &mut Context<ClusterEvent>) {
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
}
