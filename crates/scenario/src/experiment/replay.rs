//! The scenario that replays an experiment: one replica of the experiment's model on
//! its GPU, serving from the start, fed the stages' arrivals and the shared-prefix
//! prompts, with the server's limits; long enough for every request to end or reach
//! the client's timeout.

use std::fmt::Write as _;

use super::{Experiment, ExperimentError};

/// The serving stack a replay runs on unless told otherwise: the one fitted on
/// the vLLM H100 campaign.
pub const REPLAY_ENGINE: &str = "vllm";

/// vLLM's `--max-num-batched-tokens` default with chunked prefill (v1).
const VLLM_MAX_BATCHED_TOKENS: u32 = 2048;
/// vLLM's `--max-num-seqs` default.
const VLLM_MAX_NUM_SEQS: u32 = 256;
/// vLLM's `--gpu-memory-utilization` default.
const VLLM_GPU_MEMORY_UTILIZATION: f64 = 0.9;

impl Experiment {
    /// Prompt tokens per request in the replay: the system prompt as configured and
    /// the rest as the client measured it (its tokenizer counts the prompt's text,
    /// which comes out longer than the configured lengths: 575.5 tokens where 547
    /// were asked in the 7B `general` run), so the server computes what it computed.
    pub fn question_tokens(&self) -> u32 {
        let measured = self
            .stages
            .iter()
            .filter_map(|s| s.prompt_len.filter(|q| q.mean > 0.0))
            .map(|q| q.mean)
            .next();
        match measured {
            Some(mean) => (mean.round() as u32)
                .saturating_sub(self.load.system_prompt_len)
                .max(1),
            None => self.load.question_len,
        }
    }

    /// Seconds the replay runs: the stages, then the client's timeout (every request
    /// has ended or been given up by then).
    pub fn replay_seconds(&self) -> f64 {
        self.load.stages.iter().map(|s| s.1).sum::<f64>() + self.load.timeout_s + 1.0
    }

