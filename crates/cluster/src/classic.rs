//! Classic (non-generative) models — image classifiers, encoders — served with
//! dynamic batching, as Triton Inference Server does.
//!
//! A replica runs one batch at a time. When it is free and requests wait, it starts a
//! batch at once if `max_batch` requests are queued, or once the oldest request has
//! waited `max_queue_delay`, with whatever is queued then (at most `max_batch`). A
//! batch of `b` requests takes the profiled latency for `b`, interpolated linearly
//! between measured batch sizes. Every request of a batch completes when it ends.

use std::collections::VecDeque;

use inferscale_engine::{SimDuration, SimTime};

use crate::outcomes::Outcomes;
use crate::perf::interpolate;
use crate::replica::{NextStep, Replica};
use inferscale_workload::Request;

/// A classic model's measured latency per batch size, and its size.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicProfile {
    /// Model name.
    pub name: String,
    /// (batch size, seconds) points, increasing in batch size.
    pub latency: Vec<(f64, f64)>,
    /// Bytes of weights (for the load time).
    pub weight_bytes: f64,
}

impl ClassicProfile {
    /// Latency of a batch of `batch` requests.
    pub fn batch_latency(&self, batch: usize) -> SimDuration {
        SimDuration::from_secs_f64(interpolate(&self.latency, batch as f64))
    }
}

/// Dynamic-batching limits of one replica.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassicServerConfig {
    /// Largest batch.
    pub max_batch: u32,
    /// Longest a request waits for a batch to fill.
    pub max_queue_delay: SimDuration,
}

/// One replica of a classic model.
#[derive(Clone, Debug)]
pub struct ClassicReplica {
    profile: ClassicProfile,
    config: ClassicServerConfig,
    waiting: VecDeque<Request>,
    batch: Vec<Request>,
    batch_started: SimTime,
    busy: SimDuration,
    /// Busy time after `stats_from` (finished batches).
    busy_measured: SimDuration,
    stats_from: SimTime,
    batches: u64,
    batched_requests: u64,
}

impl ClassicReplica {
    /// An idle replica.
    pub fn new(profile: ClassicProfile, config: ClassicServerConfig) -> Self {
        ClassicReplica {
            profile,
            config,
            waiting: VecDeque::new(),
            batch: Vec::new(),
            batch_started: SimTime::ZERO,
            busy: SimDuration::ZERO,
            busy_measured: SimDuration::ZERO,
            stats_from: SimTime::ZERO,
            batches: 0,
            batched_requests: 0,
        }
    }

    /// Requests waiting or in the running batch.
    pub fn outstanding(&self) -> usize {
        self.waiting.len() + self.batch.len()
    }

    /// Requests waiting for a batch.
    pub fn queued(&self) -> usize {
        self.waiting.len()
    }

    /// Keeps its busy-time statistics from `from` on (the end of the warm-up).
    pub fn with_stats_from(mut self, from: SimTime) -> Self {
        self.stats_from = from;
        self
    }

    /// Ends every request it holds as dropped (killed or reclaimed); returns how many.
    pub fn abort_all(&mut self, now: SimTime, out: &mut crate::Outcomes) -> u64 {
        let mut dropped = 0;
        for request in self.waiting.drain(..).chain(self.batch.drain(..)) {
            out.record_drop(&request, now);
            dropped += 1;
        }
        dropped
    }

    /// Calls `f` with every request it holds (none has a first token before its batch
    /// ends).
    pub fn for_each_outstanding(&self, mut f: impl FnMut(&Request, Option<SimTime>)) {
        for request in self.waiting.iter().chain(&self.batch) {
            f(request, None);
        }
    }

    /// Whether it could start a full batch with what it holds: the router's backlog
    /// feeds it only while it has room.
    pub fn has_room(&self) -> bool {
        self.outstanding() < self.config.max_batch.max(1) as usize
    }

    /// Adds a request to the queue.
    pub fn enqueue(&mut self, request: Request) {
        self.waiting.push_back(request);
    }

    /// Time spent running batches.
    pub fn busy(&self) -> SimDuration {
        self.busy
    }

    /// Time spent running batches within `[stats_from, end]`, the batch in progress
    /// included.
    pub fn busy_in_window(&self, end: SimTime) -> SimDuration {
        let running = if self.batch.is_empty() {
            SimDuration::ZERO
        } else {
            end.saturating_since(self.batch_started.max(self.stats_from))
        };
        self.busy_measured + running
    }

