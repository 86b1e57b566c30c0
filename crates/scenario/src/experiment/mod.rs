//! Measured serving experiments in the layout inference-perf (the Kubernetes
//! serving community's load generator) leaves behind, as in
//! `data/reference/vllm_h100/experiments/`:
//!
//! ```text
//! <experiment>/exp-config.yaml                         the server's arguments (vLLM's names)
//! <experiment>/profile.yaml                            the load as asked (optional)
//! <experiment>/results/config.yaml                     the load generator's resolved configuration
//! <experiment>/results/stage_<k>_lifecycle_metrics.json  what each load stage measured
//! ```
//!
//! [`Experiment::read`] reads one; [`Experiment::replay_scenario`] writes the scenario
//! that replays it (one replica of the model on the experiment's GPU, the stages'
//! arrivals, the shared-prefix prompts, the server's limits), which `inferscale
//! calibrate` runs to compare simulated and measured latencies stage by stage.
//!
//! The replay follows what ran, which is the resolved `results/config.yaml`, not
//! `profile.yaml` when the two differ: in the vLLM H100 campaign the load generator
//! resolved every `shared_prefix` section to 10 groups of 10 prompts without
//! multi-turn chat (its version took `num_groups` / `num_prompts_per_group`), and the
//! measured prompt lengths, flat across each run, agree.

mod measured;
mod replay;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

pub use measured::{Quantiles, StageMeasurement, tpot_of_medians};
pub use replay::REPLAY_ENGINE;

/// Why an experiment folder could not be read or replayed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A file was read but is not what the layout says.
    #[error("`{}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, and what is accepted.
        message: String,
    },
    /// The experiment is well formed but asks for what the replay cannot do.
    #[error("`{}`: {message}", path.display())]
    Unsupported {
        /// The file that asks for it.
        path: PathBuf,
        /// What, and what is supported.
        message: String,
    },
}

/// One measured experiment: the server, the load, and what each stage measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    /// The folder's name (`20260217-231439-llama-2-7b-tp1-general`).
    pub name: String,
    /// The folder.
    pub dir: PathBuf,
    /// The server's arguments.
    pub server: ServerArgs,
    /// The load as the load generator resolved it.
    pub load: ResolvedLoad,
    /// Per stage, in order: what it measured.
    pub stages: Vec<StageMeasurement>,
}

/// The vLLM server's arguments (`exp-config.yaml`; vLLM's own names).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerArgs {
    /// The model's Hugging Face repository (`--model`).
    pub model: String,
    /// GPUs of the replica (`--tensor-parallel-size`).
    pub tensor_parallelism: u32,
    /// `--max-model-len`; default: the model's context.
    #[serde(default)]
    pub max_model_len: Option<u32>,
    /// `--max-num-batched-tokens`; default: vLLM's 2,048 (chunked prefill).
    #[serde(default)]
    pub max_num_batched_tokens: Option<u32>,
    /// `--max-num-seqs`; default: vLLM's 256.
    #[serde(default)]
    pub max_num_seqs: Option<u32>,
    /// `--gpu-memory-utilization`; default: vLLM's 0.9.
    #[serde(default)]
    pub gpu_memory_utilization: Option<f64>,
    /// `--block-size`; default: 16.
    #[serde(default)]
    pub block_size: Option<u32>,
    /// `--enable-prefix-caching`; default: on (vLLM v1).
    #[serde(default)]
    pub enable_prefix_caching: Option<bool>,
    /// `--enable-chunked-prefill`; default: on (vLLM v1).
    #[serde(default)]
    pub enable_chunked_prefill: Option<bool>,
    /// The GPU, a hardware catalog name (`h100-sxm`); default: `h100-sxm`, the
    /// campaign's.
    #[serde(default)]
    pub accelerator: Option<String>,
    /// The tool that ran the load (`inference-perf`), for the record.
    #[serde(default)]
    pub app: Option<String>,
}

