//! How long one iteration of an LLM server takes: a roofline model.
//!
//! An iteration runs one forward pass over a batch that mixes **prefill** work (new
//! prompt tokens, possibly a chunk of a prompt) and **decode** work (one new token for
//! each running request). Its time is the sum of two operator classes, each bounded by
//! the slower of compute and memory traffic (the roofline):
//!
//! - linear layers: 2·params FLOPs per token, against reading every weight once (a
//!   mixture of experts: its active parameters per token, against reading the shared
//!   weights and the experts the batch touches, [`LlmSpec::weight_bytes_read`]);
//! - attention: 4·layers·hidden FLOPs per (query, key) pair, against reading the KV
//!   cache of every decoding request once;
//!
//! each divided by the hardware peak times an efficiency factor, plus a fixed overhead
//! per iteration and per layer (kernel launches, scheduling) and, with tensor
//! parallelism, two all-reduces of the activations per layer over the interconnect.
//! Everything is split evenly over the `tp` accelerators of the replica.
//!
//! The default efficiencies are calibrated on published TensorRT-LLM measurements and
//! checked against others (`tests/it/published.rs`); a scenario can override them or
//! replace the whole model with a measured profile table.

use crate::{AcceleratorSpec, LlmSpec};

/// How close a serving stack gets to the hardware's peaks, and what it adds per
/// iteration. See [`Efficiency::CALIBRATED`] for the defaults and their origin.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Efficiency {
    /// Share of peak FLOP/s reached by compute-bound work (0–1].
    pub compute: f64,
    /// Share of peak memory bandwidth reached by memory-bound work (0–1]: the
    /// linear layers' weight reads.
    pub memory: f64,
    /// Share of peak memory bandwidth reached reading the KV cache in decode
    /// attention (0–1]: a paged-attention kernel streams long contiguous blocks and
    /// can run closer to the peak than small-batch GEMMs read their weights.
    pub kv_memory: f64,
    /// Fixed time added to every iteration, seconds (scheduling, sampling, launch).
    pub iteration_overhead_s: f64,
    /// Time added per layer to every iteration, seconds: kernel launches that CUDA
    /// graphs do not hide (zero for graph-captured decode; large for eager stacks).
    pub layer_overhead_s: f64,
    /// Time added per layer to iterations that process prompt tokens, seconds: the
    /// context phase runs more, unfused, uncaptured kernels per layer than decode.
    pub prefill_layer_overhead_s: f64,
    /// Latency of one all-reduce between tensor-parallel accelerators, seconds: its
    /// fixed part (launch, synchronisation).
    pub allreduce_latency_s: f64,
    /// Latency one all-reduce adds per doubling of the tensor-parallel group,
    /// seconds: a tree (or low-latency ring) all-reduce of a small message takes
    /// log2(tp) steps, so its latency is `allreduce_latency + this × log2(tp)`.
    pub allreduce_step_latency_s: f64,
    /// Hockney's half-performance width of the linear layers' GEMMs: the output
    /// columns per accelerator (hidden / tp) at which a GEMM reaches half its peak
    /// rate. Compute efficiency is `compute × w / (w + this)` at width `w`, so it
    /// falls as tensor parallelism shards the weights thinner. 0: no fall.
    pub gemm_half_width: f64,
    /// Share of the shorter of an operator class's compute and memory times that is
    /// not hidden behind the longer (0: a perfect roofline, the time is the larger
    /// of the two; 1: none overlaps, their sum). Real kernels near the ridge point
    /// neither stream weights at full bandwidth while computing nor the reverse.
    pub overlap_loss: f64,
}

impl Efficiency {
    /// Defaults fitted to TensorRT-LLM's published A100 FP16 measurements (first-token
    /// latency and static-batch throughput of LLaMA-2 7B/70B and GPT-J 6B); the fit
    /// and its check against held-out cases are in `tests/it/published.rs`.
    pub const CALIBRATED: Efficiency = Efficiency {
        compute: 0.72,
        memory: 0.80,
        kv_memory: 0.80,
        iteration_overhead_s: 0.0,
        layer_overhead_s: 0.0,
        prefill_layer_overhead_s: 250e-6,
        allreduce_latency_s: 20e-6,
        allreduce_step_latency_s: 0.0,
        gemm_half_width: 0.0,
        overlap_loss: 0.0,
    };
}

