//! The built-in catalogs of hardware and models, shipped as YAML in
//! `crates/scenario/catalog/` and compiled into the binary. Every number there carries
//! its source and date; scenarios refer to entries by name and may override fields.

use inferscale_cluster::{AcceleratorSpec, DeviceKind, LlmSpec, NodeType};
use serde::Deserialize;
use serde::de::{Error as _, MapAccess, Visitor};

use crate::ScenarioError;
pub use crate::overrides::KindSpec;
use crate::overrides::{HardwareFields, ModelFields, read_once, visit_entry};

/// The hardware catalog's text.
pub const HARDWARE_YAML: &str = include_str!("../catalog/hardware.yaml");
/// The model catalog's text.
pub const MODELS_YAML: &str = include_str!("../catalog/models.yaml");
/// The serving-stack catalog's text.
pub const ENGINES_YAML: &str = include_str!("../catalog/engines.yaml");
/// The classic-model catalog's text.
pub const CLASSIC_YAML: &str = include_str!("../catalog/classic.yaml");

/// One entry of `classic.yaml`: a classic model's measured batch latencies.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicEntry {
    /// Name scenarios use as `preset:`.
    pub name: String,
    /// Weights, MB (for the load time).
    pub weights_mb: f64,
    /// Per hardware preset: (batch size, latency) points.
    pub latency: std::collections::BTreeMap<String, Vec<(u32, crate::units::Duration)>>,
}

impl ClassicEntry {
    /// The profile on hardware preset `hardware`, if measured there.
    pub fn profile(&self, hardware: &str) -> Option<inferscale_cluster::ClassicProfile> {
        let points = self.latency.get(hardware)?;
        Some(inferscale_cluster::ClassicProfile {
            name: self.name.clone(),
            latency: points
                .iter()
                .map(|(b, t)| (f64::from(*b), t.0.as_secs_f64()))
                .collect(),
            weight_bytes: self.weights_mb * 1e6,
        })
    }
}

/// Every model of the built-in classic-model catalog.
pub fn classic() -> Result<Vec<ClassicEntry>, ScenarioError> {
    parse(CLASSIC_YAML, "catalog/classic.yaml")
}

/// Default bandwidth at which weights load onto a node: 2 GB/s, a local NVMe or a
/// same-region object store read with several streams.
pub const DEFAULT_LOAD_BANDWIDTH: f64 = 2e9;

/// One entry of `hardware.yaml`: a name and every field of [`HardwareFields`] (an
/// INT8 throughput and a spot price may be absent), each of which a scenario may
/// override.
#[derive(Clone, Debug)]
pub struct HardwareEntry {
    /// Name scenarios use as `preset:`.
    pub name: String,
    /// The entry's numbers, as written.
    pub fields: HardwareFields,
    /// The node type they describe, checked when the catalog is read.
    node_type: NodeType,
}

impl<'de> Deserialize<'de> for HardwareEntry {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HardwareEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a hardware entry: `name` and its numbers")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<HardwareEntry, A::Error> {
                let mut name = None;
                let fields: HardwareFields =
                    visit_entry(map, &["name"], |_, map| read_once(&mut name, "name", map))?;
                let name: String = name.ok_or_else(|| A::Error::missing_field("name"))?;
                if let Some(missing) = fields.missing() {
                    return Err(A::Error::custom(format!("`{name}` lacks `{missing}`")));
                }
                let mut node_type = NodeType {
                    name: name.clone(),
                    accelerator: AcceleratorSpec {
                        kind: DeviceKind::Gpu,
                        peak_flops: 0.0,
                        peak_int8_ops: None,
                        memory_bytes: 0.0,
                        memory_bandwidth: 0.0,
                        interconnect_bandwidth: 0.0,
                    },
                    accelerators_per_node: 1,
                    price_per_hour: 0.0,
                    spot_price_per_hour: None,
                    boot_time: inferscale_engine::Dist::deterministic(0.0)
                        .map_err(A::Error::custom)?,
                    load_bandwidth: DEFAULT_LOAD_BANDWIDTH,
                    max_count: None,
                };
                fields
                    .apply(&mut node_type)
                    .map_err(|(field, m)| A::Error::custom(format!("`{name}`.{field}: {m}")))?;
                Ok(HardwareEntry {
                    name,
                    fields,
                    node_type,
                })
            }
        }
        de.deserialize_map(V)
    }
}

impl HardwareEntry {
    /// The node type this entry describes, without a quota.
    pub fn node_type(&self) -> NodeType {
        self.node_type.clone()
    }
}

