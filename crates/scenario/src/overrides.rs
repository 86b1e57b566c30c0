//! The fields a catalog entry defines and a scenario may override, each declared once:
//! [`HardwareFields`] for node types, [`ModelFields`] for LLM architectures. A catalog
//! entry is a name and a complete set of fields; a scenario's `hardware:` entry or
//! `llm:` section is a preset, its own keys (quota, billing, spot terms) and any of the
//! same fields. Applying them is one function per kind, so the catalog and the
//! scenario cannot disagree on a field's unit or check.
//!
//! The fields sit beside the entry's own keys in one YAML mapping (`{name: gpu,
//! preset: a100-80gb, price_per_hour: 2.5}`), which serde's `flatten` cannot combine
//! with refusing unknown keys; `visit_entry` reads such a mapping instead, and an
//! unknown key is an error that lists every accepted one.

use inferscale_cluster::{DeviceKind, LlmSpec, NodeType};
use serde::Deserialize;
use serde::de::{Error as _, MapAccess};

use crate::units::DurationDist;

/// A set of optional fields read by name from a YAML mapping.
pub(crate) trait FieldSet: Default {
    /// The fields' names, as written in YAML.
    const FIELDS: &'static [&'static str];
    /// Reads the value of `key` from `map` when `key` is one of [`Self::FIELDS`];
    /// `Ok(false)` (nothing read) otherwise.
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<bool, A::Error>;
    /// The names of the fields that are set.
    fn given(&self) -> Vec<&'static str>;
}

/// Declares a struct of optional fields and its [`FieldSet`] implementation, every
/// field named once.
macro_rules! field_set {
    ($(#[$meta:meta])* pub struct $name:ident {
        $($(#[$fmeta:meta])* $field:ident: $ty:ty,)*
    }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, schemars::JsonSchema)]
        #[serde(default)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: Option<$ty>,)*
        }

        impl FieldSet for $name {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];
            fn read_field<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                match key {
                    $(stringify!($field) => {
                        if self.$field.is_some() {
                            return Err(A::Error::duplicate_field(stringify!($field)));
                        }
                        self.$field = Some(map.next_value()?);
                        Ok(true)
                    })*
                    _ => Ok(false),
                }
            }
            fn given(&self) -> Vec<&'static str> {
                let mut set = Vec::new();
                $(if self.$field.is_some() {
                    set.push(stringify!($field));
                })*
                set
            }
        }
    };
}

field_set! {
    /// A node type's numbers: every field of a `hardware.yaml` entry, each of which a
    /// scenario's `hardware:` entry may override.
    pub struct HardwareFields {
        /// `gpu` or `cpu`.
        kind: KindSpec,
        /// Peak dense BF16/FP16 throughput per accelerator, TFLOP/s.
        bf16_tflops: f64,
        /// Peak dense INT8 throughput per accelerator, TOP/s (absent: no INT8 path).
        int8_tops: f64,
        /// Memory per accelerator, GB.
        memory_gb: f64,
        /// Memory bandwidth per accelerator, GB/s.
        memory_bandwidth_gb_s: f64,
        /// Accelerator-to-accelerator bandwidth, GB/s per direction.
        interconnect_gb_s: f64,
        /// Accelerators in one node.
        accelerators_per_node: u32,
        /// On-demand price of one node, dollars per hour (0: free, e.g. owned).
        price_per_hour: f64,
        /// Spot price of one node, dollars per hour.
        spot_price_per_hour: f64,
        /// Time from request to a booted node.
        boot_time: DurationDist,
    }
}

/// `gpu` or `cpu`.
#[derive(Clone, Copy, Debug, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum KindSpec {
    /// A GPU node type.
    Gpu,
    /// A CPU node type.
    Cpu,
}

/// A field that cannot take the value given: its name and why.
pub(crate) type FieldError = (&'static str, String);

fn positive(field: &'static str, v: f64) -> Result<f64, FieldError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err((field, format!("must be greater than zero, got {v}")))
    }
}

impl HardwareFields {
    /// The fields a catalog entry must give (the others may be absent).
    pub(crate) const REQUIRED: &'static [&'static str] = &[
        "kind",
        "bf16_tflops",
        "memory_gb",
        "memory_bandwidth_gb_s",
        "interconnect_gb_s",
        "accelerators_per_node",
        "price_per_hour",
        "boot_time",
    ];

    /// Sets every given field on `node`, in the simulator's units, checking each.
    pub(crate) fn apply(&self, node: &mut NodeType) -> Result<(), FieldError> {
        let a = &mut node.accelerator;
        if let Some(k) = self.kind {
            a.kind = match k {
                KindSpec::Gpu => DeviceKind::Gpu,
                KindSpec::Cpu => DeviceKind::Cpu,
            };
        }
        if let Some(v) = self.bf16_tflops {
            a.peak_flops = positive("bf16_tflops", v)? * 1e12;
        }
        if let Some(v) = self.int8_tops {
            a.peak_int8_ops = Some(positive("int8_tops", v)? * 1e12);
        }
        if let Some(v) = self.memory_gb {
            a.memory_bytes = positive("memory_gb", v)? * 1e9;
        }
        if let Some(v) = self.memory_bandwidth_gb_s {
            a.memory_bandwidth = positive("memory_bandwidth_gb_s", v)? * 1e9;
        }
        if let Some(v) = self.interconnect_gb_s {
            a.interconnect_bandwidth = positive("interconnect_gb_s", v)? * 1e9;
        }
        if let Some(v) = self.accelerators_per_node {
            node.accelerators_per_node = positive("accelerators_per_node", f64::from(v))? as u32;
        }
        if let Some(v) = self.price_per_hour {
            node.price_per_hour = if v == 0.0 {
                0.0
            } else {
                positive("price_per_hour", v)?
            };
        }
        if let Some(v) = self.spot_price_per_hour {
            node.spot_price_per_hour = Some(positive("spot_price_per_hour", v)?);
        }
        if let Some(v) = &self.boot_time {
            node.boot_time = v.0.clone();
        }
        Ok(())
    }
}

