//! The scenario schema of the inference cluster: node types, LLM models with their
//! serving configuration and SLA, and token-length distributions.
//!
//! ```yaml
//! hardware:
//!   - {name: gpu, preset: a100-80gb, max_count: 4}
//! models:
//!   - name: chat
//!     llm: {preset: llama-3.1-8b}
//!     placement: gpu
//!     replicas: 4
//!     serving: {max_batch: 256, max_batched_tokens: 8192}
//!     routing: least_outstanding
//!     sla: {ttft_p99: 2s, tpot_p99: 100ms}
//! workload:
//!   - model: chat
//!     arrivals: {poisson: {rate: 20/s}}
//!     input_tokens: {lognormal: {median: 512, sigma: 1.0, max: 8192}}
//!     output_tokens: 128
//! ```

use inferscale_engine::Dist;
use inferscale_workload::TokenDist;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::overrides::{HardwareFields, ModelFields, read_once, visit_entry};
use crate::units::Duration;

/// A node type of the cluster: a catalog preset, its quota, billing and spot terms,
/// and any field of the preset overridden (every key of [`HardwareFields`], e.g.
/// `price_per_hour: 2.5`, `memory_gb: 40`, `boot_time: 3m`).
#[derive(Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HardwareSpec {
    /// Name models use in `placement:`. Required.
    pub name: String,
    /// Catalog entry to start from (see `crates/scenario/catalog/hardware.yaml`), e.g.
    /// `a100-80gb`. Required.
    #[schemars(schema_with = "crate::catalog::hardware_preset")]
    pub preset: Spanned<String>,
    /// Most nodes of this type at once (the quota). Default: unlimited.
    #[serde(default)]
    pub max_count: Option<u32>,
    /// Weight loading bandwidth onto a node, GB/s. Default: 2.
    #[serde(default)]
    pub load_bandwidth_gb_s: Option<f64>,
    /// How a node is billed. Default: per second, one-minute minimum.
    #[serde(default)]
    pub billing: BillingSpec,
    /// Buy this node type as spot capacity: billed at its spot price (unless
    /// `price_per_hour` is given) and reclaimed by the provider, e.g.
    /// `spot: {mean_lifetime: 6h, notice: 2m}`. Default: on-demand.
    #[serde(default)]
    pub spot: Option<SpotSpec>,
    /// The preset's fields this entry overrides.
    #[serde(flatten)]
    pub overrides: HardwareFields,
}

impl<'de> Deserialize<'de> for HardwareSpec {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = HardwareSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hardware entry, e.g. `{name: gpu, preset: a100-80gb, max_count: 4}`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<HardwareSpec, A::Error> {
                use serde::de::Error as _;
                let (mut name, mut preset, mut max_count, mut load_bandwidth_gb_s) =
                    (None, None, None, None);
                let (mut billing, mut spot) = (None, None);
                let overrides = visit_entry(
                    map,
                    &[
                        "name",
                        "preset",
                        "max_count",
                        "load_bandwidth_gb_s",
                        "billing",
                        "spot",
                    ],
                    |key, map| match key {
                        "name" => read_once(&mut name, "name", map),
                        "preset" => read_once(&mut preset, "preset", map),
                        "max_count" => read_once(&mut max_count, "max_count", map),
                        "load_bandwidth_gb_s" => {
                            read_once(&mut load_bandwidth_gb_s, "load_bandwidth_gb_s", map)
                        }
                        "billing" => read_once(&mut billing, "billing", map),
                        _ => read_once(&mut spot, "spot", map),
                    },
                )?;
                Ok(HardwareSpec {
                    name: name.ok_or_else(|| A::Error::missing_field("name"))?,
                    preset: preset.ok_or_else(|| A::Error::missing_field("preset"))?,
                    max_count: max_count.flatten(),
                    load_bandwidth_gb_s: load_bandwidth_gb_s.flatten(),
                    billing: billing.unwrap_or_default(),
                    spot: spot.flatten(),
                    overrides,
                })
            }
        }
        de.deserialize_map(V)
    }
}

/// Spot terms of a hardware entry.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpotSpec {
    /// Mean time from a node's request to its reclaim (exponential). Required.
    pub mean_lifetime: crate::units::Duration,
    /// Warning before a reclaim: replicas drain from then on. Default: 2 min (AWS).
    #[serde(default = "two_minutes")]
    pub notice: crate::units::Duration,
}

