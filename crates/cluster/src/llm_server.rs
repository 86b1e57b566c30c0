//! One LLM replica serving requests with iteration-level (continuous) batching, as
//! vLLM does: a FCFS waiting queue, a paged KV cache, prefill-prioritising scheduling,
//! and preemption by recompute when the cache runs out.
//!
//! # Scheduling (vLLM v0 default, no chunked prefill)
//!
//! Before each iteration the scheduler first tries to admit waiting requests, in
//! arrival order, while the running set stays under `max_batch`, the prompt tokens of
//! the iteration under `max_batched_tokens`, and the free KV blocks above the
//! watermark. If it admitted any, the iteration is a prefill of exactly those requests
//! (each produces its first token). Otherwise every running request decodes one token;
//! a request whose stored tokens fill its last block needs a new block first, and if
//! the cache has none left the most recently admitted requests are preempted (their
//! blocks freed, and they return to the head of the queue to be recomputed).
//!
//! # Chunked prefill (optional)
//!
//! With `chunked_prefill` every iteration decodes all running requests and fills the
//! rest of the token budget with prompt chunks (Sarathi-Serve, vLLM's
//! `enable_chunked_prefill`): first the chunks of requests already being prefilled, in
//! admission order, then newly admitted requests. Long prompts then no longer stall
//! decoding, at the price of a slightly later first token. KV blocks for the whole
//! prompt are reserved at admission, as vLLM does.
//!
//! # Cost per iteration
//!
//! Nothing here walks the running batch per iteration. Decoding requests advance in
//! lock step, so the scheduler keeps counters: the number decoding, the sum of their
//! context lengths, and — because a request needs a new block exactly when its stored
//! length is a multiple of the block size — how many requests sit in each of the
//! `block_size` phases. Completions come off a heap keyed by the decode step at which
//! each request finishes. An iteration costs O(admitted + finished · log n).
//!
//! # Structure
//!
//! [`LlmReplica`] is the scheduler and cache of one replica, driven from outside: a
//! request is [`enqueue`](LlmReplica::enqueue)d, an iteration is
//! [`start`](LlmReplica::start_iteration)ed (which says how long it takes) and later
//! [`complete`](LlmReplica::complete_iteration)d. Per-request results go to an
//! [`LlmOutcomes`] that the caller owns, so many replicas of a model share one set of
//! histograms. [`simulate_llm_server`] drives a single replica from a request stream;
//! the cluster model drives many.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use inferscale_engine::{Context, Model, SimDuration, SimTime, Simulation};

use crate::metrics::{LatencyRecorder, TimeAverage};
use crate::perf::{BatchWork, Roofline};

/// Limits of one replica's scheduler and KV cache.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmServerConfig {
    /// Most requests running at once (vLLM `max_num_seqs`).
    pub max_batch: u32,
    /// Most prompt tokens processed in one iteration (vLLM `max_num_batched_tokens`).
    pub max_batched_tokens: u32,
    /// Tokens per KV-cache block (vLLM `block_size`).
    pub block_size: u32,
    /// KV-cache blocks of the replica.
    pub kv_blocks: u64,
    /// Blocks kept free when admitting (vLLM `watermark`, a share of `kv_blocks`).
    pub watermark_blocks: u64,
    /// Mix prompt chunks into decode iterations instead of running prefill-only
    /// iterations (vLLM `enable_chunked_prefill`).
    pub chunked_prefill: bool,
    /// Drop a request still waiting for its first admission this long after it
    /// arrived (`None`: wait forever).
    pub timeout: Option<SimDuration>,
    /// Longest sequence, prompt plus output, in tokens (vLLM `max_model_len`,
    /// by default the model's context; `None`: no limit). A prompt that leaves no
    /// room for an output token is refused; an output that would run past it stops
    /// there, as vLLM's does (`finish_reason: length`).
    pub max_model_len: Option<u32>,
}

impl LlmServerConfig {
    /// vLLM's defaults (256 sequences, 16-token blocks, 1% watermark) with the KV
    /// capacity of `roofline` after a `memory_margin` share of memory is set aside.
    pub fn vllm_defaults(roofline: &Roofline, memory_margin: f64, max_batched_tokens: u32) -> Self {
        let block_size = 16;
        let kv_blocks = (roofline.kv_capacity_tokens(memory_margin) / f64::from(block_size)) as u64;
        LlmServerConfig {
            max_batch: 256,
            max_batched_tokens,
            block_size,
            kv_blocks,
            watermark_blocks: kv_blocks / 100,
            chunked_prefill: false,
            timeout: None,
            max_model_len: Some(roofline.model().max_context),
        }
    }
}

/// One request for an LLM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlmRequest {
    /// When it arrives.
    pub arrival: SimTime,
    /// Prompt tokens.
    pub prompt: u32,
    /// Output tokens to generate (at least 1).
    pub output: u32,
}

/// What a replica measured.
#[derive(Clone, Debug)]
pub struct LlmReport {
    /// Requests that arrived.
    pub arrivals: u64,
    /// Requests that finished.
    pub completed: u64,
    /// Requests refused because they can never fit (prompt over the token budget
    /// without chunked prefill, or over the KV cache). Counted, never silently lost.
    pub rejected: u64,
    /// Requests dropped after waiting past the timeout.
    pub dropped: u64,
    /// Requests waiting or running at the end.
    pub in_flight_at_end: u64,
    /// Arrival → first token.
    pub ttft: LatencyRecorder,
    /// (end-to-end − TTFT) / (output − 1), per request with more than one token.
    pub tpot: LatencyRecorder,
    /// Arrival → last token.
    pub e2e: LatencyRecorder,
    /// Output tokens produced.
    pub output_tokens: u64,
    /// Time of the last completion, seconds.
    pub last_completion_s: f64,
    /// Iterations run, and of those how many were prefills.
    pub iterations: u64,
    /// Prefill iterations.
    pub prefill_iterations: u64,
    /// Preemptions (a request may be preempted more than once).
    pub preemptions: u64,
    /// Largest number of KV blocks in use.
    pub peak_kv_blocks: u64,
    /// Time-average share of KV blocks in use.
    pub mean_kv_utilization: f64,
    /// Time-average number of requests in the system (waiting or running).
    pub mean_in_system: f64,
    /// Mean number of requests per decode iteration.
    pub mean_decode_batch: f64,
    /// Events the engine processed.
    pub events: u64,
}

/// A request's state while it is in the replica.
#[derive(Clone, Copy, Debug)]
struct Slot {
    request: LlmRequest,
    /// Tokens generated so far.
    generated: u32,
    /// Decode counter when it (re)joined the decode set, and its stored tokens then.
    joined_at: u64,
    stored_at_join: u64,
    /// Bumped when the request leaves the decode set, invalidating heap entries. It
    /// belongs to the slot, not the request: a reused slot carries it on, so a heap
    /// entry left by an earlier occupant can never match a later one.
    epoch: u32,
    /// Key in the running map (admission order).
    admit_seq: u64,
    /// When the first token came out, once it has.
    first_token_at: Option<SimTime>,
    /// Whether it is in the decode set (else waiting or being prefilled).
    decoding: bool,
    /// Prompt tokens (plus recomputed output) already prefilled, chunked mode.
    prefilled: u32,
}

impl Slot {
    fn stored(&self, decode_counter: u64) -> u64 {
        self.stored_at_join + (decode_counter - self.joined_at)
    }
}