impl Default for Efficiency {
    fn default() -> Self {
        Efficiency::CALIBRATED
    }
}

/// The work in one iteration, in the aggregate quantities the roofline needs; a
/// scheduler keeps these as running counters so it never walks the batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchWork {
    /// New prompt tokens processed (prefill, all requests, all chunks).
    pub prefill_tokens: f64,
    /// (query, key) pairs of prefill attention: for a chunk of `n` tokens after `p`
    /// cached ones, n·p + n(n+1)/2.
    pub prefill_attention_pairs: f64,
    /// Requests producing one token each (decode).
    pub decode_requests: f64,
    /// Sum of the context lengths those decoding requests attend to.
    pub decode_context_tokens: f64,
}

impl BatchWork {
    /// (query, key) pairs of a causal prefill chunk of `new` tokens after `cached`.
    pub fn prefill_pairs(new: f64, cached: f64) -> f64 {
        new * cached + new * (new + 1.0) / 2.0
    }

    /// Whether the batch does anything.
    pub fn is_empty(&self) -> bool {
        self.prefill_tokens == 0.0 && self.decode_requests == 0.0
    }
}

/// Measured iteration times that replace the roofline: piecewise-linear curves of
/// prefill time against prompt tokens and of decode time against decoding requests,
/// plus a cost per context token read by decode attention. An iteration takes the sum
/// of the parts it contains. Beyond the measured range the end segments extend.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileTable {
    /// (prompt tokens in the iteration, seconds), sorted by tokens.
    pub prefill: Vec<(f64, f64)>,
    /// (decoding requests in the iteration, seconds), sorted by requests.
    pub decode: Vec<(f64, f64)>,
    /// Seconds per context token attended by decoding requests.
    pub decode_per_context_token_s: f64,
}

/// Linear interpolation through `points` (sorted by x), extended past both ends with
/// the end segments' slopes; never negative.
pub(crate) fn interpolate(points: &[(f64, f64)], x: f64) -> f64 {
    match points {
        [] => 0.0,
        [(_, y)] => *y,
        _ => {
            let i = points
                .partition_point(|&(px, _)| px < x)
                .clamp(1, points.len() - 1);
            let ((x0, y0), (x1, y1)) = (points[i - 1], points[i]);
            let slope = if x1 > x0 { (y1 - y0) / (x1 - x0) } else { 0.0 };
            (y0 + slope * (x - x0)).max(0.0)
        }
    }
}

impl ProfileTable {
    /// Duration of an iteration over `work`, seconds.
    pub fn iteration_time(&self, work: &BatchWork) -> f64 {
        let mut t = 0.0;
        if work.prefill_tokens > 0.0 {
            t += interpolate(&self.prefill, work.prefill_tokens);
        }
        if work.decode_requests > 0.0 {
            t += interpolate(&self.decode, work.decode_requests)
                + self.decode_per_context_token_s * work.decode_context_tokens;
        }
        t
    }
}

/// A model deployed on `tp` accelerators: answers "how long does this batch take" (from
/// the roofline with a given efficiency, or from a measured [`ProfileTable`] that
/// replaces it) and "how many tokens of KV cache fit".
#[derive(Clone, Debug)]
pub struct Roofline {
    model: LlmSpec,
    accelerator: AcceleratorSpec,
    tp: u32,
    efficiency: Efficiency,
    /// Per-deployment constants of the formula, computed once: the hot loop calls
    /// `iteration_time` once per iteration of every replica.
    c: Coefficients,
    profile: Option<ProfileTable>,
}