fn two_minutes() -> crate::units::Duration {
    crate::units::Duration(inferscale_engine::SimDuration::from_secs(120))
}

/// Billing rules of a node type.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BillingSpec {
    /// Billing granularity. Default: `1s`.
    #[serde(default = "one_second")]
    pub granularity: Duration,
    /// Minimum billed time per node. Default: `60s`.
    #[serde(default = "one_minute")]
    pub minimum: Duration,
    /// Reserved (committed-use) capacity: `nodes` nodes paid for at a lower rate for
    /// the whole run whether they run or not, nodes beyond them on demand (with the
    /// granularity and minimum), e.g. `reserved: {nodes: 2, discount: 0.4}`.
    /// Default: every node on demand.
    #[serde(default)]
    pub reserved: Option<ReservedSpec>,
}

/// A commitment to a number of nodes (AWS Reserved Instances or Savings Plans, GCP
/// committed-use discounts), priced by `price_per_hour` or by `discount`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservedSpec {
    /// Nodes committed to (at least 1). Required.
    pub nodes: u32,
    /// Price of one committed node, dollars per hour. Give this or `discount`.
    #[serde(default)]
    pub price_per_hour: Option<f64>,
    /// The committed price as a share off the on-demand price: `0.4` pays 60% of
    /// it. Give this or `price_per_hour`.
    #[serde(default)]
    pub discount: Option<f64>,
}

impl Default for BillingSpec {
    fn default() -> Self {
        BillingSpec {
            granularity: one_second(),
            minimum: one_minute(),
            reserved: None,
        }
    }
}

fn one_second() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(1))
}

fn one_minute() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(60))
}

/// The `llm:` section of a model: a catalog preset and any field of its
/// architecture overridden (every key of [`ModelFields`], e.g. `dtype_bytes: 1` for
/// FP8 weights, `max_context: 32768`).
#[derive(Debug, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmModelSpec {
    /// Catalog entry (see `crates/scenario/catalog/models.yaml`), e.g. `llama-3.1-8b`.
    #[schemars(schema_with = "crate::catalog::model_preset")]
    pub preset: Spanned<String>,
    /// The preset's fields this section overrides.
    #[serde(flatten)]
    pub overrides: ModelFields,
}

impl<'de> Deserialize<'de> for LlmModelSpec {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LlmModelSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an `llm:` section, e.g. `{preset: llama-3.1-8b}`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<LlmModelSpec, A::Error> {
                use serde::de::Error as _;
                let mut preset = None;
                let overrides = visit_entry(map, &["preset"], |_, map| {
                    read_once(&mut preset, "preset", map)
                })?;
                Ok(LlmModelSpec {
                    preset: preset.ok_or_else(|| A::Error::missing_field("preset"))?,
                    overrides,
                })
            }
        }
        de.deserialize_map(V)
    }
}

/// The `classic:` section of a model: a catalog entry with measured batch latencies.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassicModelSpec {
    /// Catalog entry (see `crates/scenario/catalog/classic.yaml`), e.g. `resnet-50`.
    #[schemars(schema_with = "crate::catalog::classic_preset")]
    pub preset: Spanned<String>,
}