/// What the iteration in progress is doing.
enum Iteration {
    Idle,
    Prefill,
    Decode,
    /// Chunked mode: decode of every running request plus prompt chunks.
    Mixed,
}

/// Latency targets a request is judged against; a missing target always passes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LlmSla {
    /// Arrival → first token.
    pub ttft: Option<SimDuration>,
    /// Mean time per output token after the first.
    pub tpot: Option<SimDuration>,
    /// Arrival → last token.
    pub e2e: Option<SimDuration>,
}

impl LlmSla {
    /// The instant after which a request that arrived as `request`, with its first
    /// token at `first_token` (if it came), can no longer meet every target: the
    /// earliest of the end-to-end target and the latest completion the TTFT and TPOT
    /// targets allow (or, before its first token, the TTFT target alone). `None` when
    /// no target bounds it (no targets, or only TTFT and the first token came).
    pub fn deadline(&self, request: &LlmRequest, first_token: Option<SimTime>) -> Option<SimTime> {
        let tokens_after_first = u64::from(request.output.saturating_sub(1));
        let tpot_budget =
            |t: SimDuration| SimDuration::from_nanos(t.as_nanos() * tokens_after_first);
        let mut bounds = Vec::with_capacity(3);
        if let Some(e2e) = self.e2e {
            bounds.push(request.arrival + e2e);
        }
        match (first_token, self.ttft, self.tpot) {
            (None, Some(ttft), Some(tpot)) => {
                bounds.push(request.arrival + ttft + tpot_budget(tpot))
            }
            (None, Some(ttft), None) => bounds.push(request.arrival + ttft),
            (Some(first), _, Some(tpot)) => bounds.push(first + tpot_budget(tpot)),
            _ => {}
        }
        bounds.into_iter().min()
    }

    /// Whether a request still in flight has met every target it has and none is left
    /// to miss: there is no TPOT or end-to-end target, and its first token came within
    /// the TTFT target (or there is none). A request that could still miss a target
    /// with no deadline (a TPOT target before its first token) is not.
    pub fn met_before_completion(
        &self,
        request: &LlmRequest,
        first_token: Option<SimTime>,
    ) -> bool {
        self.tpot.is_none()
            && self.e2e.is_none()
            && match self.ttft {
                None => true,
                Some(ttft) => first_token.is_some_and(|t| t - request.arrival <= ttft),
            }
    }
}

/// Per-request results of one model, shared by all its replicas (and those of its
/// variants): counts, latency histograms and SLA attainment.
///
/// Every request that arrives ends in exactly one of completed, dropped (a full queue,
/// a timeout, a killed replica), rejected (it can never be served) or in flight at the
/// end; the `_measured` counts are those of requests that arrived at or after
/// `measure_from` (the end of the warm-up), which is what the latency and SLA
/// statistics cover. `met_sla` counts measured requests that completed within every
/// target of `sla`; a cluster run also judges those still in flight at its end
/// (`ModelReport::sla_met`).
#[derive(Clone, Debug)]
pub struct LlmOutcomes {
    /// The targets requests are judged against.
    pub sla: LlmSla,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Of those, requests that arrived at or after `measure_from`.
    pub arrivals_measured: u64,
    /// Requests that finished.
    pub completed: u64,
    /// Finished requests that arrived after `measure_from`.
    pub measured: u64,
    /// Of those, requests that met every target of `sla`.
    pub met_sla: u64,
    /// Requests refused because they could never be served.
    pub rejected: u64,
    /// Of those, requests that arrived after `measure_from`.
    pub rejected_measured: u64,
    /// Requests whose output was cut at the context length (`max_model_len`).
    pub truncated: u64,
    /// Of those, requests that arrived after `measure_from`.
    pub truncated_measured: u64,
    /// Requests dropped: a full queue, or a wait longer than the timeout.
    pub dropped: u64,
    /// Of those, requests that arrived after `measure_from` (they count as SLA misses).
    pub dropped_measured: u64,
    /// Requests that arrived before this instant are served but not measured (the
    /// warm-up).
    pub measure_from: SimTime,
    /// Arrival → first token.
    pub ttft: LatencyRecorder,
    /// (end-to-end − TTFT) / (output − 1), for requests with more than one token.
    pub tpot: LatencyRecorder,
    /// Arrival → last token.
    pub e2e: LatencyRecorder,
    /// Output tokens of finished requests.
    pub output_tokens: u64,
    /// Output tokens of finished measured requests.
    pub output_tokens_measured: u64,
    /// When the last request finished.
    pub last_completion: SimTime,
    /// TTFT of first tokens since the last [`LlmOutcomes::start_window`], whatever
    /// the warm-up: the time series' per-interval view.
    pub window_ttft: LatencyRecorder,
    /// End-to-end latency of completions since the last window start.
    pub window_e2e: LatencyRecorder,
    /// TTFTs (ns) since the scaling loop's last tick, only kept when a loop runs: a
    /// plain buffer cleared each tick (a histogram would cost a 264 KiB reset and a
    /// full scan per tick), so memory is bounded by one interval's first tokens.
    pub tick_ttft: Option<Vec<u64>>,
    /// Time the requests that have left (finished, dropped or rejected) spent in the
    /// system from `measure_from` on, nanoseconds: with the requests still in flight,
    /// the integral of the number in the system (each request adds its own time, so
    /// nothing is updated on arrival).
    departed_in_system_ns: u128,
}

impl LlmOutcomes {
    /// Empty outcomes judged against `sla`, measuring from time zero.
    pub fn new(sla: LlmSla) -> Self {
        Self::measured_from(sla, SimTime::ZERO)
    }

    /// Empty outcomes judged against `sla`, measuring requests that arrive from `from`
    /// on (the end of the warm-up).
    pub fn measured_from(sla: LlmSla, from: SimTime) -> Self {
        LlmOutcomes {
            sla,
            arrivals: 0,
            arrivals_measured: 0,
            completed: 0,
            measured: 0,
            met_sla: 0,
            rejected: 0,
            rejected_measured: 0,
            truncated: 0,
            truncated_measured: 0,
            dropped: 0,
            dropped_measured: 0,
            measure_from: from,
            ttft: LatencyRecorder::new(),
            tpot: LatencyRecorder::new(),
            e2e: LatencyRecorder::new(),
            output_tokens: 0,
            output_tokens_measured: 0,
            last_completion: SimTime::ZERO,
            window_ttft: LatencyRecorder::new(),
            window_e2e: LatencyRecorder::new(),
            tick_ttft: None,
            departed_in_system_ns: 0,
        }
    }

    /// Starts a new time-series window: clears the window histograms.
    pub fn start_window(&mut self) {
        self.window_ttft.reset();
        self.window_e2e.reset();
    }

    /// The time `request`, still in the system at `end`, has spent in it since
    /// `measure_from`: its share of [`LlmOutcomes::mean_in_system`]'s integral.
    pub fn in_system_ns(&self, request: &LlmRequest, end: SimTime) -> u128 {
        u128::from(
            end.saturating_since(request.arrival.max(self.measure_from))
                .as_nanos(),
        )
    }

