//! The scenario file's schema: the serde types a YAML scenario deserializes into.
//!
//! Every struct refuses unknown keys, every field documents its default, and every
//! value with a constraint checks it while deserializing, so a mistake is reported at
//! the line and column where it was written.

use std::num::NonZeroU32;
use std::path::PathBuf;

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};

pub use crate::units::DurationDist;
use crate::units::{Duration, Rate};

/// A whole scenario file.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Name of the study. Required; names the default output directory
    /// `results/<name>/` and the `scenario` column of the results. Letters, digits,
    /// `-`, `_` and `.` only, so it is safe as a directory name.
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Free text for readers of the file. Default: none.
    #[serde(default)]
    pub description: Option<String>,
    /// Master seed of every random stream. Default: 1.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Independent replications, each with its own random streams; confidence intervals
    /// are taken across them. Default: 1 (no confidence interval).
    #[serde(
        default = "default_replications",
        deserialize_with = "replication_count"
    )]
    pub replications: NonZeroU32,
    /// Simulated time of one replication, warm-up included. Required, e.g. `2h`.
    #[schemars(with = "Duration")]
    pub duration: Spanned<Duration>,
    /// Initial part of each replication excluded from statistics so that the empty
    /// start does not bias them. Must be shorter than `duration`. Default: `0s`.
    #[serde(default = "default_warmup")]
    #[schemars(with = "Duration")]
    pub warmup: Spanned<Duration>,
    /// Node types the cluster may rent (for `llm:` models). Default: none.
    #[serde(default)]
    pub hardware: Vec<crate::llm_schema::HardwareSpec>,
    /// The models served. Required: one `generic:` model, or any number of `llm:`
    /// models.
    #[schemars(with = "Vec<ModelSpec>")]
    pub models: Spanned<Vec<Spanned<ModelSpec>>>,
    /// Where requests come from, one entry per model. Required.
    #[schemars(with = "Vec<WorkloadSpec>")]
    pub workload: Spanned<Vec<WorkloadSpec>>,
    /// Where and how results are written. Default: `results/<name>/`.
    #[serde(default)]
    pub output: OutputSpec,
    /// The scaling loop (monitor → predict → decide → execute). Default: none, every
    /// model keeps its `replicas`.
    #[serde(default)]
    #[schemars(with = "Option<crate::policy_schema::PolicySpec>")]
    pub policy: Option<Spanned<crate::policy_schema::PolicySpec>>,
    /// Many runs from this one file: a grid over field paths, zipped axes and named
    /// variants (see [`crate::sweep`]). The file without it is the sweep's base and
    /// must itself be a valid scenario. Default: none, one point.
    #[serde(default)]
    #[schemars(with = "Option<SweepSchema>")]
    pub sweep: Option<Spanned<SweepSpec>>,
}

/// The `sweep:` section as written: keys in file order, each value with its location.
/// Its meaning is checked by [`crate::sweep`], which reports errors at these locations.
pub type SweepSpec = indexmap::IndexMap<String, Spanned<serde_json::Value>>;

fn default_seed() -> u64 {
    1
}

/// A count that must be 1 or more, with an error that says so in words.
fn at_least_one<'de, D: serde::Deserializer<'de>>(de: D) -> Result<NonZeroU32, D::Error> {
    let n = u32::deserialize(de)?;
    NonZeroU32::new(n).ok_or_else(|| serde::de::Error::custom("must be at least 1, got 0"))
}

/// Most replications a scenario may ask for: far past what a confidence interval
/// needs, and small enough that planning the runs takes no memory to speak of.
pub const MAX_REPLICATIONS: u32 = 100_000;

fn replication_count<'de, D: serde::Deserializer<'de>>(de: D) -> Result<NonZeroU32, D::Error> {
    let n = at_least_one(de)?;
    if n.get() > MAX_REPLICATIONS {
        return Err(serde::de::Error::custom(format!(
            "at most {MAX_REPLICATIONS} replications, got {n}; a 95% interval narrows as 1/√n, \
             so 100 replications already give a tenth of the width of one"
        )));
    }
    Ok(n)
}

fn default_replications() -> NonZeroU32 {
    NonZeroU32::MIN
}