/// How each replica of an LLM serves (vLLM's knobs and the performance model).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServingSpec {
    /// `classic:` models — longest a request waits for a batch to fill (Triton's
    /// `max_queue_delay`). Default: `0s` (batch whatever waits when a replica frees).
    #[serde(default)]
    pub max_queue_delay: Duration,
    /// Most requests running at once (vLLM `max_num_seqs`; for `classic:` models, the
    /// largest batch). Default: 256.
    #[serde(default = "default_max_batch")]
    pub max_batch: u32,
    /// Most prompt tokens per iteration (vLLM `max_num_batched_tokens`). Default: 8192.
    #[serde(default = "default_max_batched_tokens")]
    pub max_batched_tokens: u32,
    /// Tokens per KV block. Default: 16.
    #[serde(default = "default_block_size")]
    pub block_size: u32,
    /// Share of accelerator memory kept free of weights and KV cache. Default: 0.1.
    #[serde(default = "default_memory_margin")]
    pub memory_margin: f64,
    /// Mix prompt chunks into decode iterations (vLLM `enable_chunked_prefill`).
    /// Default: false.
    #[serde(default)]
    pub chunked_prefill: bool,
    /// Reuse the KV blocks of cached prompt prefixes (vLLM's automatic prefix
    /// caching, `enable_prefix_caching`, on by default in vLLM v1). It acts on
    /// requests that carry their prompt's blocks; workloads that do not are served
    /// exactly as without it. Default: true.
    #[serde(default = "default_true")]
    pub prefix_caching: bool,
    /// Container start added to the weight load time. Default: `30s`.
    #[serde(default = "default_container_start")]
    pub container_start: Duration,
    /// Override the serving stack's efficiencies (see `serving.engine`).
    #[serde(default)]
    pub efficiency: EfficiencySpec,
    /// Measured iteration times that replace the roofline. Default: none.
    #[serde(default)]
    pub profile: Option<ProfileSpec>,
    /// Longest sequence a replica serves, prompt plus output, in tokens (vLLM
    /// `max_model_len`). A prompt that leaves no room for an output token is
    /// refused (counted in `rejected`); an output that would run past the limit
    /// stops there (counted in `truncated`). Default: the model's `max_context`;
    /// it cannot exceed it.
    #[serde(default)]
    pub max_model_len: Option<u32>,
    /// KV blocks per replica, instead of what the accelerators' memory leaves after
    /// the weights (vLLM `num_gpu_blocks_override`): a smaller cache, to study
    /// memory pressure or a prefix cache of a chosen size. At most what the memory
    /// holds. Default: computed from memory.
    #[serde(default)]
    pub num_gpu_blocks_override: Option<u64>,
    /// Time the serving stack adds outside the engine to each request's TTFT and
    /// end-to-end latency: the API server receiving and tokenizing it and streaming
    /// its tokens back. Default: the engine's (7.7 ms for `vllm`, `0s` for `tensorrt-llm`).
    #[serde(default)]
    pub client_latency: Option<Duration>,
    /// The client sees a token when the engine step after the one that computed it
    /// ends (an engine that streams a step's output while running the next). Counts
    /// in TTFT and end-to-end latency. Default: the engine's.
    #[serde(default)]
    pub deliver_after_next_step: Option<bool>,
    /// The clients give up on a request this long after sending it (inference-perf's
    /// request timeout): the replica aborts it wherever it is and frees its KV
    /// cache; it counts as timed out. Unlike the model's `timeout` (a wait in the
    /// queue), it also ends running requests. Default: none.
    #[serde(default)]
    pub client_timeout: Option<Duration>,
    /// The serving stack (`crates/scenario/catalog/engines.yaml`): its efficiencies,
    /// fixed costs, client latency and token delivery, each fitted on the
    /// measurements the entry names; `efficiency:`, `client_latency` and
    /// `deliver_after_next_step` override its fields; or a profile file
    /// (`*.yaml`, relative to the scenario, as `inferscale calibrate --fit` writes).
    /// Default: `vllm` (vLLM V1, fitted on real H100 measurements);
    /// `tensorrt-llm`: the roofline's original calibration on TensorRT-LLM's
    /// published A100 numbers; `splitwise-2023`: a 2023 A100 stack.
    #[serde(default)]
    #[schemars(schema_with = "crate::catalog::engine_preset")]
    pub engine: Option<String>,
}

/// Measured iteration times of one replica: how long a prefill of N prompt tokens and
/// a decode step of B requests take, and the attention cost per context token.
///
/// ```yaml
/// profile:
///   prefill: [[128, 12ms], [1024, 55ms], [4096, 210ms]]   # prompt tokens → time
///   decode:  [[1, 11ms], [32, 14ms], [128, 22ms]]         # decoding requests → time
///   decode_per_context_token: 80ns
/// ```
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// (prompt tokens, time) points, increasing in tokens. Required.
    pub prefill: Vec<(f64, Duration)>,
    /// (decoding requests, time) points, increasing in requests. Required.
    pub decode: Vec<(f64, Duration)>,
    /// Time per context token attended by decode. Default: `0s`.
    #[serde(default)]
    pub decode_per_context_token: Duration,
}

impl Default for ServingSpec {
    fn default() -> Self {
        ServingSpec {
            max_batch: default_max_batch(),
            max_batched_tokens: default_max_batched_tokens(),
            block_size: default_block_size(),
            memory_margin: default_memory_margin(),
            chunked_prefill: false,
            prefix_caching: true,
            num_gpu_blocks_override: None,
            client_latency: None,
            deliver_after_next_step: None,
            client_timeout: None,
            engine: None,
            container_start: default_container_start(),
            efficiency: EfficiencySpec::default(),
            profile: None,
            max_queue_delay: Duration::default(),
            max_model_len: None,
        }
    }
}

