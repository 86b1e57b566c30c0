//! The scenario format as a JSON Schema (`inferscale schema`), for editors with a
//! YAML language server and for tools.
//!
//! The schema is derived from the schema types themselves (`schemars`), so it cannot
//! drift from what the reader accepts: every field's doc comment is its description,
//! serde's names, tags and defaults are its keys. What serde cannot say is written
//! here next to the type it describes: units as patterns built from the unit tables
//! the parsers use, the catalog's preset names as enums read from the bundled
//! catalog, and the hand-written readers' shapes (a bare value or a one-key family).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::Value;

use crate::units::{DURATION_HELP, DURATION_UNITS, Duration, RATE_HELP, Rate};

/// The JSON Schema (draft 2020-12) of a scenario file.
pub fn scenario_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let mut schema = generator.into_root_schema_for::<crate::schema::ScenarioSpec>();
    schema.insert(
        "$id".into(),
        Value::String("https://inferscale.dev/schema/scenario.json".into()),
    );
    schema.insert("title".into(), Value::String("inferscale scenario".into()));
    schema.to_value()
}

/// One unit alternative per accepted unit, longest first (so `ms` is tried before
/// `m`), as a regular expression group.
fn units_group(extra: &[&str]) -> String {
    let mut units: Vec<&str> = DURATION_UNITS.iter().map(|(u, _)| *u).collect();
    units.extend_from_slice(extra);
    units.sort_by_key(|u| std::cmp::Reverse(u.chars().count()));
    format!("(?:{})", units.join("|"))
}

/// A number as the unit parsers read it (digits, `_` separators, a decimal point).
const NUMBER: &str = r"[0-9_]*\.?[0-9_]+";

/// The pattern of a duration: one or more number–unit terms (`1h30m`), or a bare 0.
pub(crate) fn duration_pattern() -> String {
    let term = format!(r"{NUMBER}\s*{}\s*", units_group(&[]));
    format!(r"^\s*(?:0+(?:\.0*)?|(?:{term})+)$")
}

/// The pattern of a rate: a count, `/`, and a unit with an optional count of it
/// (`40/s`, `90/15s`, `2.5/hour`).
pub(crate) fn rate_pattern() -> String {
    let per = units_group(&["second", "minute", "hour", "day"]);
    format!(r"^\s*[0-9_.eE+]+\s*/\s*(?:{NUMBER}\s*)?{per}\s*$")
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": format!("A span of simulated time: {DURATION_HELP}."),
            "anyOf": [
                {"type": "string", "pattern": duration_pattern()},
                {"const": 0}
            ]
        })
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": format!("Events per unit of time: {RATE_HELP}."),
            "type": "string",
            "pattern": rate_pattern()
        })
    }
}

/// The names of the bundled catalog's entries of one kind, for a preset's enum.
fn catalog_names(yaml: &str) -> Vec<String> {
    // The bundled catalogs are lists of mappings with a `name:` key; they are
    // checked when read, so a failure here would be a build defect, and the
    // schema then names no preset rather than failing.
    serde_saphyr::from_str::<Vec<serde_json::Map<String, Value>>>(yaml)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| entry.get("name")?.as_str().map(str::to_owned))
        .collect()
}

/// A hardware preset: a name of `catalog/hardware.yaml`.
pub(crate) fn hardware_preset(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A node type of the bundled catalog (crates/scenario/catalog/hardware.yaml).",
        "type": "string",
        "enum": catalog_names(crate::catalog::HARDWARE_YAML)
    })
}

/// An LLM preset: a name of `catalog/models.yaml`.
pub(crate) fn model_preset(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A model of the bundled catalog (crates/scenario/catalog/models.yaml).",
        "type": "string",
        "enum": catalog_names(crate::catalog::MODELS_YAML)
    })
}

/// A classic model preset: a name of `catalog/classic.yaml`.
pub(crate) fn classic_preset(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "description": "A model of the bundled catalog (crates/scenario/catalog/classic.yaml).",
        "type": "string",
        "enum": catalog_names(crate::catalog::CLASSIC_YAML)
    })
}

/// The `sweep:` section (its reader is [`crate::sweep`], which checks the paths
/// against the file): named `variants`, `grid` axes, `zip` groups, the `baseline`
/// and `group_by` of paired comparisons, and bare `path: [values]` grid axes.
pub(crate) struct SweepSchema;

impl JsonSchema for SweepSchema {
    fn schema_name() -> Cow<'static, str> {
        "Sweep".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
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

/// A shape described by a hand-written reader: a bare value (`bare`) or a mapping
/// read as `T`.
pub(crate) fn bare_or<T: JsonSchema>(
    generator: &mut SchemaGenerator,
    bare: Value,
    what: &str,
) -> Schema {
    let family = generator.subschema_for::<T>();
    json_schema!({
        "description": what,
        "anyOf": [bare, family]
    })
}

impl JsonSchema for crate::policy_schema::Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes quantity: `4`, `2.5`, `\"500m\"` (milli), `\"3k\"`, `\"2M\"`.",
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": r"^\s*[0-9.eE+-]+[mkM]?\s*$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(text)
    }

    /// The patterns accept what the parsers accept and refuse what they refuse, on
    /// the forms the documentation gives.
    #[test]
    fn unit_patterns_agree_with_the_parsers() {
        let d = duration_pattern();
        for ok in [
            "250ms", "15s", "1h30m", "1.5h", "0", "2 min", "90us", "1_000ms", "3d",
        ] {
            assert!(crate::units::parse_duration(ok).is_ok(), "{ok}");
            assert!(matches(&d, ok), "{ok} against {d}");
        }
        for bad in ["15", "1x", "s", "-1s", ""] {
            assert!(crate::units::parse_duration(bad).is_err(), "{bad}");
            assert!(!matches(&d, bad), "{bad} against {d}");
        }
        let r = rate_pattern();
        for ok in ["40/s", "600/min", "2.5/h", "90/15s", "3/hour", "1e3/s"] {
            assert!(crate::units::parse_rate(ok).is_ok(), "{ok}");
            assert!(matches(&r, ok), "{ok} against {r}");
        }
        for bad in ["40", "40/x", "/s"] {
            assert!(crate::units::parse_rate(bad).is_err(), "{bad}");
            assert!(!matches(&r, bad), "{bad} against {r}");
        }
    }
}