fn default_warmup() -> Spanned<Duration> {
    Spanned {
        value: Duration::default(),
        referenced: Location::UNKNOWN,
        defined: Location::UNKNOWN,
    }
}

/// A model: its name and what serving one request involves — exactly one of
/// `generic:` and `llm:`.
///
/// ```yaml
/// models:
///   - name: svc
///     generic: {servers: 8, service_time: {exponential: {mean: 1s}}}
///   - name: chat
///     llm: {preset: llama-3.1-8b}
///     placement: gpu
///     replicas: 4
/// ```
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Name that workloads refer to. Required.
    pub name: String,
    /// A generic model: requests each need a random amount of service from one of
    /// `servers` identical servers behind a FIFO queue (the textbook G/G/c queue).
    #[serde(default)]
    pub generic: Option<GenericModelSpec>,
    /// A large language model served with continuous batching.
    #[serde(default)]
    pub llm: Option<crate::llm_schema::LlmModelSpec>,
    /// A classic model (classifier, encoder) served with dynamic batching.
    #[serde(default)]
    pub classic: Option<crate::llm_schema::ClassicModelSpec>,
    /// `llm:` only — the `hardware:` entry replicas run on. Required for LLMs.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub placement: Option<Spanned<String>>,
    /// `llm:` only — accelerators per replica (tensor parallelism). Default: 1.
    #[serde(default = "default_tp")]
    pub tp: u32,
    /// `llm:` only — replicas to run (the static policy). Default: 1.
    #[serde(default = "default_tp")]
    pub replicas: u32,
    /// `llm:` only — how each replica serves. Default: vLLM's defaults.
    #[serde(default)]
    pub serving: crate::llm_schema::ServingSpec,
    /// `llm:` only — how requests are spread over replicas. Default:
    /// `least_outstanding`.
    #[serde(default)]
    pub routing: crate::llm_schema::RoutingSpec,
    /// `llm:` only — most requests waiting per replica (and at the router while no
    /// replica is ready); more are dropped. Default: unbounded.
    #[serde(default)]
    pub max_queue: Option<u32>,
    /// `llm:` only — drop a request not admitted this long after it arrived.
    /// Default: never.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// `llm:` only — latency targets. Default: none (every request meets it).
    #[serde(default)]
    pub sla: crate::llm_schema::SlaSpec,
    /// `llm:` and `classic:` only — how the run starts: `cold` (the default: nodes
    /// are requested at time zero, boot, and replicas load their weights before they
    /// serve; requests that arrive meanwhile wait at the router) or `ready` (the
    /// initial `replicas:` are booted and loaded at time zero and billed from it, so a
    /// study of steady state need not spend its warm-up on a cold start).
    #[serde(default)]
    #[schemars(with = "Option<crate::llm_schema::InitialSpec>")]
    pub initial: Option<Spanned<crate::llm_schema::InitialSpec>>,
    /// Serve another model's requests: this entry is that model on other hardware
    /// (say a CPU pool beside a GPU one). It joins that model's router, so requests go
    /// to whichever replica is free; workloads name the other model. A variant may
    /// start with `replicas: 0` for a policy to scale. Default: none.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub variant_of: Option<Spanned<String>>,
}

fn default_tp() -> u32 {
    1
}

/// The `generic:` section of a model.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenericModelSpec {
    /// Requests served at once (the `c` of M/M/c), at least 1. Default: 1.
    #[serde(default = "default_servers", deserialize_with = "at_least_one")]
    pub servers: NonZeroU32,
    /// Time one request occupies a server. Required, e.g. `{exponential: {mean: 1s}}`.
    pub service_time: DurationDist,
}

fn default_servers() -> NonZeroU32 {
    NonZeroU32::MIN
}