fn default_max_batch() -> u32 {
    256
}
fn default_max_batched_tokens() -> u32 {
    8192
}
fn default_block_size() -> u32 {
    16
}
fn default_memory_margin() -> f64 {
    0.1
}
fn default_container_start() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(30))
}

/// Overrides of the serving stack's efficiency factors (`serving.engine`); unset
/// fields keep the stack's.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EfficiencySpec {
    /// Share of peak FLOP/s reached by compute-bound work.
    #[serde(default)]
    pub compute: Option<f64>,
    /// Share of peak memory bandwidth reached by memory-bound work (the weights).
    #[serde(default)]
    pub memory: Option<f64>,
    /// Share of peak memory bandwidth reached reading the KV cache in decode
    /// attention. Default: `memory` when that is set here, else the engine's.
    #[serde(default)]
    pub kv_memory: Option<f64>,
    /// Fixed time added to every iteration.
    #[serde(default)]
    pub iteration_overhead: Option<Duration>,
    /// Time per layer added to every iteration (eager, graph-less stacks).
    #[serde(default)]
    pub layer_overhead: Option<Duration>,
    /// Time per layer added to every iteration that processes prompt tokens (the
    /// context phase's unfused kernels).
    #[serde(default)]
    pub prefill_layer_overhead: Option<Duration>,
    /// Latency of one all-reduce between tensor-parallel accelerators, its fixed
    /// part.
    #[serde(default)]
    pub allreduce_latency: Option<Duration>,
    /// Latency an all-reduce adds per doubling of the tensor-parallel group (its
    /// log2(tp) steps): the all-reduce takes `allreduce_latency + this × log2(tp)`.
    #[serde(default)]
    pub allreduce_step_latency: Option<Duration>,
    /// Hockney's half-performance width of the linear layers' GEMMs, in output
    /// columns per accelerator (hidden / tp): compute efficiency is
    /// `compute × w / (w + this)`, falling as tensor parallelism thins the shards.
    /// 0: none.
    #[serde(default)]
    pub gemm_half_width: Option<f64>,
    /// Share of the shorter of compute and memory time not hidden behind the
    /// longer, in [0, 1] (0: a perfect roofline).
    #[serde(default)]
    pub overlap_loss: Option<f64>,
}

/// How a model's replicas start (`initial:`).
#[derive(Clone, Copy, Debug, Default, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InitialSpec {
    /// Nodes boot and weights load from time zero (the default).
    #[default]
    Cold,
    /// Booted and loaded at time zero, billed from it.
    Ready,
}

/// How a model's router spreads requests over its ready replicas: a name
/// (`routing: kv_aware`, parameters at their defaults) or a name with parameters
/// (`routing: {kv_aware: {prefix: 3, queue: 2}}`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum RoutingSpec {
    /// Each replica in turn.
    RoundRobin,
    /// A uniformly random replica.
    Random,
    /// The replica with the fewest requests waiting or running (the default).
    #[default]
    LeastOutstanding,
    /// The replica with the fewest requests waiting.
    ShortestQueue,
    /// The less loaded of two random replicas.
    PowerOfTwo,
    /// Prefix affinity: consistent hashing on the prompt's leading blocks.
    PrefixAffinity(PrefixAffinitySpec),
    /// The KV-aware scorer: cached-prefix overlap weighed against load.
    KvAware(KvAwareSpec),
    /// Least outstanding requests, less a bonus for the cached prefix.
    LeastLoadedCache(LeastLoadedCacheSpec),
}

/// `prefix_affinity`: a request goes to the replica its prompt's first
/// `prefix_blocks` KV blocks hash to (rendezvous hashing, so a replica joining or
/// leaving moves only its own share), unless that replica holds more than
/// `load_factor` times the mean outstanding requests: then the next replica in the
/// hash order (consistent hashing with bounded loads, Mirrokni et al. 2018). A
/// request whose workload names no blocks goes to the least outstanding replica.
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrefixAffinitySpec {
    /// Leading KV blocks hashed (a prompt with fewer uses all its full blocks).
    /// Deep enough to pass a shared system prompt, or every request hashes alike and
    /// the load bound alone spreads them. Default: 128 (2,048 tokens at vLLM's
    /// 16-token blocks).
    #[serde(default = "default_affinity_blocks")]
    pub prefix_blocks: u32,
    /// Most outstanding requests a replica takes, as a multiple of the mean over
    /// replicas (the new request counted); at least 1. Default: 1.25.
    #[serde(default = "default_load_factor")]
    pub load_factor: f64,
}