    /// Mean batch size so far.
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.batched_requests as f64 / self.batches as f64
        }
    }

    /// Starts a batch if the dynamic-batching rule allows one now.
    pub fn start(&mut self, now: SimTime) -> NextStep {
        if !self.batch.is_empty() {
            return NextStep::Idle;
        }
        let Some(oldest) = self.waiting.front() else {
            return NextStep::Idle;
        };
        let max = self.config.max_batch.max(1) as usize;
        let deadline = oldest.arrival + self.config.max_queue_delay;
        if self.waiting.len() < max && now < deadline {
            return NextStep::WaitUntil(deadline);
        }
        let take = self.waiting.len().min(max);
        self.batch.extend(self.waiting.drain(..take));
        self.batch_started = now;
        self.batches += 1;
        self.batched_requests += take as u64;
        NextStep::Busy(self.profile.batch_latency(take))
    }

    /// Ends the running batch: every request in it completes now.
    pub fn complete(&mut self, now: SimTime, out: &mut Outcomes) {
        self.busy = self.busy + (now - self.batch_started);
        self.busy_measured =
            self.busy_measured + now.saturating_since(self.batch_started.max(self.stats_from));
        for request in self.batch.drain(..) {
            out.record_scheduled(&request, self.batch_started);
            out.record_first_token(&request, now);
            out.record_completion(&request, now, now);
        }
    }
}

/// The cluster's view of a classic replica: no KV cache, no preemption, a request
/// taken whole.
impl Replica for ClassicReplica {
    fn enqueue(&mut self, request: Request) {
        ClassicReplica::enqueue(self, request);
    }

    fn start(&mut self, now: SimTime, _out: &mut Outcomes) -> NextStep {
        ClassicReplica::start(self, now)
    }

    fn complete(&mut self, now: SimTime, out: &mut Outcomes) {
        ClassicReplica::complete(self, now, out);
    }

    fn outstanding(&self) -> usize {
        ClassicReplica::outstanding(self)
    }

    fn queued(&self) -> usize {
        ClassicReplica::queued(self)
    }

    fn has_room(&self) -> bool {
        ClassicReplica::has_room(self)
    }

    fn busy(&self) -> SimDuration {
        ClassicReplica::busy(self)
    }

    fn busy_in_window(&self, end: SimTime) -> SimDuration {
        ClassicReplica::busy_in_window(self, end)
    }

    fn for_each_outstanding(&self, f: &mut dyn FnMut(&Request, Option<SimTime>)) {
        ClassicReplica::for_each_outstanding(self, f);
    }

    fn abort_all(&mut self, now: SimTime, out: &mut Outcomes) -> u64 {
        ClassicReplica::abort_all(self, now, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::Sla;

    fn replica(max_batch: u32, delay_ms: u64) -> ClassicReplica {
        ClassicReplica::new(
            ClassicProfile {
                name: "resnet".into(),
                latency: vec![(1.0, 0.010), (8.0, 0.020), (32.0, 0.060)],
                weight_bytes: 1e8,
            },
            ClassicServerConfig {
                max_batch,
                max_queue_delay: SimDuration::from_millis(delay_ms),
            },
        )
    }

    fn req(ms: u64) -> Request {
        Request {
            id: 0,
            arrival: SimTime::from_nanos(ms * 1_000_000),
            prompt: 0,
            output: 1,
            chain: 0,
        }
    }

    #[test]
    fn a_full_batch_starts_at_once_and_takes_its_profiled_latency() {
        let mut r = replica(8, 100);
        for _ in 0..10 {
            r.enqueue(req(0));
        }
        assert_eq!(
            r.start(SimTime::ZERO),
            NextStep::Busy(SimDuration::from_millis(20))
        );
        assert_eq!((r.queued(), r.outstanding()), (2, 10));
        // Busy: nothing else starts.
        assert_eq!(r.start(SimTime::ZERO), NextStep::Idle);
        let mut out = Outcomes::new(Sla::default());
        r.complete(SimTime::from_nanos(20_000_000), &mut out);
        assert_eq!(out.completed, 8);
        assert!((out.e2e.mean_s() - 0.020).abs() < 1e-12);
    }

    #[test]
    fn a_partial_batch_waits_for_the_queue_delay() {
        let mut r = replica(8, 5);
        r.enqueue(req(1));
        r.enqueue(req(3));
        assert_eq!(
            r.start(SimTime::from_nanos(3_000_000)),
            NextStep::WaitUntil(SimTime::from_nanos(6_000_000))
        );
        // At the deadline the two go as a batch: 10 ms + 1/7 of the way to 20 ms.
        let NextStep::Busy(d) = r.start(SimTime::from_nanos(6_000_000)) else {
            panic!()
        };
        assert!((d.as_secs_f64() - (0.010 + 0.010 / 7.0)).abs() < 1e-9);
        assert_eq!(r.mean_batch(), 2.0);
    }
}
