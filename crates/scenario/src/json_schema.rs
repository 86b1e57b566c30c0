//! The scenario format as a JSON Schema (`inferscale schema`), for editors with a
//! YAML language server and for tools.
//!
//! The schema is derived from the schema types themselves (`schemars`), so it cannot
//! drift from what the reader accepts: every field's doc comment is its description,
//! serde's names, tags and defaults are its keys. What serde cannot say is written
//! next to the type it describes (in its module, so this one depends on no schema
//! module but the top one): units as patterns built from the unit tables
//! the parsers use, the catalog's preset names as enums read from the bundled
//! catalog, and the hand-written readers' shapes (a bare value or a one-key family).

use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use crate::units::{duration_pattern, rate_pattern};

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