/// `kv_aware`: every ready replica is scored and the best taken (ties at random),
/// as llm-d's inference scheduler scores pods: `prefix × cached share of the
/// prompt's blocks + queue × queue score + running × running score + kv_utilization
/// × (1 − KV blocks in use / KV blocks)`, where a queue or running score is
/// `(max − n) / (max − min)` over the replicas (1 when all are equal). The defaults
/// are llm-d's default profile (prefix-cache 3, queue 2, KV utilization 2).
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KvAwareSpec {
    /// Weight of the cached-prefix share. Default: 3.
    #[serde(default = "default_prefix_weight")]
    pub prefix: f64,
    /// Weight of the waiting-queue score. Default: 2.
    #[serde(default = "default_queue_weight")]
    pub queue: f64,
    /// Weight of the running-requests score. Default: 0.
    #[serde(default)]
    pub running: f64,
    /// Weight of the free-KV share. Default: 2.
    #[serde(default = "default_kv_weight")]
    pub kv_utilization: f64,
}

/// `least_loaded_cache`: the replica with the least `outstanding requests − bonus ×
/// cached share of the prompt's blocks` (ties to the first), so a full cache hit is
/// worth `bonus` requests of load.
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LeastLoadedCacheSpec {
    /// Outstanding requests a wholly cached prompt outweighs. Default: 4.
    #[serde(default = "default_cache_bonus")]
    pub bonus: f64,
}

fn default_affinity_blocks() -> u32 {
    128
}
fn default_load_factor() -> f64 {
    1.25
}
fn default_prefix_weight() -> f64 {
    3.0
}
fn default_queue_weight() -> f64 {
    2.0
}
fn default_kv_weight() -> f64 {
    2.0
}
fn default_cache_bonus() -> f64 {
    4.0
}

impl Default for PrefixAffinitySpec {
    fn default() -> Self {
        PrefixAffinitySpec {
            prefix_blocks: default_affinity_blocks(),
            load_factor: default_load_factor(),
        }
    }
}

impl Default for KvAwareSpec {
    fn default() -> Self {
        KvAwareSpec {
            prefix: default_prefix_weight(),
            queue: default_queue_weight(),
            running: 0.0,
            kv_utilization: default_kv_weight(),
        }
    }
}

impl Default for LeastLoadedCacheSpec {
    fn default() -> Self {
        LeastLoadedCacheSpec {
            bonus: default_cache_bonus(),
        }
    }
}

/// The routing names, as `routing:` takes them.
pub const ROUTING_NAMES: [&str; 8] = [
    "round_robin",
    "random",
    "least_outstanding",
    "shortest_queue",
    "power_of_two",
    "prefix_affinity",
    "kv_aware",
    "least_loaded_cache",
];

