//! What the cluster asks of a replica, whatever it serves: the [`Replica`] trait. A new
//! kind of replica is one file implementing it plus its arm in
//! [`Serving`](crate::Serving) (see ARCHITECTURE.md, "Where to add things").
//!
//! The cluster drives a replica from outside: it queues requests ([`Replica::enqueue`]),
//! asks it to start work ([`Replica::start`], answered with a [`NextStep`]), and tells it
//! when that work is done ([`Replica::complete`]). Outcomes go to the model's
//! [`Outcomes`], which all its replicas share.

use inferscale_engine::{SimDuration, SimTime};

use crate::{Outcomes, Request};

/// What a replica's prompts cost and what its prefix cache saved, over the statistics
/// window (counted at admission; sums over replicas, models and intervals).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrefixStats {
    /// Prompt tokens computed (prefilled).
    pub prefill_tokens: u64,
    /// Prompt tokens taken from the prefix cache instead of computed.
    pub cached_tokens: u64,
    /// Full prompt blocks looked up in the cache (up to each prompt's hit limit).
    pub queried_blocks: u64,
    /// Of those, blocks found cached.
    pub hit_blocks: u64,
}

impl PrefixStats {
    /// The sum of two counts.
    pub fn plus(self, o: PrefixStats) -> PrefixStats {
        PrefixStats {
            prefill_tokens: self.prefill_tokens + o.prefill_tokens,
            cached_tokens: self.cached_tokens + o.cached_tokens,
            queried_blocks: self.queried_blocks + o.queried_blocks,
            hit_blocks: self.hit_blocks + o.hit_blocks,
        }
    }

    /// The counts gained since `earlier`.
    pub fn since(self, earlier: PrefixStats) -> PrefixStats {
        PrefixStats {
            prefill_tokens: self.prefill_tokens - earlier.prefill_tokens,
            cached_tokens: self.cached_tokens - earlier.cached_tokens,
            queried_blocks: self.queried_blocks - earlier.queried_blocks,
            hit_blocks: self.hit_blocks - earlier.hit_blocks,
        }
    }

    /// Share of looked-up blocks found cached (NaN when none was looked up).
    pub fn block_hit_rate(&self) -> f64 {
        self.hit_blocks as f64 / self.queried_blocks as f64
    }

    /// Share of prompt tokens taken from the cache (NaN when there were none).
    pub fn token_hit_rate(&self) -> f64 {
        self.cached_tokens as f64 / (self.cached_tokens + self.prefill_tokens) as f64
    }
}

/// What a replica wants after being asked to start work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// A batch or iteration started and ends after this long.
    Busy(SimDuration),
    /// Nothing to start before this instant (a batch-delay timer).
    WaitUntil(SimTime),
    /// Nothing to do.
    Idle,
}

/// One replica of a model, driven by the cluster.
///
/// Methods without a default are the lifecycle every kind has; the defaulted ones
/// describe a KV cache and preemption, which a kind without them need not mention.
pub trait Replica: Send {
    /// The request as this replica would take it (cut to its context, and whether it
    /// was), or `None` when it can never serve it (the cluster records a reject).
    fn admit(&self, request: Request) -> Option<(Request, bool)> {
        Some((request, false))
    }

    /// Adds an admitted request to its queue.
    fn enqueue(&mut self, request: Request);

    /// [`Replica::enqueue`] for a request whose prompt's full KV blocks are named by
    /// `chain` ([`chain_of_segments`](crate::prefix_cache::chain_of_segments) at
    /// [`Replica::prefix_block_size`]): a replica with a prefix cache reuses what of it
    /// is cached. Kinds without one queue it plainly. The replica may keep `chain`'s
    /// buffer, leaving another in its place (its contents unspecified), so a chain
    /// handed over is moved, not copied.
    fn enqueue_with_prefix(&mut self, request: Request, _chain: &mut Vec<u64>) {
        self.enqueue(request);
    }

    /// The block size its prefix cache names blocks at, if it caches prefixes.
    fn prefix_block_size(&self) -> Option<u32> {
        None
    }

    /// How many of the first `limit` blocks of `chain` it holds cached now (what a
    /// cache-aware router weighs); 0 without a prefix cache. An LLM replica answers
    /// by bisection (O(log limit) lookups), exact while a cached block's prefix is
    /// cached, which its eviction order keeps.
    fn cached_prefix(&self, _chain: &[u64], _limit: usize) -> usize {
        0
    }

    /// Its prompts' prefill and prefix-cache counts over the statistics window.
    fn prefix_stats(&self) -> PrefixStats {
        PrefixStats::default()
    }

    /// [`Replica::prefix_stats`] over the whole run, warm-up included.
    fn prefix_stats_run(&self) -> PrefixStats {
        PrefixStats::default()
    }

    /// Starts work if it can: the cluster schedules the completion of a
    /// [`NextStep::Busy`] step, or a timer for [`NextStep::WaitUntil`].
    fn start(&mut self, now: SimTime, out: &mut Outcomes) -> NextStep;

