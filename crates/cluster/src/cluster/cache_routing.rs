//! The cache-aware routing policies: prefix affinity (consistent hashing with bounded
//! loads), llm-d's weighted KV-aware scorers, and least-loaded with a cache bonus.
//!
//! Each looks at every ready replica once: O(replicas) per request, plus, for the two
//! that weigh cached prefixes, each replica's lookup of the request's leading blocks
//! in its own cache (one hash lookup per block it holds, and one more).

use inferscale_engine::mix64;
use inferscale_workload::Request;
use rand::Rng;

use super::{Cluster, RoutingPolicy};
use crate::prefix_cache::hit_limit;

impl Cluster {
    /// Picks a ready replica of `owner`'s group for `request` by its cache-aware
    /// routing policy (with `room_only`, among replicas with room), or `None`.
    pub(super) fn route_by_cache(
        &mut self,
        owner: usize,
        request: &Request,
        room_only: bool,
    ) -> Option<usize> {
        let policy = self.config.models[owner].routing;
        let chain = self.chains.of(request);
        let limit = self.prefix_block[owner]
            .map_or(0, |size| hit_limit(u64::from(request.prompt), size))
            .min(chain.len());
        let router = &mut self.routers[owner];
        let replicas = &self.replicas;
        let ok = |r: &usize| !room_only || replicas[*r].server.has_room();
        let outstanding = |r: usize| replicas[r].server.outstanding();
        // The share of the prompt's looked-up blocks cached at `r`.
        let cached_share = |r: usize| {
            if limit == 0 {
                0.0
            } else {
                replicas[r].server.cached_prefix(chain, limit) as f64 / limit as f64
            }
        };
        let least_outstanding = || {
            router
                .ready
                .iter()
                .copied()
                .filter(ok)
                .min_by_key(|&r| (outstanding(r), r))
        };
        match policy {
            RoutingPolicy::PrefixAffinity {
                prefix_blocks,
                load_factor,
            } => {
                let Some(&key) =
                    chain.get((prefix_blocks as usize).min(chain.len()).wrapping_sub(1))
                else {
                    return least_outstanding();
                };
                let (mut n, mut total) = (0usize, 0usize);
                for &r in router.ready.iter().filter(|r| ok(r)) {
                    n += 1;
                    total += outstanding(r);
                }
                if n == 0 {
                    return None;
                }
                // Room for the new request at the most loaded replica allowed: the
                // mean with it counted, times the factor (Mirrokni et al.'s ⌈c·m/n⌉).
                let cap = (load_factor * (total + 1) as f64 / n as f64).ceil() as usize;
                router
                    .ready
                    .iter()
                    .copied()
                    .filter(ok)
                    .filter(|&r| outstanding(r) < cap)
                    .max_by_key(|&r| (mix64(key ^ mix64(r as u64)), r))
                    .or_else(least_outstanding)
            }
            RoutingPolicy::KvAware {
                prefix,
                queue,
                running,
                kv_utilization,
            } => {
                // The ranges the queue and running scores are normalised over.
                let (mut q_min, mut q_max, mut r_min, mut r_max) =
                    (usize::MAX, 0usize, usize::MAX, 0usize);
                for &r in router.ready.iter().filter(|r| ok(r)) {
                    let (q, all) = (replicas[r].server.queued(), outstanding(r));
                    (q_min, q_max) = (q_min.min(q), q_max.max(q));
                    (r_min, r_max) = (r_min.min(all - q), r_max.max(all - q));
                }
                let normalised = |x: usize, lo: usize, hi: usize| {
                    if hi > lo {
                        (hi - x) as f64 / (hi - lo) as f64
                    } else {
                        1.0
                    }
                };
                let (mut best, mut best_score, mut ties) = (None, f64::NEG_INFINITY, 0u64);
                for &r in router.ready.iter().filter(|r| ok(r)) {
                    let server = &replicas[r].server;
                    let q = server.queued();
                    let run = server.outstanding() - q;
                    let (used, blocks) = server.kv_blocks();
                    let free = if blocks == 0 {
                        1.0
                    } else {
                        1.0 - used as f64 / blocks as f64
                    };
                    let mut score = queue * normalised(q, q_min, q_max)
                        + running * normalised(run, r_min, r_max)
                        + kv_utilization * free;
                    if prefix > 0.0 {
                        score += prefix * cached_share(r);
                    }
                    // The best, ties broken uniformly (reservoir sampling over them).
                    if score > best_score {
                        (best, best_score, ties) = (Some(r), score, 1);
                    } else if score == best_score {
                        ties += 1;
                        if (u128::from(router.rng.next_u64()) * u128::from(ties)) >> 64 == 0 {
                            best = Some(r);
                        }
                    }
                }
                best
            }
            RoutingPolicy::LeastLoadedCache { bonus } => router
                .ready
                .iter()
                .copied()
                .filter(ok)
                .map(|r| (outstanding(r) as f64 - bonus * cached_share(r), r))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, r)| r),
            RoutingPolicy::RoundRobin
            | RoutingPolicy::Random
            | RoutingPolicy::LeastOutstanding
            | RoutingPolicy::ShortestQueue
            | RoutingPolicy::PowerOfTwo => least_outstanding(),
        }
    }
}