    /// Time-average number of requests in the system over `[measure_from, end]`, given
    /// the [`LlmOutcomes::in_system_ns`] of the requests still in it summed.
    pub fn mean_in_system(&self, end: SimTime, in_flight_ns: u128) -> f64 {
        let span = end.saturating_since(self.measure_from).as_nanos();
        if span == 0 {
            0.0
        } else {
            (self.departed_in_system_ns + in_flight_ns) as f64 / span as f64
        }
    }

    /// A request leaves the system at `now`.
    fn depart(&mut self, request: &LlmRequest, now: SimTime) {
        self.departed_in_system_ns += self.in_system_ns(request, now);
    }

    fn measured(&self, request: &LlmRequest) -> bool {
        request.arrival >= self.measure_from
    }

    /// Counts an arrival.
    pub fn record_arrival(&mut self, request: &LlmRequest) {
        self.arrivals += 1;
        if self.measured(request) {
            self.arrivals_measured += 1;
        }
    }

    /// Counts a request refused as impossible to serve.
    pub fn record_reject(&mut self, request: &LlmRequest, now: SimTime) {
        self.rejected += 1;
        if self.measured(request) {
            self.rejected_measured += 1;
        }
        self.depart(request, now);
    }

    /// Counts a request whose output was cut at the context length.
    pub fn record_truncation(&mut self, request: &LlmRequest) {
        self.truncated += 1;
        if self.measured(request) {
            self.truncated_measured += 1;
        }
    }

    /// Counts a dropped request (a full queue, a timeout, a replica killed under it).
    pub fn record_drop(&mut self, request: &LlmRequest, now: SimTime) {
        self.dropped += 1;
        if self.measured(request) {
            self.dropped_measured += 1;
        }
        self.depart(request, now);
    }

    /// Records `request`'s first token at `now`: a replica calls it once per request,
    /// before [`LlmOutcomes::record_completion`].
    pub fn record_first_token(&mut self, request: &LlmRequest, now: SimTime) {
        self.window_ttft.record(now - request.arrival);
        if let Some(tick) = self.tick_ttft.as_mut() {
            tick.push((now - request.arrival).as_nanos());
        }
        if self.measured(request) {
            self.ttft.record(now - request.arrival);
        }
    }

    /// Records `request`'s completion at `now`, its first token having come at
    /// `first_token`, and judges it against the SLA.
    pub fn record_completion(&mut self, request: &LlmRequest, first_token: SimTime, now: SimTime) {
        self.completed += 1;
        self.output_tokens += u64::from(request.output);
        self.last_completion = now;
        self.window_e2e.record(now - request.arrival);
        self.depart(request, now);
        if !self.measured(request) {
            return;
        }
        self.output_tokens_measured += u64::from(request.output);
        let ttft = first_token - request.arrival;
        let e2e = now - request.arrival;
        let tpot = (request.output > 1).then(|| {
            SimDuration::from_nanos((now - first_token).as_nanos() / u64::from(request.output - 1))
        });
        self.e2e.record(e2e);
        if let Some(tpot) = tpot {
            self.tpot.record(tpot);
        }
        let within = |target: Option<SimDuration>, value: Option<SimDuration>| match (target, value)
        {
            (Some(t), Some(v)) => v <= t,
            _ => true,
        };
        if within(self.sla.ttft, Some(ttft))
            && within(self.sla.tpot, tpot)
            && within(self.sla.e2e, Some(e2e))
        {
            self.met_sla += 1;
        }
        self.measured += 1;
    }
}

/// What one replica did, for utilisation and cache statistics.
#[derive(Clone, Debug)]
pub struct ReplicaStats {
    /// Iterations run.
    pub iterations: u64,
    /// Of those, iterations that processed prompt tokens.
    pub prefill_iterations: u64,
    /// Preemptions (a request may be preempted more than once).
    pub preemptions: u64,
    /// Largest number of KV blocks in use.
    pub peak_kv_blocks: u64,
    /// Sum of decode batch sizes, and decode iterations, for the mean batch.
    pub decode_batch_sum: u64,
    /// Iterations that decoded.
    pub decode_iterations: u64,
    /// Time spent in iterations.
    pub busy: SimDuration,
    /// Of that, time after the statistics start (the warm-up's end), finished
    /// iterations only.
    pub busy_measured: SimDuration,
    kv_avg: TimeAverage,
}

impl ReplicaStats {
    /// Time-average KV blocks in use over `[start, end]`.
    pub fn mean_kv_blocks(&self, end: SimTime) -> f64 {
        self.kv_avg.mean_until(end)
    }

    /// KV blocks in use integrated over `[start, end]`, block-seconds.
    pub fn kv_block_seconds(&self, end: SimTime) -> f64 {
        self.kv_avg.integral_until(end)
    }

    /// Mean requests per decode iteration.
    pub fn mean_decode_batch(&self) -> f64 {
        if self.decode_iterations == 0 {
            0.0
        } else {
            self.decode_batch_sum as f64 / self.decode_iterations as f64
        }
    }
}

/// One replica's scheduler, KV cache and running requests.
pub struct LlmReplica {
    roofline: Roofline,
    config: LlmServerConfig,

    slots: Vec<Slot>,
    free_slots: Vec<usize>,
    waiting: VecDeque<usize>,
    running: BTreeMap<u64, usize>,
    next_admit_seq: u64,

    iteration: Iteration,
    iteration_started: SimTime,
    admitted: Vec<usize>,
    /// Chunked mode: requests admitted but not fully prefilled, in admission order,
    /// and the chunks the current iteration processes.
    prefilling: VecDeque<usize>,
    chunks: Vec<(usize, u32)>,
    /// Whether the current iteration includes a decode step.
    iteration_decodes: bool,

    decode_counter: u64,
    decoding: u64,
    decode_context: u64,
    phase_counts: Vec<u64>,
    finishes: BinaryHeap<Reverse<(u64, usize, u32)>>,
    blocks_used: u64,

    stats: ReplicaStats,
    /// When statistics start (the warm-up's end).
    stats_from: SimTime,
}

impl LlmReplica {
    /// An empty replica; statistics are kept from `stats_from` on.
    pub fn new(roofline: Roofline, config: LlmServerConfig, stats_from: SimTime) -> Self {
        let block_size = config.block_size.max(1) as usize;
        LlmReplica {
            roofline,
            config,
            slots: Vec::new(),
            free_slots: Vec::new(),
            waiting: VecDeque::new(),
            running: BTreeMap::new(),
            next_admit_seq: 0,
            iteration: Iteration::Idle,
            iteration_started: SimTime::ZERO,
            admitted: Vec::new(),
            prefilling: VecDeque::new(),
            chunks: Vec::new(),
            iteration_decodes: false,
            decode_counter: 0,
            decoding: 0,
            decode_context: 0,
            phase_counts: vec![0; block_size],
            finishes: BinaryHeap::new(),
            blocks_used: 0,
            stats: ReplicaStats {
                iterations: 0,
                prefill_iterations: 0,
                preemptions: 0,
                peak_kv_blocks: 0,
                decode_batch_sum: 0,
                decode_iterations: 0,
                busy: SimDuration::ZERO,
                busy_measured: SimDuration::ZERO,
                kv_avg: TimeAverage::new(stats_from),
            },
            stats_from,
        }
    }

    /// Time spent in iterations within `[stats_from, end]`, the iteration in progress
    /// included.
    pub fn busy_in_window(&self, end: SimTime) -> SimDuration {
        let running = if self.is_busy() {
            end.saturating_since(self.iteration_started.max(self.stats_from))
        } else {
            SimDuration::ZERO
        };
        self.stats.busy_measured + running
    }

