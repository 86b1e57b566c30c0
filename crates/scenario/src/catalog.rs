//! The built-in catalogs of hardware and models, shipped as YAML in
//! `crates/scenario/catalog/` and compiled into the binary. Every number there carries
//! its source and date; scenarios refer to entries by name and may override fields.

use inferscale_cluster::{AcceleratorSpec, DeviceKind, LlmSpec, NodeType};
use serde::Deserialize;

use crate::ScenarioError;
use crate::units::DurationDist;

/// The hardware catalog's text.
pub const HARDWARE_YAML: &str = include_str!("../catalog/hardware.yaml");
/// The model catalog's text.
pub const MODELS_YAML: &str = include_str!("../catalog/models.yaml");
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

/// One entry of `hardware.yaml`; every field can be overridden in a scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareEntry {
    /// Name scenarios use as `preset:`.
    pub name: String,
    /// `gpu` or `cpu`.
    pub kind: KindSpec,
    /// Peak dense BF16/FP16 throughput, TFLOP/s.
    pub bf16_tflops: f64,
    /// Peak dense INT8 throughput, TOP/s.
    #[serde(default)]
    pub int8_tops: Option<f64>,
    /// Memory per accelerator, GB.
    pub memory_gb: f64,
    /// Memory bandwidth per accelerator, GB/s.
    pub memory_bandwidth_gb_s: f64,
    /// Accelerator-to-accelerator bandwidth, GB/s per direction.
    pub interconnect_gb_s: f64,
    /// Accelerators in one node.
    pub accelerators_per_node: u32,
    /// On-demand node price, $/h.
    pub price_per_hour: f64,
    /// Spot node price, $/h.
    #[serde(default)]
    pub spot_price_per_hour: Option<f64>,
    /// Time from request to a booted node.
    pub boot_time: DurationDist,
}

/// `gpu` or `cpu`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KindSpec {
    /// A GPU node type.
    Gpu,
    /// A CPU node type.
    Cpu,
}

impl HardwareEntry {
    /// The node type this entry describes, without a quota.
    pub fn node_type(&self) -> NodeType {
        NodeType {
            name: self.name.clone(),
            accelerator: AcceleratorSpec {
                kind: match self.kind {
                    KindSpec::Gpu => DeviceKind::Gpu,
                    KindSpec::Cpu => DeviceKind::Cpu,
                },
                peak_flops: self.bf16_tflops * 1e12,
                peak_int8_ops: self.int8_tops.map(|t| t * 1e12),
                memory_bytes: self.memory_gb * 1e9,
                memory_bandwidth: self.memory_bandwidth_gb_s * 1e9,
                interconnect_bandwidth: self.interconnect_gb_s * 1e9,
            },
            accelerators_per_node: self.accelerators_per_node,
            price_per_hour: self.price_per_hour,
            spot_price_per_hour: self.spot_price_per_hour,
            boot_time: self.boot_time.0.clone(),
            load_bandwidth: DEFAULT_LOAD_BANDWIDTH,
            max_count: None,
        }
    }
}

/// One entry of `models.yaml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    /// Name scenarios use as `preset:`.
    pub name: String,
    /// Total parameters.
    pub params: f64,
    /// Transformer layers.
    pub layers: u32,
    /// Hidden dimension.
    pub hidden: u32,
    /// Query heads.
    pub heads: u32,
    /// Key/value heads.
    pub kv_heads: u32,
    /// FFN inner dimension.
    pub intermediate: u32,
    /// Vocabulary size.
    pub vocab: u32,
    /// Bytes per weight / KV element.
    pub dtype_bytes: f64,
    /// Longest context, tokens.
    pub max_context: u32,
}

impl ModelEntry {
    /// The model this entry describes.
    pub fn spec(&self) -> LlmSpec {
        LlmSpec {
            name: self.name.clone(),
            params: self.params,
            layers: self.layers,
            hidden: self.hidden,
            heads: self.heads,
            kv_heads: self.kv_heads,
            intermediate: self.intermediate,
            vocab: self.vocab,
            dtype_bytes: self.dtype_bytes,
            max_context: self.max_context,
        }
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

/// The catalog model called `name`.
pub fn model(name: &str) -> Option<LlmSpec> {
    models()
        .ok()?
        .into_iter()
        .find(|m| m.name == name)
        .map(|m| m.spec())
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
            let estimate = l * (2.0 * h * h + 2.0 * h * kv + gated * h * ffn)
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