/// Requests for one model.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Name of the model in `models:` these requests are for. Required.
    #[schemars(with = "String")]
    pub model: Spanned<String>,
    /// When requests arrive, e.g. `{poisson: {rate: 40/s}}`. Required unless `trace:`
    /// gives arrivals and sizes.
    #[serde(default)]
    pub arrivals: Option<ArrivalSpec>,
    /// `llm:` models — replay a request trace in its native format instead of
    /// `arrivals:` and token distributions.
    #[serde(default)]
    #[schemars(with = "Option<TraceSpec>")]
    pub trace: Option<Spanned<TraceSpec>>,
    /// `llm:` models — draw (input, output) token pairs whole from the rows of a file,
    /// instead of `input_tokens:` and `output_tokens:`.
    #[serde(default)]
    #[schemars(with = "Option<SizesSpec>")]
    pub sizes: Option<Spanned<SizesSpec>>,
    /// `llm:` models only — prompt tokens per request. Required for LLMs.
    #[serde(default)]
    pub input_tokens: Option<crate::llm_schema::TokenCounts>,
    /// `llm:` models only — output tokens per request. Required for LLMs.
    #[serde(default)]
    pub output_tokens: Option<crate::llm_schema::TokenCounts>,
}

/// An arrival process, checked while deserializing; one that reads a file (a rate
/// `series:`, `servegen:`) keeps its path until the build step.
///
/// ```yaml
/// arrivals: {poisson: {rate: 40/s}}
/// arrivals: {poisson: {rate: {diurnal: {mean: 40/s, peak_to_trough: 4, period: 24h, phase: 6h}}}}
/// arrivals: {poisson: {rate: {piecewise: {points: [[0s, 10/s], [1h, 40/s]], interpolation: linear}}}}
/// arrivals: {poisson: {rate: {ramp: {from: 10/s, to: 40/s, start: 10m, duration: 20m}}}}
/// arrivals: {poisson: {rate: {sum: [20/s, {spike: {start: 30m, rise: 2m, height: 200/s, decay: 10m}}]}}}
/// arrivals: {gamma: {rate: 40/s, cv: 2}}            # renewal, also `weibull`
/// arrivals: {mmpp: {rates: [5/s, 50/s], mean_durations: [10m, 1m]}}
/// arrivals: {servegen: {path: traces/servegen/raw/reason/deepseek-r1, speedup: 1}}
/// arrivals: {stages: [{rate: 8/s, duration: 10m}, {rate: 20/s, duration: 10m}]}
/// ```
///
/// `stages` is inference-perf's `constant` load (`load: {type: constant, stages:
/// [...]}`): each stage sends exactly ⌊rate × duration⌋ requests, spread at random
/// over the stage with the last at its end; `poisson` is its `poisson` load.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "ArrivalFamily")]
#[schemars(with = "ArrivalFamily")]
pub struct ArrivalSpec(ArrivalRecipe);

#[derive(Clone, Debug)]
enum ArrivalRecipe {
    /// A process that needs no file.
    Ready(inferscale_workload::ArrivalProcess),
    /// Poisson arrivals at a rate that reads a series.
    Poisson(crate::rates::RateSpec),
    /// ServeGen client windows.
    Servegen(ServegenSpec),
}

impl ArrivalSpec {
    /// The process, reading its files (if any) through `files`.
    pub(crate) fn build(
        &self,
        files: &crate::files::Files,
    ) -> Result<inferscale_workload::ArrivalProcess, String> {
        match &self.0 {
            ArrivalRecipe::Ready(p) => Ok(p.clone()),
            ArrivalRecipe::Poisson(rate) => Ok(inferscale_workload::ArrivalProcess::varying(
                rate.build(files)?,
            )),
            ArrivalRecipe::Servegen(g) => files.servegen(&g.path, g.speedup, g.rate_scale),
        }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ArrivalFamily {
    Poisson(PoissonSpec),
    Gamma(RenewalSpec),
    Weibull(RenewalSpec),
    Mmpp(MmppSpec),
    Servegen(ServegenSpec),
    Stages(Vec<StageSpec>),
}

/// One stage of inference-perf's `constant` load.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct StageSpec {
    /// Requests per unit of time (`8/s`; zero for a pause).
    rate: Rate,
    /// How long the stage lasts (`600s`, `10m`).
    duration: Duration,
}

/// ServeGen per-client window files: one file, or every `*.csv` of a directory (each
/// a client; their arrivals are merged).
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ServegenSpec {
    /// A client file or a directory of them, relative to the scenario file.
    path: PathBuf,
    /// Replay this many times faster. Default: 1.
    #[serde(default = "default_speedup")]
    speedup: f64,
    /// Multiply every window's rate by this. Default: 1.
    #[serde(default = "default_speedup")]
    rate_scale: f64,
}

impl ServegenSpec {
    fn check(&self) -> Result<(), String> {
        for (name, v) in [("speedup", self.speedup), ("rate_scale", self.rate_scale)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("`{name}` must be greater than zero, got {v}"));
            }
        }
        Ok(())
    }
}