/// One entry of `models.yaml`: a name and every field of [`ModelFields`], each of
/// which a scenario's `llm:` section may override.
#[derive(Clone, Debug)]
pub struct ModelEntry {
    /// Name scenarios use as `preset:`.
    pub name: String,
    /// The Hugging Face repositories whose `config.json` it transcribes (what a
    /// serving engine's `--model` names: `meta-llama/Llama-2-7b-hf`).
    pub repositories: Vec<String>,
    /// The architecture, complete (checked when the catalog is read).
    pub fields: ModelFields,
}

impl<'de> Deserialize<'de> for ModelEntry {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ModelEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a model entry: `name` and its architecture")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ModelEntry, A::Error> {
                let (mut name, mut repositories) = (None, None);
                let fields: ModelFields =
                    visit_entry(map, &["name", "repositories"], |key, map| match key {
                        "name" => read_once(&mut name, "name", map),
                        _ => read_once(&mut repositories, "repositories", map),
                    })?;
                let name: String = name.ok_or_else(|| A::Error::missing_field("name"))?;
                if let Some(missing) = fields.missing() {
                    return Err(A::Error::custom(format!("`{name}` lacks `{missing}`")));
                }
                Ok(ModelEntry {
                    name,
                    repositories: repositories.unwrap_or_default(),
                    fields,
                })
            }
        }
        de.deserialize_map(V)
    }
}

impl ModelEntry {
    /// The model this entry describes.
    pub fn spec(&self) -> LlmSpec {
        let mut spec = LlmSpec {
            name: self.name.clone(),
            params: 0.0,
            layers: 0,
            hidden: 0,
            heads: 0,
            kv_heads: 0,
            intermediate: 0,
            vocab: 0,
            dtype_bytes: 0.0,
            max_context: 0,
            // Dense unless the entry lists experts.
            experts: 1,
            experts_per_token: 1,
        };
        // Complete: every field was checked present when the catalog was read.
        self.fields.apply(&mut spec);
        spec
    }
}

fn parse<T: for<'de> Deserialize<'de>>(text: &str, file: &str) -> Result<Vec<T>, ScenarioError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ScenarioError::at(file, text, line, column, "", e.to_string())
    })
}

/// Every node type of the built-in hardware catalog.
pub fn hardware() -> Result<Vec<HardwareEntry>, ScenarioError> {
    parse(HARDWARE_YAML, "catalog/hardware.yaml")
}

/// Every model of the built-in model catalog.
pub fn models() -> Result<Vec<ModelEntry>, ScenarioError> {
    parse(MODELS_YAML, "catalog/models.yaml")
}

/// The catalog node type called `name`.
pub fn node_type(name: &str) -> Option<NodeType> {
    hardware()
        .ok()?
        .into_iter()
        .find(|h| h.name == name)
        .map(|h| h.node_type())
}

/// The name of the catalog model transcribed from Hugging Face repository
/// `repository` (`meta-llama/Llama-2-7b-hf`; letter case aside, as the Hub treats it).
pub fn model_of_repository(repository: &str) -> Option<String> {
    models()
        .ok()?
        .into_iter()
        .find(|m| {
            m.repositories
                .iter()
                .any(|r| r.eq_ignore_ascii_case(repository))
        })
        .map(|m| m.name)
}

/// The catalog model called `name`.
pub fn model(name: &str) -> Option<LlmSpec> {
    models()
        .ok()?
        .into_iter()
        .find(|m| m.name == name)
        .map(|m| m.spec())
}

/// One entry of `engines.yaml`: a serving stack's efficiencies and fixed costs, and
/// what they were fitted on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineEntry {
    /// Name scenarios use as `serving.engine`.
    pub name: String,
    /// What stack it describes.
    pub description: String,
    /// The measurements its numbers were fitted on.
    pub fitted_on: String,
    /// Share of peak FLOP/s.
    pub compute: f64,
    /// Share of peak memory bandwidth, weight reads.
    pub memory: f64,
    /// Share of peak memory bandwidth, decode attention's KV reads.
    pub kv_memory: f64,
    /// Share of the shorter of compute and memory time not hidden.
    pub overlap_loss: f64,
    /// Fixed time per iteration.
    pub iteration_overhead: crate::units::Duration,
    /// Time per layer per iteration.
    pub layer_overhead: crate::units::Duration,
    /// Time per layer per iteration with prompt tokens.
    pub prefill_layer_overhead: crate::units::Duration,
    /// Latency of one all-reduce, its fixed part.
    pub allreduce_latency: crate::units::Duration,
    /// Latency an all-reduce adds per doubling of the tensor-parallel group.
    #[serde(default)]
    pub allreduce_step_latency: crate::units::Duration,
    /// Hockney half-performance width of the GEMMs, output columns per accelerator.
    #[serde(default)]
    pub gemm_half_width: f64,
    /// What the API server adds to each request's TTFT and end-to-end latency.
    pub client_latency: crate::units::Duration,
    /// Whether a client sees a token when the next engine step ends.
    pub deliver_after_next_step: bool,
}

