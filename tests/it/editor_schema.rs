//! `inferscale schema`: the JSON Schema editors and tools check scenario files
//! against. Every example scenario must validate (the schema is derived from the
//! reader's types; this checks the hand-written parts, patterns and enums, against
//! files the reader accepts), and mistakes the reader refuses for their shape must
//! fail it too.

use crate::support::{example_scenarios, inferscale_ok, repo, stdout};

/// The schema, as `inferscale schema` prints it.
fn schema() -> serde_json::Value {
    let out = inferscale_ok(&["schema"]);
    serde_json::from_str(&stdout(&out)).expect("the schema is JSON")
}

/// A YAML file as the JSON value a language server checks.
fn as_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the validator says of `value`, one line per error.
fn errors(validator: &jsonschema::Validator, value: &serde_json::Value) -> Vec<String> {
    validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_example_scenario_validates_against_the_schema() {
    let schema = schema();
    assert_eq!(
        schema["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "draft 2020-12"
    );
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let examples = example_scenarios();
    assert!(examples.len() >= 20, "{} examples", examples.len());
    let mut failures = Vec::new();
    for path in &examples {
        let errs = errors(&validator, &as_json(path));
        if !errs.is_empty() {
            failures.push(format!("{}:\n  {}", path.display(), errs.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Files the reader refuses for their shape (a unit, a key, a preset, a kind) fail
/// the schema too, so an editor flags them as they are typed.
#[test]
fn shape_mistakes_fail_the_schema() {
    let validator = jsonschema::validator_for(&schema()).unwrap();
    for name in [
        "duration_bad_unit",
        "rate_without_unit",
        "missing_duration",
        "llm_unknown_hardware_preset",
        "llm_unknown_model_preset",
        "llm_unknown_routing",
        "initial_unknown",
        "policy_unknown_decider",
        "unknown_distribution",
        "unknown_rate_function",
        "trace_unknown_format",
    ] {
        let path = repo().join(format!("tests/bad_scenarios/{name}.yaml"));
        if !path.exists() {
            panic!("{} is gone: pick another mistake", path.display());
        }
        assert!(
            !errors(&validator, &as_json(&path)).is_empty(),
            "{name} passes the schema"
        );
    }
    // Field by field, from a valid file: a duration without a unit, a rate without
    // one, a misspelt catalog override, and a correct one.
    let base = as_json(&repo().join("scenarios/llm-a100.yaml"));
    assert!(errors(&validator, &base).is_empty());
    let with = |pointer: &str, value: serde_json::Value| {
        let mut v = base.clone();
        *v.pointer_mut(pointer)
            .unwrap_or_else(|| panic!("llm-a100.yaml has no {pointer}")) = value;
        v
    };
    for (pointer, value) in [
        ("/duration", serde_json::json!("90")),
        ("/duration", serde_json::json!("2 hours")),
        ("/seed", serde_json::json!("one")),
    ] {
        assert!(
            !errors(&validator, &with(pointer, value.clone())).is_empty(),
            "{pointer} = {value} passes"
        );
    }
    let mut extra = base.clone();
    extra["hardware"][0]["memory_gbs"] = serde_json::json!(40);
    assert!(
        !errors(&validator, &extra).is_empty(),
        "a misspelt override passes"
    );
    let mut overridden = base.clone();
    overridden["hardware"][0]["memory_gb"] = serde_json::json!(40);
    overridden["hardware"][0]["price_per_hour"] = serde_json::json!(1.5);
    assert_eq!(errors(&validator, &overridden), Vec::<String>::new());
}

/// Descriptions come from the doc comments, and kinds and presets are enums.
#[test]
fn the_schema_documents_fields_and_lists_choices() {
    let text = serde_json::to_string(&schema()).unwrap();
    for expected in [
        // A field's doc comment.
        "Master seed of every random stream",
        // A catalog preset and a decider kind.
        "\"a100-80gb\"",
        "\"llama-3.1-8b\"",
        "\"hpa\"",
        // A unit pattern.
        "pattern",
    ] {
        assert!(text.contains(expected), "no {expected}");
    }
}

/// `docs/scenario.schema.json`, the file the README's modeline points editors at, is
/// the schema `inferscale schema` prints (`INFERSCALE_BLESS=1` rewrites it).
#[test]
fn the_committed_schema_is_current() {
    let path = repo().join("docs/scenario.schema.json");
    let printed = stdout(&inferscale_ok(&["schema"]));
    if std::env::var_os("INFERSCALE_BLESS").is_some() {
        std::fs::write(&path, &printed).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == printed,
        "{} is stale: run `inferscale schema --out docs/scenario.schema.json`",
        path.display()
    );
}