/// Parameters of a Poisson process.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, try_from = "RawPoisson")]
#[schemars(with = "RawPoisson")]
pub struct PoissonSpec {
    /// Arrivals per unit of time: a constant (`40/s`, greater than zero) or a function
    /// of time.
    pub rate: crate::rates::RateSpec,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawPoisson {
    rate: crate::rates::RateSpec,
}

impl TryFrom<RawPoisson> for PoissonSpec {
    type Error = String;
    fn try_from(raw: RawPoisson) -> Result<Self, String> {
        match raw.rate.constant() {
            Some(r) if r <= 0.0 => {
                Err("a Poisson rate must be greater than zero, e.g. `40/s`".into())
            }
            _ => Ok(PoissonSpec { rate: raw.rate }),
        }
    }
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RenewalSpec {
    rate: Rate,
    cv: f64,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct MmppSpec {
    rates: [Rate; 2],
    mean_durations: [Duration; 2],
}

impl TryFrom<ArrivalFamily> for ArrivalSpec {
    type Error = String;
    fn try_from(family: ArrivalFamily) -> Result<Self, String> {
        use inferscale_workload::ArrivalProcess;
        let process = match family {
            ArrivalFamily::Poisson(p) => match p.rate {
                crate::rates::RateSpec::Fn(rate) => Ok(ArrivalProcess::varying(rate)),
                series => return Ok(ArrivalSpec(ArrivalRecipe::Poisson(series))),
            },
            ArrivalFamily::Gamma(r) => ArrivalProcess::gamma(r.rate.per_second(), r.cv),
            ArrivalFamily::Weibull(r) => ArrivalProcess::weibull(r.rate.per_second(), r.cv),
            ArrivalFamily::Mmpp(m) => ArrivalProcess::mmpp(
                [m.rates[0].per_second(), m.rates[1].per_second()],
                [
                    m.mean_durations[0].0.as_secs_f64(),
                    m.mean_durations[1].0.as_secs_f64(),
                ],
            ),
            ArrivalFamily::Servegen(g) => {
                g.check()?;
                return Ok(ArrivalSpec(ArrivalRecipe::Servegen(g)));
            }
            ArrivalFamily::Stages(stages) => ArrivalProcess::stages(
                stages
                    .iter()
                    .map(|s| inferscale_workload::LoadStage {
                        rate_per_s: s.rate.per_second(),
                        duration_s: s.duration.0.as_secs_f64(),
                    })
                    .collect(),
            ),
        };
        process
            .map(|p| ArrivalSpec(ArrivalRecipe::Ready(p)))
            .map_err(|e| e.to_string())
    }
}

/// Request sizes drawn jointly from a file.
///
/// ```yaml
/// sizes:
///   empirical:
///     path: ../traces/length_only/sharegpt_8k_filtered_stats_llama2_tokenizer.csv
///     input_column: num_prefill_tokens
///     output_column: num_decode_tokens
/// ```
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SizesSpec {
    /// Rows of a CSV file, drawn uniformly.
    Empirical(EmpiricalSpec),
    /// Prompts sharing system prompts, as inference-perf's `shared_prefix` data
    /// (its field names, so its `data.shared_prefix` section pastes as it is).
    SharedPrefix(SharedPrefixSpec),
    /// Multi-turn conversations: each arrival starts one; each later turn is sent a
    /// think time after the previous one ended, its prompt the conversation so far.
    Conversation(ConversationSpec),
}

/// Multi-turn conversations (a closed loop: a turn waits for the last one and a think
/// time). A turn's prompt is the optional system prompt, every earlier turn's input
/// and answer, and its own input; with prefix caching the history is found cached
/// (the answers too). A turn that fails (dropped, refused, timed out) ends its
/// conversation. Everything a conversation sends is drawn when it starts, so every
/// policy sees the same conversations.
///
/// ```yaml
/// sizes:
///   conversation: {turns: {uniform: [2, 10]}, think_time: {exponential: {mean: 20s}},
///                  input_tokens: {lognormal: {median: 200, sigma: 0.8, max: 4096}},
///                  output_tokens: 250, system_prompt_len: 300}
/// ```
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationSpec {
    /// Turns per conversation: a count or a distribution, from 1 to 255. Required.
    pub turns: crate::llm_schema::TokenCounts,
    /// Time from a turn's last token to the next turn: a duration or a distribution.
    /// Required.
    pub think_time: DurationDist,
    /// New input tokens per turn. Required.
    pub input_tokens: crate::llm_schema::TokenCounts,
    /// Output tokens per turn. Required.
    pub output_tokens: crate::llm_schema::TokenCounts,
    /// A system prompt every conversation starts with, in tokens. Default: 0.
    #[serde(default)]
    pub system_prompt_len: u32,
}

/// Shared system prompts (inference-perf's `shared_prefix`): `num_unique_system_prompts`
/// system prompts of `system_prompt_len` tokens, each shared by
/// `num_users_per_system_prompt` users with a question of `question_len` tokens of
/// their own; request `i` sends prompt `i mod (prompts)` of an order shuffled once.
/// With prefix caching, every request after the first of its system prompt finds it
/// cached, and every repeat of a prompt finds all of it but its last block.
///
/// ```yaml
/// sizes:
///   shared_prefix: {num_unique_system_prompts: 9, num_users_per_system_prompt: 5,
///                   system_prompt_len: 100, question_len: 447, output_len: 248}
/// ```
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedPrefixSpec {
    /// Distinct system prompts. Required.
    pub num_unique_system_prompts: u32,
    /// Users (prompts) per system prompt. Required.
    pub num_users_per_system_prompt: u32,
    /// System prompt tokens. Required.
    pub system_prompt_len: u32,
    /// Question tokens: a count or a distribution, drawn once per prompt. Required.
    pub question_len: crate::llm_schema::TokenCounts,
    /// Output tokens: a count or a distribution, drawn once per prompt. Required.
    pub output_len: crate::llm_schema::TokenCounts,
    /// inference-perf's multi-turn chat: each prompt is a user; request i is user
    /// `i mod users`' (the users shuffled once) with prompt `i mod prompts`' question,
    /// after the user's context — its system prompt, then every earlier turn's
    /// prompt and answer. A user has one request in flight: one due while the last
    /// runs waits and is sent when it ends. A failed request leaves the context as it
    /// was. Contexts grow without end, as in inference-perf: past `max_model_len` a
    /// user's requests are refused. Default: false.
    #[serde(default)]
    pub enable_multi_turn_chat: bool,
}

/// An empirical (input, output) size table.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmpiricalSpec {
    /// The CSV file, relative to the scenario file's directory.
    pub path: PathBuf,
    /// Column of prompt tokens.
    pub input_column: String,
    /// Column of output tokens.
    pub output_column: String,
}

/// A request trace to replay.
///
/// ```yaml
/// trace: {path: ../traces/AzureLLMInferenceTrace_conv.csv, format: azure-llm, speedup: 2}
/// trace: {path: requests.csv, format: generic, model: llama-8b, rate_scale: 2.5, loop: true}
/// ```
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// The file, relative to the scenario file's directory. Required.
    pub path: PathBuf,
    /// `azure-llm` (CSV `TIMESTAMP,ContextTokens,GeneratedTokens`), `mooncake`
    /// (JSONL), `burstgpt` (CSV) or `generic` (CSV with `time_s`, `input_tokens`,
    /// `output_tokens` and optionally `model`). Required.
    pub format: TraceFormatSpec,
    /// Replay this many times faster (time divided by it). Default: 1.
    #[serde(default = "default_speedup")]
    pub speedup: f64,
    /// Skip the trace before this offset from its first request. Default: `0s`.
    #[serde(default)]
    pub start: Duration,
    /// Stop at this offset from its first request. Default: the end of the trace.
    #[serde(default)]
    pub end: Option<Duration>,
    /// Multiply the request rate: above 1, shifted copies of the window are superposed
    /// (copy j shifted by j/⌈scale⌉ of the window, wrapped around); the fractional part
    /// and any scale below 1 thin the last copy at random. Default: 1.
    #[serde(default = "default_speedup")]
    pub rate_scale: f64,
    /// Replay the window again when it ends, until the scenario's `duration`. Default:
    /// false.
    #[serde(default, rename = "loop")]
    pub looped: bool,
    /// Keep only the rows of this model (the `model` column of `generic` traces, `Model`
    /// of BurstGPT). Default: every row.
    #[serde(default)]
    pub model: Option<String>,
}

fn default_speedup() -> f64 {
    1.0
}

/// The trace formats.
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormatSpec {
    /// Azure LLM inference 2023 CSV.
    AzureLlm,
    /// Mooncake FAST'25 JSONL.
    Mooncake,
    /// BurstGPT CSV (`Timestamp,Model,Request tokens,Response tokens,...`).
    Burstgpt,
    /// `time_s,model,input_tokens,output_tokens` CSV.
    Generic,
}

/// Where results go.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output directory, relative to the scenario file (as every path in it).
    /// Default: `results/<name>/` under the current directory. The command line's
    /// `--out` (relative to the current directory) overrides it. inferscale writes
    /// only into a new or empty directory or one holding its own results of the same
    /// scenario (`--force` to write elsewhere), and removes only files it writes.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Interval of `timeseries.parquet` (LLM scenarios); `0s` writes none. Default:
    /// `10s`.
    #[serde(default = "default_timeseries_interval")]
    pub timeseries_interval: Duration,
    /// Draw the figures of `inferscale plot` into `<dir>/plots/` after a run, as
    /// `run --plot` does. Default: false.
    #[serde(default)]
    pub plots: bool,
    /// Cluster scenarios: write `requests.parquet`, one row per request —
    /// `requests: all`, or a deterministic sample `requests: {sample: 0.01}` (by a
    /// hash of each request's identity, so every policy of a sweep samples the same
    /// requests). Default: none.
    #[serde(default)]
    #[schemars(with = "Option<RequestsSpec>")]
    pub requests: Option<Spanned<RequestsSpec>>,
}