/// The parametrised routings as a mapping (`{kv_aware: {prefix: 3}}`).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RoutingFamily {
    PrefixAffinity(#[serde(default)] PrefixAffinitySpec),
    KvAware(#[serde(default)] KvAwareSpec),
    LeastLoadedCache(#[serde(default)] LeastLoadedCacheSpec),
}

impl RoutingSpec {
    /// The routing named `name`, parameters at their defaults.
    pub fn named(name: &str) -> Option<RoutingSpec> {
        Some(match name {
            "round_robin" => RoutingSpec::RoundRobin,
            "random" => RoutingSpec::Random,
            "least_outstanding" => RoutingSpec::LeastOutstanding,
            "shortest_queue" => RoutingSpec::ShortestQueue,
            "power_of_two" => RoutingSpec::PowerOfTwo,
            "prefix_affinity" => RoutingSpec::PrefixAffinity(Default::default()),
            "kv_aware" => RoutingSpec::KvAware(Default::default()),
            "least_loaded_cache" => RoutingSpec::LeastLoadedCache(Default::default()),
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for RoutingSpec {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RoutingSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(
                    f,
                    "a routing name ({}) or a name with parameters such as `{{kv_aware: {{prefix: 3}}}}`",
                    ROUTING_NAMES.map(|n| format!("`{n}`")).join(", ")
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                RoutingSpec::named(v).ok_or_else(|| E::unknown_variant(v, &ROUTING_NAMES))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Ok(
                    match RoutingFamily::deserialize(serde::de::value::MapAccessDeserializer::new(
                        map,
                    ))? {
                        RoutingFamily::PrefixAffinity(p) => RoutingSpec::PrefixAffinity(p),
                        RoutingFamily::KvAware(k) => RoutingSpec::KvAware(k),
                        RoutingFamily::LeastLoadedCache(l) => RoutingSpec::LeastLoadedCache(l),
                    },
                )
            }
        }
        de.deserialize_any(V)
    }
}

impl schemars::JsonSchema for RoutingSpec {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RoutingSpec".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let family = generator.subschema_for::<RoutingFamily>().to_value();
        schemars::json_schema!({
            "description": "How the router spreads requests over ready replicas: a name, or a cache-aware routing with parameters (`{kv_aware: {prefix: 3, queue: 2}}`).",
            "anyOf": [{"enum": ROUTING_NAMES}, family]
        })
    }
}

/// Per-request latency targets. A request meets the SLA when it meets every target
/// given; `*_p99` names say the targets are meant for the 99th percentile, and the
/// results report both the share of requests within them and the p99 itself.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    /// Arrival → first token.
    #[serde(default)]
    pub ttft_p99: Option<Duration>,
    /// Time per output token after the first.
    #[serde(default)]
    pub tpot_p99: Option<Duration>,
    /// Arrival → last token.
    #[serde(default)]
    pub e2e_p99: Option<Duration>,
}

/// A distribution of token counts, as written in a workload.
///
/// ```yaml
/// input_tokens: 512                                          # fixed
/// input_tokens: {uniform: [128, 1024]}
/// input_tokens: {lognormal: {median: 512, sigma: 1.0, max: 8192}}
/// input_tokens: {lognormal: {mean: 700, scv: 1.5, min: 1, max: 8192}}
/// input_tokens: {normal: {mean: 512, sd: 128, min: 16, max: 2048}}   # truncated (redrawn)
/// input_tokens: {pareto: {min: 64, shape: 1.5, max: 32768}}          # heavy tail
/// input_tokens: {zipf: {max: 8192, exponent: 1.1}}                   # P(k) ∝ k^-1.1
/// input_tokens: {empirical: {path: lengths.csv, column: num_prefill_tokens, max: 8192}}
/// ```
///
/// Other families clamp to `[min, max]`: a draw beyond `max` counts as `max`.
/// Checked while deserializing; an `empirical:` column keeps its path until
/// the build step reads it.
#[derive(Clone, Debug)]
pub struct TokenCounts(TokenRecipe);

#[derive(Clone, Debug)]
enum TokenRecipe {
    Ready(TokenDist),
    Column {
        path: std::path::PathBuf,
        column: String,
        max: u32,
    },
}

impl TokenCounts {
    /// The distribution, reading an empirical column through `files`.
    pub(crate) fn build(&self, files: &crate::files::Files) -> Result<TokenDist, String> {
        match &self.0 {
            TokenRecipe::Ready(d) => Ok(d.clone()),
            TokenRecipe::Column { path, column, max } => files.token_column(path, column, *max),
        }
    }
}

impl<'de> Deserialize<'de> for TokenCounts {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = TokenCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a token count (`512`) or a distribution such as `{lognormal: {median: 512, sigma: 1.0}}`")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<TokenCounts, E> {
                match u32::try_from(n) {
                    Ok(n) if n >= 1 => Ok(TokenCounts(TokenRecipe::Ready(TokenDist::fixed(n)))),
                    _ => Err(E::custom(format!(
                        "a token count must be between 1 and {}, got {n}",
                        u32::MAX
                    ))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<TokenCounts, E> {
                if n < 1 {
                    Err(E::custom(format!(
                        "a token count must be at least 1, got {n}"
                    )))
                } else {
                    self.visit_u64(n as u64)
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<TokenCounts, A::Error> {
                let family =
                    TokenFamily::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                family
                    .build()
                    .map(TokenCounts)
                    .map_err(serde::de::Error::custom)
            }
        }
        de.deserialize_any(V)
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum TokenFamily {
    Uniform([u32; 2]),
    Lognormal(LognormalTokens),
    Normal(NormalTokens),
    Pareto(ParetoTokens),
    Zipf(ZipfTokens),
    Empirical(EmpiricalTokens),
}

/// `{zipf: {max: 4096, exponent: 1.1}}`: P(k) ∝ k^−exponent over 1..=max.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ZipfTokens {
    max: u32,
    exponent: f64,
}

/// `{empirical: {path: lengths.csv, column: num_decode_tokens, max: 8192}}`: counts
/// drawn uniformly from one column of a CSV file (relative to the scenario's directory).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct EmpiricalTokens {
    path: std::path::PathBuf,
    column: String,
    max: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct NormalTokens {
    mean: f64,
    sd: f64,
    min: Option<u32>,
    max: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ParetoTokens {
    /// Smallest count (the Pareto scale).
    min: f64,
    /// Tail index.
    shape: f64,
    max: Option<u32>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LognormalTokens {
    median: Option<f64>,
    sigma: Option<f64>,
    mean: Option<f64>,
    scv: Option<f64>,
    min: Option<u32>,
    max: Option<u32>,
}

impl TokenFamily {
    fn build(self) -> Result<TokenRecipe, String> {
        match self {
            TokenFamily::Normal(n) => {
                let dist = Dist::normal(n.mean, n.sd).map_err(|e| e.to_string())?;
                let (min, max) = (n.min.unwrap_or(1).max(1), n.max.unwrap_or(1 << 20));
                if max < min {
                    return Err(format!("`max` ({max}) is below `min` ({min})"));
                }
                Ok(TokenRecipe::Ready(TokenDist::truncated(dist, min, max)))
            }
            TokenFamily::Pareto(p) => {
                let dist = Dist::pareto(p.min, p.shape).map_err(|e| e.to_string())?;
                let min = (p.min.round() as u32).max(1);
                Ok(TokenRecipe::Ready(TokenDist::new(
                    dist,
                    min,
                    p.max.unwrap_or(1 << 20).max(min),
                )))
            }
            TokenFamily::Zipf(z) => {
                if z.max == 0 || z.max > 1 << 24 {
                    return Err(format!(
                        "zipf `max` must be between 1 and {}, got {}",
                        1 << 24,
                        z.max
                    ));
                }
                let dist = Dist::zipf(u64::from(z.max), z.exponent).map_err(|e| e.to_string())?;
                Ok(TokenRecipe::Ready(TokenDist::new(dist, 1, z.max)))
            }
            TokenFamily::Empirical(e) => Ok(TokenRecipe::Column {
                path: e.path,
                column: e.column,
                max: e.max.unwrap_or(1 << 20),
            }),
            TokenFamily::Uniform([low, high]) => {
                if low == 0 || high < low {
                    return Err(format!(
                        "uniform token counts need 1 <= low <= high, got [{low}, {high}]"
                    ));
                }
                let dist = Dist::uniform(f64::from(low) - 0.5, f64::from(high) + 0.5)
                    .map_err(|e| e.to_string())?;
                Ok(TokenRecipe::Ready(TokenDist::new(dist, low, high)))
            }
            TokenFamily::Lognormal(l) => {
                let dist = match (l.median, l.sigma, l.mean, l.scv) {
                    (Some(median), Some(sigma), None, None) => Dist::lognormal_median_sigma(median, sigma),
                    (None, None, Some(mean), Some(scv)) => Dist::lognormal_mean_scv(mean, scv),
                    _ => {
                        return Err("lognormal token counts take `median` and `sigma` or `mean` and `scv`, \
                                    e.g. {median: 512, sigma: 1.0, max: 8192}"
                            .into());
                    }
                }
                .map_err(|e| e.to_string())?;
                let min = l.min.unwrap_or(1).max(1);
                let max = l.max.unwrap_or(1 << 20);
                if max < min {
                    return Err(format!("`max` ({max}) is below `min` ({min})"));
                }
                Ok(TokenRecipe::Ready(TokenDist::new(dist, min, max)))
            }
        }
    }
}

impl schemars::JsonSchema for TokenCounts {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TokenCounts".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        crate::units::bare_or::<TokenFamily>(
            generator,
            serde_json::json!({"type": "integer", "minimum": 1, "maximum": u32::MAX}),
            "A token count (`512`) or a distribution such as `{lognormal: {median: 512, sigma: 1.0}}`.",
        )
    }
}

fn default_true() -> bool {
    true
}