/// The load inference-perf ran (`results/config.yaml`, the parts that shape it).
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedLoad {
    /// Streaming responses (time to first token is then the first chunk's).
    pub streaming: bool,
    /// Every request generates its configured output length (`ignore_eos`).
    pub ignore_eos: bool,
    /// System prompts.
    pub groups: u32,
    /// Prompts (users' questions) per system prompt.
    pub prompts_per_group: u32,
    /// System prompt tokens, as configured.
    pub system_prompt_len: u32,
    /// Question tokens, as configured.
    pub question_len: u32,
    /// Output tokens per request.
    pub output_len: u32,
    /// A user's later turns carry the conversation so far.
    pub multi_turn: bool,
    /// `constant` (⌊rate × duration⌋ per stage) or `poisson`.
    pub poisson: bool,
    /// The stages: requests per second and seconds.
    pub stages: Vec<(f64, f64)>,
    /// The client's timeout per request, seconds: a request not finished by then is
    /// abandoned and counted a failure.
    pub timeout_s: f64,
}

/// inference-perf's client timeout when `request_timeout` is null: the campaign's
/// failed requests all ended between 300.0 and 301.0 s.
pub const DEFAULT_CLIENT_TIMEOUT_S: f64 = 300.0;

impl Experiment {
    /// Reads the experiment in folder `dir`.
    pub fn read(dir: &Path) -> Result<Experiment, ExperimentError> {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        let server_path = dir.join("exp-config.yaml");
        let server: ServerArgs = yaml(&server_path)?;
        if server.tensor_parallelism == 0 {
            return Err(ExperimentError::Invalid {
                path: server_path,
                message: "`tensor_parallelism` must be 1 or more".into(),
            });
        }
        let load = read_resolved(&dir.join("results").join("config.yaml"))?;
        let stages = (0..load.stages.len())
            .map(|k| {
                let path = dir
                    .join("results")
                    .join(format!("stage_{k}_lifecycle_metrics.json"));
                StageMeasurement::read(&path)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let extra = dir.join("results").join(format!(
            "stage_{}_lifecycle_metrics.json",
            load.stages.len()
        ));
        if extra.exists() {
            return Err(ExperimentError::Invalid {
                path: extra,
                message: format!(
                    "the load lists {} stages but there are more stage files",
                    load.stages.len()
                ),
            });
        }
        Ok(Experiment {
            name,
            dir: dir.to_owned(),
            server,
            load,
            stages,
        })
    }

    /// Every experiment folder under `dir` (each holding an `exp-config.yaml`), by
    /// name; `dir` itself when it is one.
    pub fn folders(dir: &Path) -> Result<Vec<PathBuf>, ExperimentError> {
        if dir.join("exp-config.yaml").is_file() {
            return Ok(vec![dir.to_owned()]);
        }
        let read = |e| ExperimentError::Read {
            path: dir.to_owned(),
            source: e,
        };
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read)?
            .map(|e| e.map(|e| e.path()).map_err(read))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|p| p.join("exp-config.yaml").is_file())
            .collect();
        found.sort();
        Ok(found)
    }

    /// The catalog model the server ran (by its repository), if the catalog has it.
    pub fn catalog_model(&self) -> Option<String> {
        crate::catalog::model_of_repository(&self.server.model)
    }

    /// Each stage's start and end, seconds from the run's start.
    pub fn stage_windows(&self) -> Vec<(f64, f64)> {
        let mut start = 0.0;
        self.load
            .stages
            .iter()
            .map(|&(_, duration)| {
                let window = (start, start + duration);
                start += duration;
                window
            })
            .collect()
    }
}

fn read_text(path: &Path) -> Result<String, ExperimentError> {
    std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
        path: path.to_owned(),
        source,
    })
}