impl EngineEntry {
    /// The roofline's efficiency factors of this stack.
    pub fn efficiency(&self) -> inferscale_cluster::Efficiency {
        inferscale_cluster::Efficiency {
            compute: self.compute,
            memory: self.memory,
            kv_memory: self.kv_memory,
            iteration_overhead_s: self.iteration_overhead.0.as_secs_f64(),
            layer_overhead_s: self.layer_overhead.0.as_secs_f64(),
            prefill_layer_overhead_s: self.prefill_layer_overhead.0.as_secs_f64(),
            allreduce_latency_s: self.allreduce_latency.0.as_secs_f64(),
            allreduce_step_latency_s: self.allreduce_step_latency.0.as_secs_f64(),
            gemm_half_width: self.gemm_half_width,
            overlap_loss: self.overlap_loss,
        }
    }
}

/// Every serving stack of the built-in catalog.
pub fn engines() -> Result<Vec<EngineEntry>, ScenarioError> {
    parse(ENGINES_YAML, "catalog/engines.yaml")
}

/// The catalog serving stack called `name`.
pub fn engine(name: &str) -> Option<EngineEntry> {
    engines().ok()?.into_iter().find(|e| e.name == name)
}

/// Whether `engine` names a profile file (ending `.yaml` or `.yml`) rather than an
/// entry of the catalog.
pub fn is_profile_file(engine: &str) -> bool {
    engine.ends_with(".yaml") || engine.ends_with(".yml")
}

/// A serving-stack profile from a file of its own: one mapping with the fields of an
/// `engines.yaml` entry (what `inferscale calibrate --fit` writes). Errors name the
/// file, line and column.
pub fn read_engine_profile(path: &std::path::Path) -> Result<EngineEntry, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the serving profile `{}`: {e}", path.display()))?;
    let file = path.display().to_string();
    serde_saphyr::from_str::<EngineEntry>(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        format!("{file}:{line}:{column}: {e}")
    })
}

/// The serving stack a model runs on when its scenario names none: the profile that
/// best fits a current vLLM (fitted on real H100 measurements; see `engines.yaml`).
pub const DEFAULT_ENGINE: &str = "vllm";

// The editor schema's preset enums (`inferscale schema`).

/// The names of the bundled catalog's entries of one kind, for a preset's enum.
fn catalog_names(yaml: &str) -> Vec<String> {
    // The bundled catalogs are lists of mappings with a `name:` key; they are
    // checked when read, so a failure here would be a build defect, and the
    // schema then names no preset rather than failing.
    serde_saphyr::from_str::<Vec<serde_json::Map<String, serde_json::Value>>>(yaml)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| entry.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// A serving-stack preset: a name of `catalog/engines.yaml`, or a profile file.
pub(crate) fn engine_preset(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A serving stack of the bundled catalog (crates/scenario/catalog/engines.yaml), or a profile file of one (`*.yaml`, relative to the scenario; `inferscale calibrate --fit` writes them).",
        "anyOf": [
            {"type": "string", "enum": catalog_names(ENGINES_YAML)},
            {"type": "string", "pattern": "\\.ya?ml$"}
        ]
    })
}

/// A hardware preset: a name of `catalog/hardware.yaml`.
pub(crate) fn hardware_preset(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A node type of the bundled catalog (crates/scenario/catalog/hardware.yaml).",
        "type": "string",
        "enum": catalog_names(HARDWARE_YAML)
    })
}

/// An LLM preset: a name of `catalog/models.yaml`.
pub(crate) fn model_preset(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A model of the bundled catalog (crates/scenario/catalog/models.yaml).",
        "type": "string",
        "enum": catalog_names(MODELS_YAML)
    })
}