/// The roofline's constants for one deployment, in seconds per unit of work.
#[derive(Clone, Copy, Debug, Default)]
struct Coefficients {
    linear_per_token: f64,
    /// Reading the weights every iteration reads (all of a dense model's; a mixture
    /// of experts' shared ones).
    linear_memory: f64,
    /// Reading one expert (zero for a dense model).
    expert_memory: f64,
    attention_per_pair: f64,
    kv_per_context_token: f64,
    communication_fixed: f64,
    communication_per_token: f64,
    overhead: f64,
    prefill_overhead: f64,
}

impl Coefficients {
    fn of(m: &LlmSpec, a: &AcceleratorSpec, tp: u32, e: &Efficiency) -> Self {
        let tp_f = f64::from(tp);
        let width = f64::from(m.hidden) / tp_f;
        let flops_rate = a.peak_flops * e.compute * width / (width + e.gemm_half_width);
        let bytes_rate = a.memory_bandwidth * e.memory;
        let layers = f64::from(m.layers);
        let (communication_fixed, communication_per_token) = if tp > 1 {
            // Two ring all-reduces of the activations per layer.
            let bytes_per_token = f64::from(m.hidden) * m.dtype_bytes * 2.0 * (tp_f - 1.0) / tp_f;
            let latency = e.allreduce_latency_s + e.allreduce_step_latency_s * tp_f.log2();
            (
                2.0 * layers * latency,
                2.0 * layers * bytes_per_token / a.interconnect_bandwidth,
            )
        } else {
            (0.0, 0.0)
        };
        Coefficients {
            linear_per_token: m.dense_flops_per_token() / tp_f / flops_rate,
            linear_memory: m.shared_params() * m.dtype_bytes / tp_f / bytes_rate,
            expert_memory: m.expert_params() * m.dtype_bytes / tp_f / bytes_rate,
            attention_per_pair: m.attention_flops(1.0) / tp_f / flops_rate,
            kv_per_context_token: m.kv_bytes_per_token()
                / tp_f
                / (a.memory_bandwidth * e.kv_memory),
            communication_fixed,
            communication_per_token,
            overhead: e.iteration_overhead_s + e.layer_overhead_s * layers,
            prefill_overhead: e.prefill_layer_overhead_s * layers,
        }
    }
}

impl Roofline {
    /// The roofline of `model` split over `tp` accelerators of type `accelerator`.
    pub fn new(
        model: LlmSpec,
        accelerator: AcceleratorSpec,
        tp: u32,
        efficiency: Efficiency,
    ) -> Self {
        let tp = tp.max(1);
        let c = Coefficients::of(&model, &accelerator, tp, &efficiency);
        Roofline {
            model,
            accelerator,
            tp,
            efficiency,
            c,
            profile: None,
        }
    }

    /// The same deployment with iteration times taken from `profile` instead of the
    /// roofline (the KV capacity still comes from memory and model size).
    pub fn with_profile(mut self, profile: ProfileTable) -> Self {
        self.profile = Some(profile);
        self
    }

    /// The model.
    pub fn model(&self) -> &LlmSpec {
        &self.model
    }

    /// The efficiency factors the roofline was built with.
    pub fn efficiency(&self) -> &Efficiency {
        &self.efficiency
    }

    /// Accelerators per replica.
    pub fn tp(&self) -> u32 {
        self.tp
    }

    /// Duration of one iteration over `work`, seconds.
    pub fn iteration_time(&self, work: &BatchWork) -> f64 {
        if work.is_empty() {
            return 0.0;
        }
        if let Some(profile) = &self.profile {
            return profile.iteration_time(work);
        }
        let c = &self.c;
        let tokens = work.prefill_tokens + work.decode_requests;
        let roof = |compute: f64, memory: f64| {
            compute.max(memory) + self.efficiency.overlap_loss * compute.min(memory)
        };
        let weights = if c.expert_memory > 0.0 {
            c.linear_memory + c.expert_memory * self.model.experts_touched(tokens)
        } else {
            c.linear_memory
        };
        let linear = roof(c.linear_per_token * tokens, weights);
        let attention_pairs = work.prefill_attention_pairs + work.decode_context_tokens;
        let attention = roof(
            c.attention_per_pair * attention_pairs,
            c.kv_per_context_token * work.decode_context_tokens,
        );
        let communication = c.communication_fixed + c.communication_per_token * tokens;
        let prefill = if work.prefill_tokens > 0.0 {
            c.prefill_overhead
        } else {
            0.0
        };
        linear + attention + communication + c.overhead + prefill
    }

