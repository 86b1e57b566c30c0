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
//! `config` holds the limits and statistics types, `iteration` the scheduler's
//! choice and completion of each iteration; this file the replica's state, admission
//! and the [`Replica`](crate::Replica) implementation.
//!
//! # Driving it
//!
//! [`LlmReplica`] is the scheduler and cache of one replica, driven from outside: a
//! request is [`enqueue`](LlmReplica::enqueue)d, an iteration is
//! [`start`](LlmReplica::start_iteration)ed (which says how long it takes) and later
//! [`complete`](LlmReplica::complete_iteration)d. Per-request results go to an
//! [`Outcomes`] that the caller owns, so many replicas of a model share one set of
//! histograms. [`simulate_llm_server`](crate::simulate_llm_server) drives a single
//! replica from a request stream; the cluster drives many through the
//! [`Replica`](crate::Replica) trait.

mod config;
mod iteration;
mod kv;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use inferscale_engine::{SimDuration, SimTime};
use inferscale_workload::Request;

use crate::metrics::TimeAverage;
use crate::outcomes::Outcomes;
use crate::perf::Roofline;

pub use config::{LlmServerConfig, ReplicaStats};

/// A request's state while it is in the replica.
#[derive(Clone, Copy, Debug)]
struct Slot {
    request: Request,
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
    /// When the client saw it (later than `first_token_at` when tokens are
    /// delivered after the next step), once it has.
    first_visible_at: Option<SimTime>,
    /// Whether it is in the decode set (else waiting or being prefilled).
    decoding: bool,
    /// Prompt tokens (plus recomputed output) already prefilled, chunked mode.
    prefilled: u32,
    /// Whether a request occupies the slot (a freed slot keeps its last request).
    live: bool,
    /// Which occupant this is: unique per replica, unlike request ids, which a
    /// stream may repeat.
    serial: u64,
}

impl Slot {
    fn stored(&self, decode_counter: u64) -> u64 {
        self.stored_at_join + (decode_counter - self.joined_at)
    }
}

/// A token computed but not yet seen by the client (tokens delivered after the
/// next step).
#[derive(Clone, Copy, Debug)]
enum Delivery {
    /// The first token of the request in slot `id` (its occupant `serial`).
    First {
        id: usize,
        serial: u64,
        request: Request,
    },
    /// The last token: the request is complete; its first token was seen then, if
    /// it was already delivered.
    Done {
        request: Request,
        first_visible: Option<SimTime>,
    },
}