/// A classic model preset: a name of `catalog/classic.yaml`.
pub(crate) fn classic_preset(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "description": "A model of the bundled catalog (crates/scenario/catalog/classic.yaml).",
        "type": "string",
        "enum": catalog_names(CLASSIC_YAML)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalogs_parse_and_hold_what_the_issue_lists() {
        let hw = hardware().unwrap();
        for name in [
            "t4",
            "l4",
            "a10g",
            "a100-40gb",
            "a100-80gb",
            "h100-sxm",
            "h200",
            "cpu-32c-amx",
            "cpu-96c-amx",
            "cpu-32c-arm",
        ] {
            assert!(
                hw.iter().any(|h| h.name == name),
                "hardware catalog lacks {name}"
            );
        }
        let models = models().unwrap();
        for name in [
            "llama-3.1-8b",
            "llama-3.1-70b",
            "llama-2-70b",
            "mistral-7b",
            "qwen2.5-32b",
            "llama-3.2-1b",
        ] {
            assert!(
                models.iter().any(|m| m.name == name),
                "model catalog lacks {name}"
            );
        }
    }

    #[test]
    fn the_default_engine_is_vllm_tensorrt_is_the_roofline_calibration_and_every_engine_is_sane() {
        assert_eq!(DEFAULT_ENGINE, "vllm");
        let default = engine(DEFAULT_ENGINE).unwrap();
        assert!(default.deliver_after_next_step && !default.client_latency.0.is_zero());
        let trt = engine("tensorrt-llm").unwrap();
        assert_eq!(trt.efficiency(), inferscale_cluster::Efficiency::CALIBRATED);
        assert!(!trt.deliver_after_next_step && trt.client_latency.0.is_zero());
        let all = engines().unwrap();
        assert!(all.iter().any(|e| e.name == "vllm"));
        for e in all {
            let f = e.efficiency();
            for share in [f.compute, f.memory, f.kv_memory] {
                assert!(share > 0.0 && share <= 1.0, "{}", e.name);
            }
            assert!((0.0..=1.0).contains(&f.overlap_loss), "{}", e.name);
            assert!(
                !e.fitted_on.is_empty(),
                "{} says what it was fitted on",
                e.name
            );
        }
    }

    #[test]
    fn every_catalog_number_is_sane() {
        for h in hardware().unwrap() {
            let n = h.node_type();
            let a = &n.accelerator;
            assert!(
                a.peak_flops > 1e12 && a.memory_bytes > 1e9 && a.memory_bandwidth > 1e9,
                "{}",
                h.name
            );
            assert!(
                n.price_per_hour > 0.0 && n.accelerators_per_node >= 1,
                "{}",
                h.name
            );
            assert!(
                n.spot_price_per_hour.is_none_or(|s| s < n.price_per_hour),
                "{}",
                h.name
            );
        }
        for m in models().unwrap() {
            let s = m.spec();
            assert_eq!(s.hidden % s.heads, 0, "{}", m.name);
            assert_eq!(s.heads % s.kv_heads, 0, "{}", m.name);
            // Parameters within 12% of the transformer estimate 12·L·h² (MHA, 4h FFN)
            // adjusted for GQA and gated FFN: L·(2h² + 2h·kv + 3·h·ffn) + 2·vocab·h.
            let (l, h) = (f64::from(s.layers), f64::from(s.hidden));
            let kv = f64::from(s.kv_heads) * s.head_dim();
            let ffn = f64::from(s.intermediate);
            let gated = if m.name.starts_with("gpt-j") {
                2.0
            } else {
                3.0
            };
            // Llama 3.2 1B ties its input and output embeddings.
            let embeddings = if m.name == "llama-3.2-1b" { 1.0 } else { 2.0 };
            let experts = f64::from(s.experts);
            let estimate = l * (2.0 * h * h + 2.0 * h * kv + experts * gated * h * ffn)
                + embeddings * f64::from(s.vocab) * h;
            assert!(
                (estimate / s.params - 1.0).abs() < 0.12,
                "{}: {estimate:.3e} vs {:.3e}",
                m.name,
                s.params
            );
        }
    }

    #[test]
    fn classic_tables_are_increasing_in_batch() {
        let entries = classic().unwrap();
        let resnet = entries.iter().find(|e| e.name == "resnet-50").unwrap();
        let profile = resnet.profile("t4").unwrap();
        assert_eq!(profile.latency.first(), Some(&(1.0, 0.01296)));
        for e in &entries {
            for points in e.latency.values() {
                assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "{}", e.name);
            }
        }
    }

    #[test]
    fn lookups_by_name() {
        assert_eq!(model("llama-2-70b").unwrap().layers, 80);
        assert_eq!(node_type("h100-sxm").unwrap().accelerators_per_node, 8);
        assert!(node_type("tpu-v9").is_none());
    }
}