    /// KV-cache capacity of one replica, tokens: memory left after the weights, less
    /// a safety `margin` share of the memory (activations, fragmentation), divided by
    /// the per-token KV size. Zero if the weights do not fit.
    pub fn kv_capacity_tokens(&self, margin: f64) -> f64 {
        let total = self.accelerator.memory_bytes * f64::from(self.tp);
        let free = total * (1.0 - margin) - self.model.weight_bytes();
        (free / self.model.kv_bytes_per_token()).max(0.0).floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceKind;

    fn a100() -> AcceleratorSpec {
        AcceleratorSpec {
            kind: DeviceKind::Gpu,
            peak_flops: 312e12,
            peak_int8_ops: Some(624e12),
            memory_bytes: 80e9,
            memory_bandwidth: 2039e9,
            interconnect_bandwidth: 300e9,
        }
    }

    fn tiny() -> LlmSpec {
        LlmSpec {
            name: "tiny".into(),
            params: 1e9,
            layers: 10,
            hidden: 1000,
            heads: 10,
            kv_heads: 10,
            intermediate: 4000,
            vocab: 1000,
            dtype_bytes: 2.0,
            max_context: 4096,
            experts: 1,
            experts_per_token: 1,
        }
    }

    fn ideal() -> Efficiency {
        Efficiency {
            compute: 1.0,
            memory: 1.0,
            kv_memory: 1.0,
            iteration_overhead_s: 0.0,
            layer_overhead_s: 0.0,
            prefill_layer_overhead_s: 0.0,
            allreduce_latency_s: 0.0,
            allreduce_step_latency_s: 0.0,
            gemm_half_width: 0.0,
            overlap_loss: 0.0,
        }
    }

    #[test]
    fn single_token_decode_is_bound_by_reading_the_weights() {
        let r = Roofline::new(tiny(), a100(), 1, ideal());
        let work = BatchWork {
            decode_requests: 1.0,
            decode_context_tokens: 100.0,
            ..Default::default()
        };
        // 2 GB of weights at 2039 GB/s, plus 100 tokens × 40 kB of KV.
        let want = 2e9 / 2039e9 + 100.0 * 40_000.0 / 2039e9;
        assert!((r.iteration_time(&work) - want).abs() < 1e-12);
    }

    #[test]
    fn long_prefill_is_bound_by_compute() {
        let r = Roofline::new(tiny(), a100(), 1, ideal());
        let n = 4096.0;
        let work = BatchWork {
            prefill_tokens: n,
            prefill_attention_pairs: BatchWork::prefill_pairs(n, 0.0),
            ..Default::default()
        };
        let want = (2e9 * n + 4.0 * 10.0 * 1000.0 * (n * (n + 1.0) / 2.0)) / 312e12;
        assert!((r.iteration_time(&work) - want).abs() < 1e-12);
    }

    #[test]
    fn tensor_parallelism_splits_work_and_adds_all_reduces() {
        let one = Roofline::new(tiny(), a100(), 1, ideal());
        let two = Roofline::new(tiny(), a100(), 2, ideal());
        let work = BatchWork {
            decode_requests: 8.0,
            decode_context_tokens: 800.0,
            ..Default::default()
        };
        let comm = 2.0 * 10.0 * (8.0 * 1000.0 * 2.0 * 2.0 * 0.5 / 300e9);
        assert!(
            (two.iteration_time(&work) - (one.iteration_time(&work) / 2.0 + comm)).abs() < 1e-12
        );
    }

    /// An all-reduce's latency grows by one step per doubling of the group, and a
    /// GEMM's efficiency falls as its per-accelerator width nears the half width.
    #[test]
    fn all_reduce_steps_and_thin_shards_cost_more_at_higher_tp() {
        let e = Efficiency {
            allreduce_latency_s: 10e-6,
            allreduce_step_latency_s: 30e-6,
            ..ideal()
        };
        let empty_batch_comm = |tp: u32| {
            let r = Roofline::new(tiny(), a100(), tp, e);
            r.c.communication_fixed
        };
        // 2 all-reduces × 10 layers × (10 µs + 30 µs × log2 tp).
        assert!((empty_batch_comm(2) - 20.0 * 40e-6).abs() < 1e-15);
        assert!((empty_batch_comm(8) - 20.0 * 100e-6).abs() < 1e-15);
        assert_eq!(empty_batch_comm(1), 0.0);
        // Width 1000 / tp against a half width of 250: 0.8 of peak at tp 1, 1/3 at 8.
        let thin = Efficiency {
            gemm_half_width: 250.0,
            ..ideal()
        };
        let prefill = BatchWork {
            prefill_tokens: 1e6,
            ..Default::default()
        };
        let ideal_one = Roofline::new(tiny(), a100(), 1, ideal()).iteration_time(&prefill);
        let one = Roofline::new(tiny(), a100(), 1, thin).iteration_time(&prefill);
        assert!((one / ideal_one - 1.0 / 0.8).abs() < 1e-9);
        let eight = Roofline::new(tiny(), a100(), 8, thin);
        let compute_eight = 1e6 * 2e9 / 8.0 / (a100().peak_flops / 3.0);
        let comm = eight.c.communication_per_token * 1e6;
        assert!((eight.iteration_time(&prefill) / (compute_eight + comm) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn overheads_add_and_empty_batches_take_no_time() {
        let mut e = ideal();
        e.iteration_overhead_s = 0.002;
        e.layer_overhead_s = 0.0001;
        let r = Roofline::new(tiny(), a100(), 1, e);
        assert_eq!(r.iteration_time(&BatchWork::default()), 0.0);
        let work = BatchWork {
            decode_requests: 1.0,
            ..Default::default()
        };
        let bare = Roofline::new(tiny(), a100(), 1, ideal()).iteration_time(&work);
        assert!((r.iteration_time(&work) - bare - 0.003).abs() < 1e-12);
        // Prompt work pays the context-phase overhead on top.
        e.prefill_layer_overhead_s = 0.0005;
        let r = Roofline::new(tiny(), a100(), 1, e);
        let prefill = BatchWork {
            prefill_tokens: 1.0,
            prefill_attention_pairs: 1.0,
            ..Default::default()
        };
        let bare = Roofline::new(tiny(), a100(), 1, ideal()).iteration_time(&prefill);
        assert!((r.iteration_time(&prefill) - bare - 0.008).abs() < 1e-12);
        assert!(
            (r.iteration_time(&work)
                - Roofline::new(tiny(), a100(), 1, ideal()).iteration_time(&work)
                - 0.003)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn an_overlap_loss_adds_that_share_of_the_hidden_side() {
        let mut e = ideal();
        e.overlap_loss = 0.25;
        let r = Roofline::new(tiny(), a100(), 1, e);
        let work = BatchWork {
            decode_requests: 8.0,
            decode_context_tokens: 800.0,
            ..Default::default()
        };
        // Linear: weights 2 GB read (memory-bound) with 8 tokens of compute hidden;
        // attention: 800 × 40 kB of KV read with its FLOPs hidden.
        let (lin_m, lin_c) = (2e9 / 2039e9, 8.0 * 2e9 / 312e12);
        let (att_m, att_c) = (
            800.0 * 40_000.0 / 2039e9,
            4.0 * 10.0 * 1000.0 * 800.0 / 312e12,
        );
        let want = lin_m + 0.25 * lin_c + att_m + 0.25 * att_c;
        assert!((r.iteration_time(&work) - want).abs() < 1e-15);
    }

    /// A mixture of experts: a one-token decode reads the shared weights and two of
    /// eight experts, a large batch all eight; compute counts the active parameters.
    #[test]
    fn a_mixture_of_experts_reads_the_experts_its_batch_touches() {
        // 8 experts of 3 · 10 · 1000 · 25 000 = 0.75e9 each: 6e9 in experts, 3e9 shared.
        let moe = LlmSpec {
            params: 9e9,
            experts: 8,
            experts_per_token: 2,
            intermediate: 25_000,
            ..tiny()
        };
        assert_eq!(moe.shared_params(), 3e9);
        let a = a100();
        let r = Roofline::new(moe.clone(), a.clone(), 1, ideal());
        let one = BatchWork {
            decode_requests: 1.0,
            ..BatchWork::default()
        };
        let read = (3e9 + 2.0 * 0.75e9) * 2.0 / a.memory_bandwidth;
        assert!((r.iteration_time(&one) / read - 1.0).abs() < 1e-9);
        let many = BatchWork {
            prefill_tokens: 100_000.0,
            prefill_attention_pairs: BatchWork::prefill_pairs(100_000.0, 0.0),
            ..BatchWork::default()
        };
        // Compute bound: 2 · (3e9 + 2 · 0.75e9) FLOPs per token, plus attention.
        let compute = 100_000.0 * 2.0 * 4.5e9 / a.peak_flops;
        let attention = many.prefill_attention_pairs * moe.attention_flops(1.0) / a.peak_flops;
        let t = r.iteration_time(&many);
        assert!(
            (t / (compute + attention) - 1.0).abs() < 1e-9,
            "{t} vs {compute} + {attention}"
        );
        // A batch of 64 tokens touches all but 8 · (3/4)^64 experts.
        let batch = BatchWork {
            decode_requests: 64.0,
            ..BatchWork::default()
        };
        let all = 9e9 * 2.0 / a.memory_bandwidth;
        assert!((r.iteration_time(&batch) / all - 1.0).abs() < 1e-6);
    }

    #[test]
    fn kv_capacity_is_memory_after_weights() {
        let r = Roofline::new(tiny(), a100(), 1, ideal());
        // 80 GB · 0.9 − 2 GB = 70 GB over 40 kB per token.
        assert_eq!(r.kv_capacity_tokens(0.1), 1_750_000.0);
        let mut huge = tiny();
        huge.params = 100e9;
        assert_eq!(
            Roofline::new(huge, a100(), 1, ideal()).kv_capacity_tokens(0.1),
            0.0
        );
    }

    #[test]
    fn a_profile_table_replaces_the_roofline() {
        let profile = ProfileTable {
            prefill: vec![(128.0, 0.010), (1024.0, 0.050), (4096.0, 0.200)],
            decode: vec![(1.0, 0.012), (32.0, 0.020)],
            decode_per_context_token_s: 1e-7,
        };
        let r = Roofline::new(tiny(), a100(), 1, ideal()).with_profile(profile);
        let prefill = |n: f64| BatchWork {
            prefill_tokens: n,
            ..Default::default()
        };
        assert!((r.iteration_time(&prefill(1024.0)) - 0.050).abs() < 1e-12);
        // Halfway between 1,024 and 4,096 tokens.
        assert!((r.iteration_time(&prefill(2560.0)) - 0.125).abs() < 1e-12);
        // Past the last point the last segment extends.
        assert!((r.iteration_time(&prefill(7168.0)) - 0.350).abs() < 1e-12);
        let decode = BatchWork {
            decode_requests: 16.5,
            decode_context_tokens: 10_000.0,
            ..Default::default()
        };
        assert!((r.iteration_time(&decode) - (0.016 + 0.001)).abs() < 1e-12);
        // The KV capacity still comes from the model and memory.
        assert_eq!(r.kv_capacity_tokens(0.1), 1_750_000.0);
    }
}