/// What the iteration in progress is doing.
enum Iteration {
    Idle,
    Prefill,
    Decode,
    /// Chunked mode: decode of every running request plus prompt chunks.
    Mixed,
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
    /// The KV blocks: counted, or a prefix cache's pool ([`kv`]).
    kv: kv::Kv,
    /// Per slot: the pool blocks of its prompt, in order (with a pool).
    held: Vec<crate::prefix_cache::Held>,
    /// Per slot: its prompt's block chain (empty: none).
    chains: Vec<Vec<u64>>,
    /// The cached blocks the last admission plan found (with a pool).
    found: crate::prefix_cache::Found,
    /// Tokens the last iteration computed that the client sees when the next one
    /// ends (with `deliver_after_next_step`).
    undelivered: Vec<Delivery>,
    /// When each request's client gives up (with a `client_timeout`): the time, the
    /// slot and its occupant's serial, earliest first.
    deadlines: BinaryHeap<Reverse<(SimTime, usize, u64)>>,
    /// The serial the next occupant of a slot gets.
    next_serial: u64,

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
            kv: kv::Kv::Counted(0),
            held: Vec::new(),
            chains: Vec::new(),
            found: Default::default(),
            undelivered: Vec::new(),
            deadlines: BinaryHeap::new(),
            next_serial: 0,
            stats: ReplicaStats {
                iterations: 0,
                prefill_iterations: 0,
                preemptions: 0,
                peak_kv_blocks: 0,
                decode_batch_sum: 0,
                decode_iterations: 0,
                busy: SimDuration::ZERO,
                busy_measured: SimDuration::ZERO,
                prefix: Default::default(),
                prefix_run: Default::default(),
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
    pub fn abort_all(&mut self, now: SimTime, out: &mut Outcomes) -> u64 {
        self.deliver(now, out);
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
        self.slots.iter_mut().for_each(|s| s.live = false);
        self.deadlines.clear();
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
        self.reset_kv();
        dropped
    }

    /// The client sees, at `now`, the tokens held back for the step that just
    /// ended (or that will not come: the replica goes idle).
    #[inline]
    fn deliver(&mut self, now: SimTime, out: &mut Outcomes) {
        if !self.undelivered.is_empty() {
            self.deliver_held(now, out);
        }
    }

    #[cold]
    #[inline(never)]
    fn deliver_held(&mut self, now: SimTime, out: &mut Outcomes) {
        for d in std::mem::take(&mut self.undelivered) {
            match d {
                Delivery::First {
                    id,
                    serial,
                    request,
                } => {
                    out.record_first_token(&request, now);
                    let slot = &mut self.slots[id];
                    if slot.live && slot.serial == serial {
                        slot.first_visible_at = Some(now);
                    }
                }
                Delivery::Done {
                    request,
                    first_visible,
                } => out.record_completion(&request, first_visible.unwrap_or(now), now),
            }
        }
    }

    /// Frees slot `id` (its request has left).
    fn free_slot(&mut self, id: usize) {
        self.slots[id].live = false;
        self.free_slots.push(id);
    }

    /// Aborts, at `now`, every request whose client has given up (its
    /// `client_timeout` passed): wherever it is — waiting, prefilling or decoding —
    /// it leaves, its KV blocks are freed, and it counts as timed out; what it
    /// computed is lost, as when vLLM aborts a request whose client disconnected.
    fn abort_expired(&mut self, now: SimTime, out: &mut Outcomes) {
        while let Some(&Reverse((deadline, id, serial))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let slot = self.slots[id];
            if !slot.live || slot.serial != serial {
                continue;
            }
            if let Some(at) = self.waiting.iter().position(|&w| w == id) {
                self.waiting.remove(at);
            } else if self.running.remove(&slot.admit_seq).is_some() {
                if slot.decoding {
                    let stored = self.leave_decode_set(id);
                    self.release_blocks(id, stored);
                } else {
                    self.slots[id].prefilled = 0;
                    self.release_blocks(id, u64::from(slot.request.prompt + slot.generated));
                    self.prefilling.retain(|&p| p != id);
                }
                let used = self.kv_used();
                self.stats.kv_avg.set(now, used);
            }
            out.record_timeout(&slot.request, now);
            self.free_slot(id);
        }
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
    /// A request the engine finished whose last tokens the client has not yet seen
    /// (held back for the next step) is still in the system, and is held here too.
    pub fn for_each_outstanding(&self, mut f: impl FnMut(&Request, Option<SimTime>)) {
        for &id in self.waiting.iter().chain(self.running.values()) {
            let slot = &self.slots[id];
            f(&slot.request, slot.first_token_at);
        }
        for d in &self.undelivered {
            if let Delivery::Done {
                request,
                first_visible,
            } = d
            {
                f(request, *first_visible);
            }
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
        self.kv_used()
    }

    fn blocks_for(&self, tokens: u64) -> u64 {
        tokens.div_ceil(u64::from(self.config.block_size))
    }

    /// Drops request `id`, at the head of the queue, if it was never admitted and has
    /// waited past the timeout; says whether it did.
    fn drop_if_timed_out(&mut self, id: usize, now: SimTime, out: &mut Outcomes) -> bool {
        let slot = self.slots[id];
        let expired = slot.first_token_at.is_none()
            && slot.prefilled == 0
            && self
                .config
                .timeout
                .is_some_and(|t| now - slot.request.arrival > t);
        if expired {
            self.waiting.pop_front();
            out.record_timeout(&slot.request, now);
            self.free_slot(id);
        }
        expired
    }

    /// `request` as this replica would take it — its output cut where the sequence
    /// reaches `max_model_len`, with whether it was cut — or `None` when it could never
    /// serve it (a prompt that fills the context, a prompt over the token budget
    /// without chunking, prompt plus output beyond the cache).
    pub fn admit(&self, request: Request) -> Option<(Request, bool)> {
        let (request, cut) = self.fit_to_context(request);
        self.can_serve(&request).then_some((request, cut))
    }

    /// Whether this replica could ever serve `request`, already fitted to the context.
    fn can_serve(&self, request: &Request) -> bool {
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
    fn fit_to_context(&self, request: Request) -> (Request, bool) {
        match self.config.max_model_len {
            Some(limit)
                if request.prompt < limit
                    && u64::from(request.prompt) + u64::from(request.output) > u64::from(limit) =>
            {
                let output = limit - request.prompt;
                (Request { output, ..request }, true)
            }
            _ => (request, false),
        }
    }

    /// Adds `request` to the waiting queue, as [`Self::admit`] handed it back.
    pub fn enqueue(&mut self, request: Request) {
        let id = self.push_waiting(request);
        if matches!(self.kv, kv::Kv::Cached(_)) {
            self.track_slots();
            self.chains[id].clear();
        }
    }

    /// [`Self::enqueue`] for a request that carries its prompt's block chain: the
    /// chained hashes of its full blocks ([`crate::prefix_cache::chain_hashes`]).
    /// With `prefix_caching`, the replica reuses what of it is cached. Once the
    /// replica caches, it keeps `chain`'s buffer and leaves its slot's old one (stale
    /// contents) in its place.
    pub fn enqueue_with_prefix(&mut self, request: Request, chain: &mut Vec<u64>) {
        if self.config.prefix_caching && !chain.is_empty() {
            self.start_caching();
        }
        let id = self.push_waiting(request);
        // Chains and pool blocks are kept only once the replica caches.
        if matches!(self.kv, kv::Kv::Cached(_)) {
            self.track_slots();
            // The caller's buffer is taken, not copied (a copy was a cold write
            // of every hash per request); it gets this slot's old one back.
            std::mem::swap(&mut self.chains[id], chain);
        }
    }

    /// A slot for `request` at the back of the waiting queue.
    fn push_waiting(&mut self, request: Request) -> usize {
        let mut slot = Slot {
            request,
            generated: 0,
            joined_at: 0,
            stored_at_join: 0,
            epoch: 0,
            admit_seq: 0,
            first_token_at: None,
            first_visible_at: None,
            decoding: false,
            prefilled: 0,
            live: true,
            serial: self.next_serial,
        };
        self.next_serial += 1;
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
        if let Some(timeout) = self.config.client_timeout {
            let slot = &self.slots[id];
            let deadline = slot.request.arrival + timeout;
            self.deadlines.push(Reverse((deadline, id, slot.serial)));
        }
        id
    }
}

/// The cluster's view of an LLM replica.
impl crate::replica::Replica for LlmReplica {
    fn admit(&self, request: Request) -> Option<(Request, bool)> {
        LlmReplica::admit(self, request)
    }

    fn enqueue(&mut self, request: Request) {
        LlmReplica::enqueue(self, request);
    }

    fn enqueue_with_prefix(&mut self, request: Request, chain: &mut Vec<u64>) {
        LlmReplica::enqueue_with_prefix(self, request, chain);
    }

    fn prefix_block_size(&self) -> Option<u32> {
        self.config.prefix_caching.then_some(self.config.block_size)
    }

    fn cached_prefix(&self, chain: &[u64], limit: usize) -> usize {
        LlmReplica::cached_prefix(self, chain, limit)
    }

    fn prefix_stats(&self) -> crate::replica::PrefixStats {
        self.stats.prefix
    }

    fn prefix_stats_run(&self) -> crate::replica::PrefixStats {
        self.stats.prefix_run
    }

    fn start(&mut self, now: SimTime, out: &mut Outcomes) -> crate::NextStep {
        self.start_iteration(now, out)
            .map_or(crate::NextStep::Idle, crate::NextStep::Busy)
    }

    fn complete(&mut self, now: SimTime, out: &mut Outcomes) {
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

    fn for_each_outstanding(&self, f: &mut dyn FnMut(&Request, Option<SimTime>)) {
        LlmReplica::for_each_outstanding(self, f);
    }

    fn abort_all(&mut self, now: SimTime, out: &mut Outcomes) -> u64 {
        LlmReplica::abort_all(self, now, out)
    }

    fn kv_blocks(&self) -> (u64, u64) {
        (self.kv_used(), self.config.kv_blocks)
    }

    fn kv_block_seconds(&self, end: SimTime) -> (f64, u64) {
        (self.stats.kv_block_seconds(end), self.config.kv_blocks)
    }

    fn preemptions(&self) -> u64 {
        self.stats.preemptions
    }
}
