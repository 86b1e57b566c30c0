//! What an LLM replica is given (its scheduler limits and KV cache size) and what it
//! measures of itself.

use inferscale_engine::{SimDuration, SimTime};

use crate::metrics::TimeAverage;
use crate::perf::Roofline;

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
    /// Reuse the KV blocks of cached prompt prefixes (vLLM's automatic prefix
    /// caching, on by default in vLLM v1): a request that carries its prompt's
    /// block chain prefills only what is not cached. Requests without one are served
    /// as before.
    pub prefix_caching: bool,
    /// What the serving stack adds outside the engine to every request's time to
    /// first token and end-to-end latency: the API server receiving, parsing and
    /// tokenizing it, and streaming its tokens back (the engine sees the request this
    /// long after it was sent). Zero: the engine's own times. A request sent within
    /// this of a run's horizon reaches the engine after it and, like one sent after
    /// the horizon, is not part of the run.
    pub client_latency: SimDuration,
    /// A token reaches the client when the engine step after the one that computed
    /// it ends (at once when none follows): an engine whose output for a step is
    /// processed and streamed while the next step runs. Counts in TTFT and
    /// end-to-end latency, not in the time between tokens.
    pub deliver_after_next_step: bool,
    /// The client gives up on a request this long after sending it: the replica
    /// aborts it wherever it is (waiting, prefilling, decoding), frees its blocks and
    /// counts it timed out, as vLLM aborts a request whose client disconnected
    /// (`None`: clients wait for ever). Unlike `timeout`, it also ends requests
    /// already running.
    pub client_timeout: Option<SimDuration>,
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
            prefix_caching: true,
            client_latency: SimDuration::ZERO,
            deliver_after_next_step: false,
            client_timeout: None,
        }
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
    /// Prompt tokens computed and taken from the prefix cache, and blocks looked up
    /// and found, over the statistics window (counted at admission; a preempted
    /// request's recompute counts again, as vLLM's own counters do).
    pub prefix: crate::replica::PrefixStats,
    /// The same over the whole run, warm-up included (what per-interval samples
    /// difference).
    pub prefix_run: crate::replica::PrefixStats,
    pub(super) kv_avg: TimeAverage,
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