    /// Ends the step that [`Replica::start`] began, recording what finished.
    fn complete(&mut self, now: SimTime, out: &mut Outcomes);

    /// Requests it holds: waiting or running.
    fn outstanding(&self) -> usize;

    /// Requests waiting to start.
    fn queued(&self) -> usize;

    /// Whether the router's backlog may feed it another request now (it would start
    /// it at once).
    fn has_room(&self) -> bool;

    /// Time spent working since it was created.
    fn busy(&self) -> SimDuration;

    /// Time spent working within the statistics window, up to `end` (the step in
    /// progress included).
    fn busy_in_window(&self, end: SimTime) -> SimDuration;

    /// Calls `f` with every request it holds and its first token's time, if it came.
    fn for_each_outstanding(&self, f: &mut dyn FnMut(&Request, Option<SimTime>));

    /// Ends every request it holds as dropped (killed or reclaimed); returns how many.
    fn abort_all(&mut self, now: SimTime, out: &mut Outcomes) -> u64;

    /// KV blocks (in use, total); `(0, 0)` without a KV cache.
    fn kv_blocks(&self) -> (u64, u64) {
        (0, 0)
    }

    /// KV blocks in use integrated over the statistics window up to `end`
    /// (block-seconds), and its blocks; `(0.0, 0)` without a KV cache.
    fn kv_block_seconds(&self, _end: SimTime) -> (f64, u64) {
        (0.0, 0)
    }

    /// Requests it preempted.
    fn preemptions(&self) -> u64 {
        0
    }
}

/// What is left of a replica that has gone: its final measurements, so that the
/// replica's own state (queues, KV slots, timers) is freed when it goes and the live
/// fleet alone holds memory. It holds nothing and is never routed to.
pub(crate) struct GoneReplica {
    busy: SimDuration,
    busy_in_window: SimDuration,
    kv_block_seconds: (f64, u64),
    preemptions: u64,
    prefix_stats: PrefixStats,
    prefix_stats_run: PrefixStats,
}

impl GoneReplica {
    /// The final measurements of `replica`, gone at `now` (with nothing outstanding).
    pub(crate) fn of(replica: &dyn Replica, now: SimTime) -> Self {
        debug_assert_eq!(replica.outstanding(), 0, "a replica goes empty");
        GoneReplica {
            busy: replica.busy(),
            busy_in_window: replica.busy_in_window(now),
            kv_block_seconds: replica.kv_block_seconds(now),
            preemptions: replica.preemptions(),
            prefix_stats: replica.prefix_stats(),
            prefix_stats_run: replica.prefix_stats_run(),
        }
    }
}

/// Its measurements are those at the moment it went, whatever later `end` is asked.
impl Replica for GoneReplica {
    fn admit(&self, _request: Request) -> Option<(Request, bool)> {
        None
    }

    fn enqueue(&mut self, _request: Request) {
        debug_assert!(false, "a gone replica takes no requests");
    }

    fn start(&mut self, _now: SimTime, _out: &mut Outcomes) -> NextStep {
        NextStep::Idle
    }

    fn complete(&mut self, _now: SimTime, _out: &mut Outcomes) {}

    fn outstanding(&self) -> usize {
        0
    }

    fn queued(&self) -> usize {
        0
    }

    fn has_room(&self) -> bool {
        false
    }

    fn busy(&self) -> SimDuration {
        self.busy
    }

    fn busy_in_window(&self, _end: SimTime) -> SimDuration {
        self.busy_in_window
    }

    fn for_each_outstanding(&self, _f: &mut dyn FnMut(&Request, Option<SimTime>)) {}

    fn abort_all(&mut self, _now: SimTime, _out: &mut Outcomes) -> u64 {
        0
    }

    fn kv_block_seconds(&self, _end: SimTime) -> (f64, u64) {
        self.kv_block_seconds
    }

    fn preemptions(&self) -> u64 {
        self.preemptions
    }

    fn prefix_stats(&self) -> PrefixStats {
        self.prefix_stats
    }

    fn prefix_stats_run(&self) -> PrefixStats {
        self.prefix_stats_run
    }
}

/// A kind of replica the cluster does not know by name — one defined in another crate
/// or in a test — given as [`Serving::Custom`](crate::Serving::Custom): what the
/// cluster needs to place, load and create its replicas.
pub trait ReplicaKind: Send + Sync + std::fmt::Debug {
    /// Accelerators one replica occupies on its node.
    fn accelerators(&self) -> u32;
    /// Name of the model it serves (the catalog entry).
    fn model_name(&self) -> &str;
    /// Bytes of weights loaded onto a node before the replica is ready.
    fn weight_bytes(&self) -> f64;
    /// A new, empty replica that keeps its statistics from `stats_from` on.
    fn new_replica(&self, stats_from: SimTime) -> Box<dyn Replica>;
}
