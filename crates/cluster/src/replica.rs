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