/// Which requests `requests.parquet` keeps.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestsSpec {
    /// Every request.
    All,
    /// This share of them, in (0, 1].
    Sample(f64),
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            dir: None,
            timeseries_interval: default_timeseries_interval(),
            plots: false,
            requests: None,
        }
    }
}

fn default_timeseries_interval() -> Duration {
    Duration(inferscale_engine::SimDuration::from_secs(10))
}

// The editor schema of the `sweep:` section (`inferscale schema`).

/// The `sweep:` section (its reader is [`crate::sweep`], which checks the paths
/// against the file): named `variants`, `grid` axes, `zip` groups, the `baseline`
/// and `group_by` of paired comparisons, and bare `path: [values]` grid axes.
pub(crate) struct SweepSchema;

impl schemars::JsonSchema for SweepSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sweep".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Many runs from this one file: a grid over field paths (keys and list indices separated by dots, e.g. `policy.decider.target`), zipped axes and named variants, combined as a Cartesian product.",
            "type": "object",
            "properties": {
                "variants": {
                    "description": "Named alternatives, each a set of `path: value` fields replaced in the base.",
                    "type": "object",
                    "additionalProperties": {"type": "object"}
                },
                "grid": {
                    "description": "One axis per path, its values in a list, in file order.",
                    "type": "object",
                    "additionalProperties": {"type": "array", "minItems": 1}
                },
                "zip": {
                    "description": "Groups of axes that move together: each a mapping of paths to lists of equal length.",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "minItems": 1}
                    }
                },
                "baseline": {
                    "description": "The point the others are compared with, pairing runs by replication: a variant name or a point label.",
                    "type": "string"
                },
                "group_by": {
                    "description": "The axes whose values make a comparison group (a Pareto front and a baseline per group). Default: every axis outside `policy` other than `variant`.",
                    "type": "array",
                    "items": {"type": "string"}
                }
            },
            "additionalProperties": {
                "description": "A grid axis in the short form: `path: [values]`.",
                "type": "array",
                "minItems": 1
            }
        })
    }
}