    /// The replay scenario's YAML: what `inferscale calibrate` runs, and what
    /// `--write-scenarios` leaves for a user to read or change. It runs on the
    /// [`REPLAY_ENGINE`] serving stack. `serving` is extra YAML for the model's
    /// `serving:` mapping (another `engine:`, efficiency overrides); a field it sets
    /// replaces the replay's own.
    pub fn replay_scenario(&self, serving: &str) -> Result<String, ExperimentError> {
        let unsupported = |message: String| ExperimentError::Unsupported {
            path: self.dir.join("exp-config.yaml"),
            message,
        };
        let model = self.catalog_model().ok_or_else(|| {
            unsupported(format!(
                "model `{}` is not in the model catalog (crates/scenario/catalog/models.yaml \
                 lists each entry's repositories)",
                self.server.model
            ))
        })?;
        if !self.load.ignore_eos {
            return Err(ExperimentError::Unsupported {
                path: self.dir.join("results").join("config.yaml"),
                message: "`server.ignore_eos` is false: the outputs' lengths were the model's \
                          own, which the results do not record; replayed are runs with \
                          `ignore_eos: true`"
                    .into(),
            });
        }
        let gpu = self.server.accelerator.as_deref().unwrap_or("h100-sxm");
        if crate::catalog::node_type(gpu).is_none() {
            return Err(unsupported(format!(
                "accelerator `{gpu}` is not in the hardware catalog"
            )));
        }
        let s = &self.server;
        let margin = 1.0
            - s.gpu_memory_utilization
                .unwrap_or(VLLM_GPU_MEMORY_UTILIZATION);
        let load = &self.load;
        let mut y = String::new();
        let w = &mut y;
        // Writing to a String cannot fail.
        let _ = writeln!(w, "# Replay of the measured experiment {}.", self.name);
        let _ = writeln!(
            w,
            "# Written by `inferscale calibrate` from {}.",
            self.dir.display()
        );
        let _ = writeln!(w, "name: {}", self.name);
        let _ = writeln!(
            w,
            "description: replay of {} ({} TP{}, {} load stages)",
            self.name,
            s.model,
            s.tensor_parallelism,
            load.stages.len()
        );
        let _ = writeln!(w, "seed: 1\nreplications: 1");
        let _ = writeln!(w, "duration: {}s\nwarmup: 0s", self.replay_seconds());
        let _ = writeln!(w, "hardware:");
        let _ = writeln!(
            w,
            "  - {{name: gpu, preset: {gpu}, max_count: 1, boot_time: 0s}}"
        );
        let _ = writeln!(w, "models:\n  - name: {model}");
        let _ = writeln!(w, "    llm: {{preset: {model}}}");
        let _ = writeln!(w, "    placement: gpu\n    tp: {}", s.tensor_parallelism);
        let _ = writeln!(w, "    replicas: 1\n    initial: ready");
        let _ = writeln!(w, "    serving:");
        // A field the extra `serving` sets replaces the replay's own.
        let overridden: Vec<&str> = serving
            .lines()
            .filter_map(|l| l.split_once(':').map(|(k, _)| k))
            .filter(|k| !k.starts_with([' ', '\t', '#']))
            .map(str::trim)
            .collect();
        let field = |w: &mut String, key: &str, value: String| {
            if !overridden.contains(&key) {
                let _ = writeln!(w, "      {key}: {value}");
            }
        };
        field(
            w,
            "max_batch",
            s.max_num_seqs.unwrap_or(VLLM_MAX_NUM_SEQS).to_string(),
        );
        field(
            w,
            "max_batched_tokens",
            s.max_num_batched_tokens
                .unwrap_or(VLLM_MAX_BATCHED_TOKENS)
                .to_string(),
        );
        field(w, "block_size", s.block_size.unwrap_or(16).to_string());
        field(w, "memory_margin", format!("{margin:.4}"));
        field(
            w,
            "chunked_prefill",
            s.enable_chunked_prefill.unwrap_or(true).to_string(),
        );
        field(
            w,
            "prefix_caching",
            s.enable_prefix_caching.unwrap_or(true).to_string(),
        );
        if let Some(len) = s.max_model_len {
            field(w, "max_model_len", len.to_string());
        }
        field(w, "container_start", "0s".into());
        field(w, "engine", REPLAY_ENGINE.into());
        field(w, "client_timeout", format!("{}s", self.load.timeout_s));
        for line in serving.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(w, "      {line}");
        }
        let _ = writeln!(w, "workload:\n  - model: {model}");
        if load.poisson {
            // inference-perf's poisson load: a Poisson count each second at the
            // stage's rate — a Poisson process whose rate steps stage by stage.
            let mut start = 0.0;
            let mut points = Vec::new();
            for &(rate, duration) in &load.stages {
                points.push(format!("[{start}s, {rate}/s]"));
                start += duration;
            }
            points.push(format!("[{start}s, 0/s]"));
            let _ = writeln!(
                w,
                "    arrivals: {{poisson: {{rate: {{piecewise: {{points: [{}], interpolation: step}}}}}}}}",
                points.join(", ")
            );
        } else {
            let stages: Vec<String> = load
                .stages
                .iter()
                .map(|(rate, duration)| format!("{{rate: {rate}/s, duration: {duration}s}}"))
                .collect();
            let _ = writeln!(w, "    arrivals: {{stages: [{}]}}", stages.join(", "));
        }
        let _ = writeln!(w, "    sizes:\n      shared_prefix:");
        let _ = writeln!(w, "        num_unique_system_prompts: {}", load.groups);
        let _ = writeln!(
            w,
            "        num_users_per_system_prompt: {}",
            load.prompts_per_group
        );
        let _ = writeln!(w, "        system_prompt_len: {}", load.system_prompt_len);
        let _ = writeln!(w, "        question_len: {}", self.question_tokens());
        let _ = writeln!(w, "        output_len: {}", load.output_len);
        let _ = writeln!(w, "        enable_multi_turn_chat: {}", load.multi_turn);
        Ok(y)
    }
}