    /// Ends every request the replica holds, waiting or running, as dropped (the
    /// replica was killed or its node reclaimed), and leaves it empty and idle.
    /// Returns how many were dropped.
    pub fn abort_all(&mut self, now: SimTime, out: &mut LlmOutcomes) -> u64 {
        let mut free = vec![false; self.slots.len()];
        for &id in &self.free_slots {
            free[id] = true;
        }
        let mut dropped = 0;
        for (id, slot) in self.slots.iter().enumerate() {
            if !free[id] {
                out.record_drop(&slot.request, now);
                dropped += 1;
            }
        }
        self.free_slots = (0..self.slots.len()).rev().collect();
        self.waiting.clear();
        self.running.clear();
        self.admitted.clear();
        self.prefilling.clear();
        self.chunks.clear();
        self.finishes.clear();
        self.iteration = Iteration::Idle;
        self.iteration_decodes = false;
        self.decoding = 0;
        self.decode_context = 0;
        self.phase_counts.iter_mut().for_each(|c| *c = 0);
        self.blocks_used = 0;
        dropped
    }

    /// The scheduler limits.
    pub fn config(&self) -> &LlmServerConfig {
        &self.config
    }

    /// What the replica has done so far.
    pub fn stats(&self) -> &ReplicaStats {
        &self.stats
    }

    /// Requests waiting or running: what "least outstanding" routing compares.
    pub fn outstanding(&self) -> usize {
        self.waiting.len() + self.running.len()
    }

    /// Whether it would start another request at once were it given one: fewer than
    /// `max_batch` waiting or running. The router's backlog feeds it only while it has
    /// room.
    pub fn has_room(&self) -> bool {
        self.outstanding() < self.config.max_batch.max(1) as usize
    }

    /// Calls `f` with every request it holds, waiting or running, and its first token's
    /// time once it came (a walk over them: for the end of a run, not the hot path).
    pub fn for_each_outstanding(&self, mut f: impl FnMut(&LlmRequest, Option<SimTime>)) {
        for &id in self.waiting.iter().chain(self.running.values()) {
            let slot = &self.slots[id];
            f(&slot.request, slot.first_token_at);
        }
    }

    /// Requests waiting to be admitted: what "join the shortest queue" compares.
    pub fn queued(&self) -> usize {
        self.waiting.len()
    }

    /// Whether an iteration is in progress.
    pub fn is_busy(&self) -> bool {
        !matches!(self.iteration, Iteration::Idle)
    }

    /// KV blocks in use.
    pub fn kv_blocks_used(&self) -> u64 {
        self.blocks_used
    }

    fn blocks_for(&self, tokens: u64) -> u64 {
        tokens.div_ceil(u64::from(self.config.block_size))
    }

    /// Drops request `id`, at the head of the queue, if it was never admitted and has
    /// waited past the timeout; says whether it did.
    fn drop_if_timed_out(&mut self, id: usize, now: SimTime, out: &mut LlmOutcomes) -> bool {
        let slot = self.slots[id];
        let expired = slot.first_token_at.is_none()
            && slot.prefilled == 0
            && self
                .config
                .timeout
                .is_some_and(|t| now - slot.request.arrival > t);
        if expired {
            self.waiting.pop_front();
            out.record_drop(&slot.request, now);
            self.free_slots.push(id);
        }
        expired
    }

    /// `request` as this replica would take it — its output cut where the sequence
    /// reaches `max_model_len`, with whether it was cut — or `None` when it could never
    /// serve it (a prompt that fills the context, a prompt over the token budget
    /// without chunking, prompt plus output beyond the cache).
    pub fn admit(&self, request: LlmRequest) -> Option<(LlmRequest, bool)> {
        let (request, cut) = self.fit_to_context(request);
        self.can_serve(&request).then_some((request, cut))
    }

    /// Whether this replica could ever serve `request`, already fitted to the context.
    fn can_serve(&self, request: &LlmRequest) -> bool {
        let tokens = u64::from(request.prompt) + u64::from(request.output);
        request.output > 0
            && self.config.max_model_len.is_none_or(|m| request.prompt < m)
            && (self.config.chunked_prefill || request.prompt <= self.config.max_batched_tokens)
            && self.blocks_for(tokens)
                <= self
                    .config
                    .kv_blocks
                    .saturating_sub(self.config.watermark_blocks)
    }

    /// `request` with its output cut where the sequence reaches `max_model_len`, and
    /// whether it was cut (a prompt at or past the limit is left alone: it is refused).
    fn fit_to_context(&self, request: LlmRequest) -> (LlmRequest, bool) {
        match self.config.max_model_len {
            Some(limit)
                if request.prompt < limit
                    && u64::from(request.prompt) + u64::from(request.output) > u64::from(limit) =>
            {
                let output = limit - request.prompt;
                (LlmRequest { output, ..request }, true)
            }
            _ => (request, false),
        }
    }