fn yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ExperimentError> {
    let text = read_text(path)?;
    serde_saphyr::from_str(&text).map_err(|e| ExperimentError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The resolved inference-perf configuration, as far as it shapes the load; the
/// sections that do not (storage, report, tokenizer, metrics) are not read.
#[derive(Deserialize)]
struct PerfConfig {
    api: PerfApi,
    data: PerfData,
    load: PerfLoad,
    server: PerfServer,
}

#[derive(Deserialize)]
struct PerfApi {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    streaming: bool,
}

#[derive(Deserialize)]
struct PerfData {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    shared_prefix: Option<PerfSharedPrefix>,
}

/// Both generations of inference-perf's names: `num_groups` × `num_prompts_per_group`
/// (what the campaign's version resolved to) and `num_unique_system_prompts` ×
/// `num_users_per_system_prompt` with `enable_multi_turn_chat` (later versions).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PerfSharedPrefix {
    #[serde(default)]
    num_groups: Option<u32>,
    #[serde(default)]
    num_prompts_per_group: Option<u32>,
    #[serde(default)]
    num_unique_system_prompts: Option<u32>,
    #[serde(default)]
    num_users_per_system_prompt: Option<u32>,
    system_prompt_len: u32,
    question_len: u32,
    output_len: u32,
    #[serde(default)]
    enable_multi_turn_chat: bool,
}

#[derive(Deserialize)]
struct PerfLoad {
    #[serde(rename = "type")]
    kind: String,
    stages: Vec<PerfStage>,
    #[serde(default)]
    request_timeout: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PerfStage {
    rate: f64,
    duration: f64,
}

#[derive(Deserialize)]
struct PerfServer {
    #[serde(default)]
    ignore_eos: bool,
}

fn read_resolved(path: &Path) -> Result<ResolvedLoad, ExperimentError> {
    let config: PerfConfig = yaml(path)?;
    let unsupported = |message: String| ExperimentError::Unsupported {
        path: path.to_owned(),
        message,
    };
    if !matches!(config.api.kind.as_str(), "completion" | "chat") {
        return Err(unsupported(format!(
            "api type `{}`: replayed are `completion` and `chat`",
            config.api.kind
        )));
    }
    if config.data.kind != "shared_prefix" {
        return Err(unsupported(format!(
            "data type `{}`: replayed is `shared_prefix`",
            config.data.kind
        )));
    }
    let Some(shared) = config.data.shared_prefix else {
        return Err(ExperimentError::Invalid {
            path: path.to_owned(),
            message: "`data.type` is shared_prefix but `data.shared_prefix` is missing".into(),
        });
    };
    let poisson = match config.load.kind.as_str() {
        "constant" => false,
        "poisson" => true,
        other => {
            return Err(unsupported(format!(
                "load type `{other}`: replayed are `constant` and `poisson`"
            )));
        }
    };
    let (groups, prompts_per_group) = match (
        shared.num_groups.or(shared.num_unique_system_prompts),
        shared
            .num_prompts_per_group
            .or(shared.num_users_per_system_prompt),
    ) {
        (Some(g), Some(p)) if g > 0 && p > 0 => (g, p),
        _ => {
            return Err(ExperimentError::Invalid {
                path: path.to_owned(),
                message: "`data.shared_prefix` needs `num_groups` and `num_prompts_per_group` \
                          (or `num_unique_system_prompts` and `num_users_per_system_prompt`), \
                          each 1 or more"
                    .into(),
            });
        }
    };
    if config.load.stages.is_empty()
        || config
            .load
            .stages
            .iter()
            .any(|s| !(s.rate >= 0.0 && s.duration > 0.0))
    {
        return Err(ExperimentError::Invalid {
            path: path.to_owned(),
            message: "`load.stages` needs at least one stage, each a rate of 0 or more and a \
                      duration above 0"
                .into(),
        });
    }
    Ok(ResolvedLoad {
        streaming: config.api.streaming,
        ignore_eos: config.server.ignore_eos,
        groups,
        prompts_per_group,
        system_prompt_len: shared.system_prompt_len,
        question_len: shared.question_len,
        output_len: shared.output_len,
        multi_turn: shared.enable_multi_turn_chat,
        poisson,
        stages: config
            .load
            .stages
            .iter()
            .map(|s| (s.rate, s.duration))
            .collect(),
        timeout_s: config
            .load
            .request_timeout
            .unwrap_or(DEFAULT_CLIENT_TIMEOUT_S),
    })
}

#[cfg(test)]
mod tests;