field_set! {
    /// An LLM's architecture: every field of a `models.yaml` entry, each of which a
    /// scenario's `llm:` section may override.
    pub struct ModelFields {
        /// Total parameters.
        params: f64,
        /// Transformer layers.
        layers: u32,
        /// Hidden dimension.
        hidden: u32,
        /// Attention (query) heads.
        heads: u32,
        /// Key/value heads.
        kv_heads: u32,
        /// Feed-forward inner dimension.
        intermediate: u32,
        /// Vocabulary size.
        vocab: u32,
        /// Bytes per weight and KV element (1 for FP8/INT8).
        dtype_bytes: f64,
        /// Longest context, tokens.
        max_context: u32,
        /// Routed experts per layer of a mixture of experts (`num_local_experts`);
        /// 1, the default, for a dense model.
        experts: u32,
        /// Experts each token is routed to (`num_experts_per_tok`); 1, the default,
        /// for a dense model.
        experts_per_token: u32,
    }
}

impl ModelFields {
    /// Sets every given field on `model`.
    pub(crate) fn apply(&self, model: &mut LlmSpec) {
        if let Some(p) = self.params {
            model.params = p;
        }
        if let Some(d) = self.dtype_bytes {
            model.dtype_bytes = d;
        }
        for (value, slot) in [
            (self.layers, &mut model.layers),
            (self.hidden, &mut model.hidden),
            (self.heads, &mut model.heads),
            (self.kv_heads, &mut model.kv_heads),
            (self.intermediate, &mut model.intermediate),
            (self.vocab, &mut model.vocab),
            (self.max_context, &mut model.max_context),
            (self.experts, &mut model.experts),
            (self.experts_per_token, &mut model.experts_per_token),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
    }

    /// Fields a dense model need not give (a catalog entry must give every other).
    const OPTIONAL: &'static [&'static str] = &["experts", "experts_per_token"];

    /// The first field that is absent and required: a catalog entry must give every
    /// one but the experts of a mixture of experts.
    pub(crate) fn missing(&self) -> Option<&'static str> {
        let given = self.given();
        Self::FIELDS
            .iter()
            .find(|f| !given.contains(f) && !Self::OPTIONAL.contains(f))
            .copied()
    }
}

impl HardwareFields {
    /// The first field of [`Self::REQUIRED`] that is absent.
    pub(crate) fn missing(&self) -> Option<&'static str> {
        let given = self.given();
        Self::REQUIRED.iter().find(|f| !given.contains(f)).copied()
    }
}

/// Reads a mapping whose `own` keys `read_own` takes and whose other keys are the
/// fields of `F`; a key that is neither is an error listing both.
pub(crate) fn visit_entry<'de, A: MapAccess<'de>, F: FieldSet>(
    mut map: A,
    own: &[&'static str],
    mut read_own: impl FnMut(&str, &mut A) -> Result<(), A::Error>,
) -> Result<F, A::Error> {
    let mut fields = F::default();
    while let Some(key) = map.next_key::<String>()? {
        if own.contains(&key.as_str()) {
            read_own(&key, &mut map)?;
        } else if !fields.read_field(&key, &mut map)? {
            // `unknown_field` (which the YAML reader locates at the key, not at the
            // mapping) takes a static list: this one is built, and kept, only on the
            // error path, which ends the reading.
            let expected: Vec<&'static str> = own.iter().chain(F::FIELDS).copied().collect();
            return Err(A::Error::unknown_field(&key, Vec::leak(expected)));
        }
    }
    Ok(fields)
}

/// Reads the next value into `slot`, refusing a key given twice.
pub(crate) fn read_once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    key: &'static str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(A::Error::duplicate_field(key));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hardware_field_is_applied_in_the_simulators_units_and_checked() {
        let mut node = crate::catalog::node_type("a100-80gb").unwrap();
        let fields = HardwareFields {
            memory_gb: Some(40.0),
            price_per_hour: Some(0.0),
            ..HardwareFields::default()
        };
        fields.apply(&mut node).unwrap();
        assert_eq!(node.accelerator.memory_bytes, 40e9);
        assert_eq!(node.price_per_hour, 0.0);
        let bad = HardwareFields {
            bf16_tflops: Some(-1.0),
            ..HardwareFields::default()
        };
        assert_eq!(bad.apply(&mut node).unwrap_err().0, "bf16_tflops");
        assert_eq!(HardwareFields::default().missing(), Some("kind"));
        assert_eq!(ModelFields::default().missing(), Some("params"));
    }
}