    /// Adds `request` to the waiting queue, as [`Self::admit`] handed it back.
    pub fn enqueue(&mut self, request: LlmRequest) {
        let mut slot = Slot {
            request,
            generated: 0,
            joined_at: 0,
            stored_at_join: 0,
            epoch: 0,
            admit_seq: 0,
            first_token_at: None,
            decoding: false,
            prefilled: 0,
        };
        let id = match self.free_slots.pop() {
            Some(id) => {
                // Stale finish entries of earlier occupants carry epochs up to the
                // slot's current one: step past them all.
                slot.epoch = self.slots[id].epoch.wrapping_add(1);
                self.slots[id] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.waiting.push_back(id);
    }

    /// Chooses and starts the next iteration and returns its duration, or `None` when
    /// there is nothing to do (or an iteration is already in progress).
    pub fn start_iteration(&mut self, now: SimTime, out: &mut LlmOutcomes) -> Option<SimDuration> {
        if self.is_busy() {
            return None;
        }
        if self.config.chunked_prefill {
            return self.start_mixed_iteration(now, out);
        }
        // 1. Admit waiting requests for a prefill iteration.
        let mut tokens_budget = self.config.max_batched_tokens;
        let mut work = BatchWork::default();
        self.admitted.clear();
        while let Some(&id) = self.waiting.front() {
            if self.drop_if_timed_out(id, now, out) {
                continue;
            }
            let slot = self.slots[id];
            let new_tokens = slot.request.prompt + slot.generated;
            if new_tokens > self.config.max_batched_tokens {
                // A preempted request whose recompute outgrew the token budget can never
                // be scheduled again: refuse it rather than stall the queue.
                self.waiting.pop_front();
                out.record_reject(&slot.request, now);
                self.free_slots.push(id);
                continue;
            }
            let blocks = self.blocks_for(u64::from(new_tokens));
            let free = self.config.kv_blocks - self.blocks_used;
            if self.running.len() + self.admitted.len() >= self.config.max_batch as usize
                || new_tokens > tokens_budget
                || free < blocks + self.config.watermark_blocks
            {
                break;
            }
            self.waiting.pop_front();
            tokens_budget -= new_tokens;
            self.blocks_used += blocks;
            let n = f64::from(new_tokens);
            work.prefill_tokens += n;
            work.prefill_attention_pairs += BatchWork::prefill_pairs(n, 0.0);
            self.admitted.push(id);
        }
        if !self.admitted.is_empty() {
            for &id in &self.admitted {
                let seq = self.next_admit_seq;
                self.next_admit_seq += 1;
                self.slots[id].admit_seq = seq;
                self.running.insert(seq, id);
            }
            self.iteration = Iteration::Prefill;
            self.stats.prefill_iterations += 1;
            return Some(self.begin(now, &work));
        }
        // 2. Otherwise decode every running request.
        if self.decoding == 0 {
            self.iteration = Iteration::Idle;
            return None;
        }
        let phase = (self.decode_counter % u64::from(self.config.block_size)) as usize;
        while self.phase_counts[phase] > self.config.kv_blocks - self.blocks_used {
            if !self.preempt_latest(now) {
                debug_assert_eq!(self.decoding, 0, "decoding requests but none running");
                break;
            }
            if self.decoding == 0 {
                self.iteration = Iteration::Idle;
                return self.start_iteration(now, out);
            }
        }
        self.blocks_used += self.phase_counts[phase];
        work.decode_requests = self.decoding as f64;
        work.decode_context_tokens = (self.decode_context + self.decoding) as f64;
        self.stats.decode_batch_sum += self.decoding;
        self.stats.decode_iterations += 1;
        self.iteration = Iteration::Decode;
        Some(self.begin(now, &work))
    }

    /// Chunked mode: decode everything running, then fill the token budget with
    /// prompt chunks.
    fn start_mixed_iteration(
        &mut self,
        now: SimTime,
        out: &mut LlmOutcomes,
    ) -> Option<SimDuration> {
        let mut work = BatchWork::default();
        self.chunks.clear();
        // Decode part, preempting the latest admissions if the cache cannot grow.
        let phase = (self.decode_counter % u64::from(self.config.block_size)) as usize;
        while self.decoding > 0
            && self.phase_counts[phase] > self.config.kv_blocks - self.blocks_used
        {
            if !self.preempt_latest(now) {
                debug_assert_eq!(self.decoding, 0, "decoding requests but none running");
                break;
            }
        }
        self.iteration_decodes = self.decoding > 0;
        if self.iteration_decodes {
            self.blocks_used += self.phase_counts[phase];
            work.decode_requests = self.decoding as f64;
            work.decode_context_tokens = (self.decode_context + self.decoding) as f64;
            self.stats.decode_batch_sum += self.decoding;
            self.stats.decode_iterations += 1;
        }
        let mut budget = self
            .config
            .max_batched_tokens
            .saturating_sub(self.decoding as u32);
        // Chunks of requests already being prefilled.
        for &id in &self.prefilling {
            if budget == 0 {
                break;
            }
            let slot = &self.slots[id];
            let remaining = slot.request.prompt + slot.generated - slot.prefilled;
            let chunk = remaining.min(budget);
            budget -= chunk;
            work.prefill_tokens += f64::from(chunk);
            work.prefill_attention_pairs +=
                BatchWork::prefill_pairs(f64::from(chunk), f64::from(slot.prefilled));
            self.chunks.push((id, chunk));
        }
        // New admissions, reserving blocks for the whole prompt.
        while budget > 0 {
            let Some(&id) = self.waiting.front() else {
                break;
            };
            if self.drop_if_timed_out(id, now, out) {
                continue;
            }
            let slot = self.slots[id];
            let target = slot.request.prompt + slot.generated;
            let blocks = self.blocks_for(u64::from(target));
            let free = self.config.kv_blocks - self.blocks_used;
            if self.running.len() >= self.config.max_batch as usize
                || free < blocks + self.config.watermark_blocks
            {
                break;
            }
            self.waiting.pop_front();
            self.blocks_used += blocks;
            let seq = self.next_admit_seq;
            self.next_admit_seq += 1;
            self.slots[id].admit_seq = seq;
            self.slots[id].prefilled = 0;
            self.running.insert(seq, id);
            self.prefilling.push_back(id);
            let chunk = target.min(budget);
            budget -= chunk;
            work.prefill_tokens += f64::from(chunk);
            work.prefill_attention_pairs += BatchWork::prefill_pairs(f64::from(chunk), 0.0);
            self.chunks.push((id, chunk));
        }
        if work.is_empty() {
            self.iteration = Iteration::Idle;
            return None;
        }
        if work.prefill_tokens > 0.0 {
            self.stats.prefill_iterations += 1;
        }
        self.iteration = Iteration::Mixed;
        Some(self.begin(now, &work))
    }

    /// Chunked mode: applies the iteration's decode step and prompt chunks.
    fn finish_mixed_iteration(&mut self, now: SimTime, out: &mut LlmOutcomes) {
        if self.iteration_decodes {
            self.complete_decode_step(now, out);
        }
        let chunks = std::mem::take(&mut self.chunks);
        for &(id, chunk) in &chunks {
            let slot = &mut self.slots[id];
            slot.prefilled += chunk;
            if slot.prefilled < slot.request.prompt + slot.generated {
                continue;
            }
            self.prefilling.retain(|&p| p != id);
            self.first_token(id, now, out);
        }
        self.chunks = chunks;
    }

    /// A request's prefill is complete: its next token is out.
    fn first_token(&mut self, id: usize, now: SimTime, out: &mut LlmOutcomes) {
        let slot = &mut self.slots[id];
        if slot.first_token_at.is_none() {
            slot.first_token_at = Some(now);
            out.record_first_token(&slot.request, now);
        }
        slot.generated += 1;
        slot.prefilled = 0;
        if slot.generated >= slot.request.output {
            let stored = u64::from(slot.request.prompt + slot.generated - 1);
            self.finish_request(id, now, stored, out);
        } else {
            self.join_decode_set(id);
        }
    }

    /// The decode step of the finished iteration: contexts grow, finishers leave.
    fn complete_decode_step(&mut self, now: SimTime, out: &mut LlmOutcomes) {
        self.decode_context += self.decoding;
        self.decode_counter += 1;
        let done_step = self.decode_counter - 1;
        while let Some(&Reverse((step, id, epoch))) = self.finishes.peek() {
            if step > done_step {
                break;
            }
            self.finishes.pop();
            if self.slots[id].epoch != epoch {
                continue;
            }
            let stored = self.leave_decode_set(id);
            self.finish_request(id, now, stored, out);
        }
    }

    fn begin(&mut self, now: SimTime, work: &BatchWork) -> SimDuration {
        self.stats.iterations += 1;
        self.stats.peak_kv_blocks = self.stats.peak_kv_blocks.max(self.blocks_used);
        self.stats.kv_avg.set(now, self.blocks_used);
        self.iteration_started = now;
        SimDuration::from_secs_f64(self.roofline.iteration_time(work))
    }

    /// Removes request `id` from the decode set (finish or preemption); returns its
    /// stored tokens.
    fn leave_decode_set(&mut self, id: usize) -> u64 {
        let block = u64::from(self.config.block_size);
        let slot = &mut self.slots[id];
        let stored = slot.stored(self.decode_counter);
        let phase = ((slot.joined_at + block - slot.stored_at_join % block) % block) as usize;
        slot.generated += (self.decode_counter - slot.joined_at) as u32;
        slot.epoch = slot.epoch.wrapping_add(1);
        slot.decoding = false;
        self.phase_counts[phase] -= 1;
        self.decoding -= 1;
        self.decode_context -= stored;
        stored
    }

    /// Preempts the most recently admitted running request (back to the head of the
    /// queue, to be recomputed); says whether there was one.
    fn preempt_latest(&mut self, now: SimTime) -> bool {
        let Some((_, id)) = self.running.pop_last() else {
            return false;
        };
        if self.slots[id].decoding {
            let stored = self.leave_decode_set(id);
            self.blocks_used -= self.blocks_for(stored);
        } else {
            // Chunked mode: a request part-way through its prefill holds the blocks
            // reserved for its whole prompt.
            let slot = &mut self.slots[id];
            let target = u64::from(slot.request.prompt + slot.generated);
            slot.prefilled = 0;
            self.blocks_used -= target.div_ceil(u64::from(self.config.block_size));
            self.prefilling.retain(|&p| p != id);
        }
        self.waiting.push_front(id);
        self.stats.preemptions += 1;
        self.stats.kv_avg.set(now, self.blocks_used);
        true
    }

    fn join_decode_set(&mut self, id: usize) {
        let block = u64::from(self.config.block_size);
        let slot = &mut self.slots[id];
        let stored = u64::from(slot.request.prompt + slot.generated - 1);
        slot.joined_at = self.decode_counter;
        slot.stored_at_join = stored;
        slot.decoding = true;
        let phase = ((slot.joined_at + block - stored % block) % block) as usize;
        let finish_step = self.decode_counter + u64::from(slot.request.output - slot.generated) - 1;
        self.phase_counts[phase] += 1;
        self.decoding += 1;
        self.decode_context += stored;
        self.finishes.push(Reverse((finish_step, id, slot.epoch)));
    }

    /// Records a completed request and frees everything it held.
    fn finish_request(&mut self, id: usize, now: SimTime, stored: u64, out: &mut LlmOutcomes) {
        let slot = self.slots[id];
        self.running.remove(&slot.admit_seq);
        self.blocks_used -= self.blocks_for(stored);
        out.record_completion(&slot.request, slot.first_token_at.unwrap_or(now), now);
        self.free_slots.push(id);
    }

    /// Applies the effects of the iteration that ends at `now`; the caller then starts
    /// the next one.
    pub fn complete_iteration(&mut self, now: SimTime, out: &mut LlmOutcomes) {
        self.stats.busy = self.stats.busy + (now - self.iteration_started);
        if now > self.stats_from {
            self.stats.busy_measured =
                self.stats.busy_measured + (now - self.iteration_started.max(self.stats_from));
        }
        match self.iteration {
            Iteration::Prefill => {
                let admitted = std::mem::take(&mut self.admitted);
                for &id in &admitted {
                    self.first_token(id, now, out);
                }
                self.admitted = admitted;
            }
            Iteration::Decode => self.complete_decode_step(now, out),
            Iteration::Mixed => self.finish_mixed_iteration(now, out),
            Iteration::Idle => {}
        }
        self.iteration = Iteration::Idle;
    }
}

/// The cluster's view of an LLM replica.
impl crate::replica::Replica for LlmReplica {
    fn admit(&self, request: LlmRequest) -> Option<(LlmRequest, bool)> {
        LlmReplica::admit(self, request)
    }

    fn enqueue(&mut self, request: LlmRequest) {
        LlmReplica::enqueue(self, request);
    }

    fn start(&mut self, now: SimTime, out: &mut LlmOutcomes) -> crate::NextStep {
        self.start_iteration(now, out)
            .map_or(crate::NextStep::Idle, crate::NextStep::Busy)
    }

    fn complete(&mut self, now: SimTime, out: &mut LlmOutcomes) {
        self.complete_iteration(now, out);
    }

    fn outstanding(&self) -> usize {
        LlmReplica::outstanding(self)
    }

    fn queued(&self) -> usize {
        LlmReplica::queued(self)
    }

    fn has_room(&self) -> bool {
        LlmReplica::has_room(self)
    }

    fn busy(&self) -> SimDuration {
        self.stats.busy
    }

    fn busy_in_window(&self, end: SimTime) -> SimDuration {
        LlmReplica::busy_in_window(self, end)
    }

    fn for_each_outstanding(&self, f: &mut dyn FnMut(&LlmRequest, Option<SimTime>)) {
        LlmReplica::for_each_outstanding(self, f);
    }

    fn abort_all(&mut self, now: SimTime, out: &mut LlmOutcomes) -> u64 {
        LlmReplica::abort_all(self, now, out)
    }

    fn kv_blocks(&self) -> (u64, u64) {
        (self.blocks_used, self.config.kv_blocks)
    }

    fn kv_block_seconds(&self, end: SimTime) -> (f64, u64) {
        (self.stats.kv_block_seconds(end), self.config.kv_blocks)
    }

    fn preemptions(&self) -> u64 {
        self.stats.preemptions
    }
}

/// Events of a single replica driven by a request stream.
#[derive(Clone, Copy, Debug)]
pub enum LlmEvent {
    /// The next request of the source arrives.
    Arrival,
    /// The iteration in progress finishes.
    IterationDone,
}

/// One replica fed directly by a request stream (no router, no node lifecycle).
struct SingleServer<I: Iterator<Item = LlmRequest>> {
    replica: LlmReplica,
    outcomes: LlmOutcomes,
    source: I,
    next_request: Option<LlmRequest>,
}

impl<I: Iterator<Item = LlmRequest>> SingleServer<I> {
    fn kick(&mut self, ctx: &mut Context<LlmEvent>) {
        if let Some(d) = self.replica.start_iteration(ctx.now(), &mut self.outcomes) {
            ctx.schedule_in(d, LlmEvent::IterationDone);
        }
    }
}

impl<I: Iterator<Item = LlmRequest>> Model for SingleServer<I> {
    type Event = LlmEvent;

    fn handle(&mut self, event: LlmEvent, ctx: &mut Context<LlmEvent>) {
        let now = ctx.now();
        match event {
            LlmEvent::Arrival => {
                let Some(request) = self.next_request.take() else {
                    return;
                };
                self.next_request = self.source.next();
                if let Some(next) = self.next_request {
                    ctx.schedule_at(next.arrival.max(now), LlmEvent::Arrival);
                }
                self.outcomes.record_arrival(&request);
                match self.replica.admit(request) {
                    Some((request, cut)) => {
                        if cut {
                            self.outcomes.record_truncation(&request);
                        }
                        self.replica.enqueue(request);
                    }
                    None => self.outcomes.record_reject(&request, now),
                }
            }
            LlmEvent::IterationDone => self.replica.complete_iteration(now, &mut self.outcomes),
        }
        self.kick(ctx);
    }
}

/// Serves `requests` (in arrival order) on one replica until `horizon`, or until every
/// request has finished when `horizon` is `None`.
pub fn simulate_llm_server<I>(
    roofline: Roofline,
    config: LlmServerConfig,
    requests: I,
    horizon: Option<SimTime>,
) -> LlmReport
where
    I: IntoIterator<Item = LlmRequest>,
{
    let mut source = requests.into_iter();
    let first = source.next();
    let server = SingleServer {
        replica: LlmReplica::new(roofline, config, SimTime::ZERO),
        outcomes: LlmOutcomes::new(LlmSla::default()),
        source,
        next_request: first,
    };
    let mut sim = Simulation::new(server);
    if let Some(first) = first {
        sim.schedule_at(first.arrival, LlmEvent::Arrival);
    }
    sim.run_until(horizon.unwrap_or(SimTime::MAX));
    let end = sim.now();
    let events = sim.events();
    let server = sim.into_model();
    let stats = server.replica.stats().clone();
    let kv_blocks = server.replica.config().kv_blocks.max(1) as f64;
    let o = server.outcomes;
    let mut in_flight_ns = 0;
    server
        .replica
        .for_each_outstanding(|request, _| in_flight_ns += o.in_system_ns(request, end));
    let mean_in_system = o.mean_in_system(end, in_flight_ns);
    LlmReport {
        arrivals: o.arrivals,
        completed: o.completed,
        rejected: o.rejected,
        dropped: o.dropped,
        in_flight_at_end: server.replica.outstanding() as u64,
        ttft: o.ttft,
        tpot: o.tpot,
        e2e: o.e2e,
        output_tokens: o.output_tokens,
        last_completion_s: o.last_completion.as_secs_f64(),
        iterations: stats.iterations,
        prefill_iterations: stats.prefill_iterations,
        preemptions: stats.preemptions,
        peak_kv_blocks: stats.peak_kv_blocks,
        mean_kv_utilization: stats.mean_kv_blocks(end) / kv_blocks,
        mean_in_system,
        mean_decode_batch: stats.mean_decode_batch(),
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AcceleratorSpec, DeviceKind, Efficiency, LlmSpec};

    fn roofline() -> Roofline {
        let model = LlmSpec {
            name: "toy-7b".into(),
            params: 7e9,
            layers: 32,
            hidden: 4096,
            heads: 32,
            kv_heads: 8,
            intermediate: 14336,
            vocab: 32000,
            dtype_bytes: 2.0,
            max_context: 8192,
        };
        let gpu = AcceleratorSpec {
            kind: DeviceKind::Gpu,
            peak_flops: 312e12,
            peak_int8_ops: None,
            memory_bytes: 80e9,
            memory_bandwidth: 2039e9,
            interconnect_bandwidth: 300e9,
        };
        Roofline::new(model, gpu, 1, Efficiency::CALIBRATED)
    }

    fn config(kv_blocks: u64) -> LlmServerConfig {
        LlmServerConfig {
            max_batch: 64,
            max_batched_tokens: 4096,
            block_size: 16,
            kv_blocks,
            watermark_blocks: 0,
            chunked_prefill: false,
            timeout: None,
            max_model_len: None,
        }
    }

    fn poisson(n: u32, rate: f64, prompt: u32, output: u32) -> Vec<LlmRequest> {
        use rand_distr::{Distribution, Exp1};
        let mut rng = inferscale_engine::RngStreams::new(5, 0).stream("arrivals");
        let mut t = 0.0;
        (0..n)
            .map(|_| {
                let gap: f64 = Exp1.sample(&mut rng);
                t += gap / rate;
                LlmRequest {
                    arrival: SimTime::from_secs_f64(t),
                    prompt,
                    output,
                }
            })
            .collect()
    }

    /// One request alone: TTFT is one prefill iteration and every later token one
    /// decode iteration at the growing context, exactly as the roofline predicts.
    #[test]
    fn a_lone_request_takes_exactly_the_predicted_time() {
        let r = roofline();
        let (prompt, output) = (300u32, 50u32);
        let request = LlmRequest {
            arrival: SimTime::from_secs(1),
            prompt,
            output,
        };
        let report = simulate_llm_server(r.clone(), config(10_000), [request], None);
        let prefill = r.iteration_time(&BatchWork {
            prefill_tokens: f64::from(prompt),
            prefill_attention_pairs: BatchWork::prefill_pairs(f64::from(prompt), 0.0),
            ..Default::default()
        });
        let mut expected_e2e = SimDuration::from_secs_f64(prefill).as_nanos();
        for k in 0..u64::from(output - 1) {
            let step = r.iteration_time(&BatchWork {
                decode_requests: 1.0,
                decode_context_tokens: (u64::from(prompt) + k + 1) as f64,
                ..Default::default()
            });
            expected_e2e += SimDuration::from_secs_f64(step).as_nanos();
        }
        assert_eq!(report.completed, 1);
        assert_eq!(report.ttft.count(), 1);
        // Histograms quantise; the exact mean is the check.
        assert!(
            (report.ttft.mean_s() - SimDuration::from_secs_f64(prefill).as_secs_f64()).abs()
                < 1e-12
        );
        assert!((report.e2e.mean_s() - expected_e2e as f64 / 1e9).abs() < 1e-12);
        assert_eq!(report.iterations, u64::from(output));
        assert_eq!(report.prefill_iterations, 1);
    }

    #[test]
    fn requests_are_conserved_when_the_run_stops_midway() {
        let requests = poisson(2_000, 20.0, 512, 128);
        let report = simulate_llm_server(
            roofline(),
            config(20_000),
            requests,
            Some(SimTime::from_secs(60)),
        );
        assert!(report.completed > 0 && report.in_flight_at_end > 0);
        assert_eq!(
            report.arrivals,
            report.completed + report.rejected + report.in_flight_at_end
        );
        assert_eq!(report.e2e.count(), report.completed);
    }

    /// Preemption and slot reuse together: a freed slot goes to a new request while
    /// finish entries of its earlier occupant are still in the heap. Such an entry
    /// once matched the newcomer (epochs restarted at zero on reuse), finishing it
    /// early or, while it waited, freeing it a second time: requests were counted
    /// twice and the decode counters underflowed into an endless preemption loop.
    /// It takes a rejection to leave such an entry behind: a preempted request whose
    /// recompute outgrew the token budget leaves with its finish entry still queued.
    /// With varied sizes, a cache far too small and a budget that long recomputes
    /// outgrow, every request is accounted for exactly once, at any horizon.
    #[test]
    fn reused_slots_never_inherit_finish_entries_of_earlier_requests() {
        use rand::RngExt;
        let mut rng = inferscale_engine::RngStreams::new(11, 0).stream("sizes");
        let mut requests = poisson(600, 40.0, 0, 0);
        for r in &mut requests {
            r.prompt = rng.random_range(1_800..2_040);
            r.output = rng.random_range(100..1_000);
        }
        for chunked in [false, true] {
            let config = LlmServerConfig {
                chunked_prefill: chunked,
                max_batched_tokens: 2_048,
                ..config(600)
            };
            for horizon in [20, 60, 200] {
                let report = simulate_llm_server(
                    roofline(),
                    config.clone(),
                    requests.iter().copied(),
                    Some(SimTime::from_secs(horizon)),
                );
                assert_eq!(
                    report.arrivals,
                    report.completed + report.rejected + report.dropped + report.in_flight_at_end,
                    "chunked {chunked}, horizon {horizon}s"
                );
            }
            let report =
                simulate_llm_server(roofline(), config.clone(), requests.iter().copied(), None);
            assert!(
                report.preemptions > 100,
                "{} preemptions",
                report.preemptions
            );
            assert_eq!(report.completed + report.rejected, 600, "chunked {chunked}");
            assert_eq!(report.e2e.count(), report.completed);
            // Only the unchunked engine refuses recomputes (chunks fit any budget).
            assert_eq!(
                report.rejected > 0,
                !chunked,
                "{} rejected",
                report.rejected
            );
        }
    }

    /// A cache far too small for the load forces preemptions; the cache is never
    /// overcommitted and every request still finishes.
    #[test]
    fn a_small_cache_preempts_but_never_overflows() {
        let kv_blocks = 400; // 6,400 tokens: about ten 640-token requests
        let requests = poisson(300, 50.0, 512, 128);
        let report = simulate_llm_server(roofline(), config(kv_blocks), requests, None);
        assert!(report.preemptions > 0, "no preemption at all");
        assert!(report.peak_kv_blocks <= kv_blocks);
        assert_eq!(report.completed + report.rejected, 300);
        assert_eq!(report.rejected, 0);
        assert_eq!(report.output_tokens, 300 * 128);
    }

    #[test]
    fn impossible_requests_are_rejected_and_counted() {
        let requests = vec![
            LlmRequest {
                arrival: SimTime::ZERO,
                prompt: 5000,
                output: 10,
            }, // over the token budget
            LlmRequest {
                arrival: SimTime::ZERO,
                prompt: 100,
                output: 0,
            }, // nothing to generate
            LlmRequest {
                arrival: SimTime::ZERO,
                prompt: 100,
                output: 10,
            },
        ];
        let report = simulate_llm_server(roofline(), config(1000), requests, None);
        assert_eq!(
            (report.arrivals, report.rejected, report.completed),
            (3, 2, 1)
        );
    }

    /// More load gives bigger decode batches and a longer TPOT, but more throughput.
    #[test]
    fn batching_trades_latency_for_throughput() {
        let light =
            simulate_llm_server(roofline(), config(50_000), poisson(400, 1.0, 256, 64), None);
        let heavy = simulate_llm_server(
            roofline(),
            config(50_000),
            poisson(400, 20.0, 256, 64),
            None,
        );
        assert!(heavy.mean_decode_batch > 4.0 * light.mean_decode_batch);
        assert!(heavy.tpot.quantile_s(0.5) > light.tpot.quantile_s(0.5));
        let rate = |r: &LlmReport| r.output_tokens as f64 / r.last_completion_s;
        assert!(rate(&heavy) > 5.0 * rate(&light));
    }

    /// Chunked prefill: a 3,000-token prompt under a 1,024-token budget takes three
    /// iterations of 1,024, 1,024 and 952 tokens, each attending to the chunks before.
    #[test]
    fn chunked_prefill_splits_a_long_prompt_exactly() {
        let r = roofline();
        let mut cfg = config(10_000);
        cfg.max_batched_tokens = 1024;
        cfg.chunked_prefill = true;
        let request = LlmRequest {
            arrival: SimTime::ZERO,
            prompt: 3000,
            output: 2,
        };
        let report = simulate_llm_server(r.clone(), cfg, [request], None);
        let mut ttft = 0u64;
        for (chunk, before) in [(1024.0, 0.0), (1024.0, 1024.0), (952.0, 2048.0)] {
            let t = r.iteration_time(&BatchWork {
                prefill_tokens: chunk,
                prefill_attention_pairs: BatchWork::prefill_pairs(chunk, before),
                ..Default::default()
            });
            ttft += SimDuration::from_secs_f64(t).as_nanos();
        }
        assert!((report.ttft.mean_s() - ttft as f64 / 1e9).abs() < 1e-12);
        assert_eq!(report.prefill_iterations, 3);
        assert_eq!(report.iterations, 4);
        assert_eq!(report.completed, 1);
    }

    /// The point of chunked prefill: long prompts stop stalling decodes, so the
    /// time between tokens of running requests gets shorter.
    #[test]
    fn chunked_prefill_shortens_decode_stalls() {
        let requests = poisson(400, 4.0, 3000, 100);
        let mut cfg = config(50_000);
        let plain = simulate_llm_server(roofline(), cfg.clone(), requests.clone(), None);
        cfg.max_batched_tokens = 512;
        cfg.chunked_prefill = true;
        let chunked = simulate_llm_server(roofline(), cfg, requests, None);
        assert_eq!((plain.completed, chunked.completed), (400, 400));
        assert_eq!(chunked.output_tokens, 400 * 100);
        assert!(
            chunked.tpot.quantile_s(0.9) < plain.tpot.quantile_s(0.9),
            "TPOT p90 chunked {} vs plain {}",
            chunked.tpot.quantile_s(0.9),
            plain.tpot.quantile_s(0.9)
        );
    }

    #[test]
    fn chunked_mode_conserves_requests_and_respects_the_cache() {
        let mut cfg = config(400);
        cfg.chunked_prefill = true;
        cfg.max_batched_tokens = 256;
        let report = simulate_llm_server(roofline(), cfg, poisson(300, 50.0, 512, 128), None);
        assert!(report.peak_kv_blocks <= 400);
        assert_eq!(report.completed, 300);
        assert_eq!(report.output_tokens, 300 * 128);
    }

    #[test]
    fn requests_waiting_past_the_timeout_are_dropped_and_counted() {
        let mut cfg = config(50_000);
        cfg.timeout = Some(SimDuration::from_secs(2));
        // 600 requests in 6 s, far more than one replica prefills in time.
        let report = simulate_llm_server(roofline(), cfg, poisson(600, 100.0, 2000, 50), None);
        assert!(report.dropped > 0, "nothing timed out");
        assert_eq!(
            report.arrivals,
            report.completed + report.dropped + report.rejected
        );
        // Nobody who was served waited more than the timeout for admission, so every
        // TTFT is at most the timeout plus one prefill iteration.
        assert!(report.ttft.quantile_s(1.0) < 2.0 + 1.0);
    }

    /// The latest instant a request can still meet its SLA, worked out by hand.
    #[test]
    fn an_sla_deadline_is_the_latest_completion_its_targets_allow() {
        let at = |s: f64| SimTime::from_secs_f64(s);
        let ms = SimDuration::from_millis;
        let request = LlmRequest {
            arrival: at(10.0),
            prompt: 100,
            output: 11,
        };
        let both = LlmSla {
            ttft: Some(ms(2000)),
            tpot: Some(ms(100)),
            e2e: None,
        };
        // No first token yet: 10 s + 2 s + 10 tokens × 100 ms.
        assert_eq!(both.deadline(&request, None), Some(at(13.0)));
        // First token at 11 s: 10 more tokens by 12 s.
        assert_eq!(both.deadline(&request, Some(at(11.0))), Some(at(12.0)));
        let with_e2e = LlmSla {
            e2e: Some(ms(1500)),
            ..both
        };
        assert_eq!(with_e2e.deadline(&request, None), Some(at(11.5)));
        let ttft_only = LlmSla {
            ttft: Some(ms(2000)),
            ..LlmSla::default()
        };
        assert_eq!(ttft_only.deadline(&request, None), Some(at(12.0)));
        assert_eq!(ttft_only.deadline(&request, Some(at(11.0))), None);
        assert!(ttft_only.met_before_completion(&request, Some(at(11.0))));
        assert!(!ttft_only.met_before_completion(&request, Some(at(12.5))));
        assert!(!ttft_only.met_before_completion(&request, None));
        assert!(!both.met_before_completion(&request, Some(at(11.0))));
        assert!(LlmSla::default().met_before_completion(&request, None));
        assert_eq!(LlmSla::default().deadline(&request, None), None);
    }
}
