//! External deciders (`decider: {kind: external}`): the protocol's messages against
//! their committed JSON Schema, a Python reimplementation of a built-in rule giving
//! exactly the built-in's actions and results, and bad answers ending the run with
//! an error that names the program.

use crate::support::{TempDir, inferscale, inferscale_ok, repo, stderr, stdout};

/// The rows of `table` (a results file under `dir`) for sweep point `point`, every
/// column but those naming the run or the point, as text.
fn rows_of(dir: &TempDir, table: &str, point: &str) -> Vec<Vec<String>> {
    let t = inferscale::report::read_parquet(&dir.path().join(format!("{table}.parquet")))
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    let points = t.display_column("point").unwrap();
    let names: Vec<String> = t.batches[0]
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !matches!(n.as_str(), "run_id" | "point" | "point_index" | "variant"))
        .collect();
    let columns: Vec<Vec<String>> = names.iter().map(|n| t.display_column(n).unwrap()).collect();
    (0..points.len())
        .filter(|&i| points[i] == point)
        .map(|i| {
            names
                .iter()
                .zip(&columns)
                .map(|(n, c)| format!("{n}={}", c[i]))
                .collect()
        })
        .collect()
}

/// `examples/threshold_decider.py`, the built-in threshold rule written in Python as
/// an external decider, gives exactly the built-in rule's actions (time, counts,
/// reasons), time series and run results, replication by replication, on the same
/// scenario with a forecast scaling its metric.
#[test]
fn a_python_threshold_rule_over_json_lines_is_the_built_in_rule() {
    let out = TempDir::new("external-decider");
    let run = inferscale_ok(&[
        "run",
        "scenarios/external-decider.yaml",
        "--reproducible",
        "--out",
        out.str(),
    ]);
    let said = format!("{}{}", stdout(&run), stderr(&run));
    assert!(
        said.contains("Each run starts the external program `python3"),
        "{said}"
    );
    for table in ["actions", "runs", "timeseries", "models"] {
        let (external, builtin) = (
            rows_of(&out, table, "external"),
            rows_of(&out, table, "builtin"),
        );
        assert!(!builtin.is_empty(), "{table}: no rows");
        assert_eq!(external.len(), builtin.len(), "{table}: row counts");
        for (e, b) in external.iter().zip(&builtin) {
            assert_eq!(e, b, "{table}");
        }
    }
    // The rule acted: steps both ways, with the built-in's reasons.
    let actions = rows_of(&out, "actions", "builtin");
    let says = |text: &str| actions.iter().flatten().any(|cell| cell.contains(text));
    assert!(says("> 40") && says("< 12"), "{actions:?}");
}

/// The committed `docs/decider-protocol.schema.json` is what `inferscale schema
/// --decider-protocol` prints (`INFERSCALE_BLESS=1` rewrites it), and every view a
/// program is sent, recorded over a run, is valid under it, as is the answer.
#[test]
fn every_view_a_program_gets_is_valid_under_the_committed_schema() {
    let path = repo().join("docs/decider-protocol.schema.json");
    let printed = stdout(&inferscale_ok(&["schema", "--decider-protocol"]));
    if std::env::var_os("INFERSCALE_BLESS").is_some() {
        std::fs::write(&path, &printed).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == printed,
        "{} is stale: run `inferscale schema --decider-protocol --out docs/decider-protocol.schema.json`",
        path.display()
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let dir = TempDir::new("decider-views");
    // The mixed fleet (an L4 model and its CPU variant), its cost_optimal decider
    // replaced by a program that records each view and adds a CPU replica each tick.
    let text = std::fs::read_to_string(repo().join("scenarios/mixed-fleet.yaml")).unwrap();
    let cut = text.find("  decider:\n    kind: cost_optimal").unwrap();
    let text = format!(
        "{}  decider:\n    kind: external\n    command:\n      - sh\n      - -c\n      - 'while read v; do printf \"%s\\n\" \"$v\" >> views.jsonl; echo ''{{\"actions\": [{{\"model\": \"small\", \"node_type\": \"cpu\", \"delta\": 1}}]}}''; done'\n",
        &text[..cut]
    )
    .replace("replications: 3", "replications: 1")
    .replace("duration: 4h", "duration: 30m");
    let scenario = dir.path().join("views.yaml");
    std::fs::write(&scenario, text).unwrap();
    let scenario = scenario.to_str().unwrap();
    let run = inferscale(&[
        "run",
        scenario,
        "--out",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let views = std::fs::read_to_string(dir.path().join("views.jsonl")).unwrap();
    let lines: Vec<&str> = views.lines().collect();
    assert!(lines.len() >= 59, "one view per 30 s tick: {}", lines.len());
    let view_schema = {
        let mut s = schema.clone();
        s["$ref"] = serde_json::json!("#/$defs/FleetView");
        s.as_object_mut().unwrap().remove("properties");
        s.as_object_mut().unwrap().remove("required");
        s
    };
    let validator = jsonschema::validator_for(&view_schema).unwrap();
    for line in &lines {
        let view: serde_json::Value = serde_json::from_str(line).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&view)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?} in {line}");
    }
    let last: serde_json::Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    let models = last["models"].as_array().unwrap();
    assert_eq!(models[1]["name"], "small-cpu");
    assert_eq!(
        (models[1]["group"].as_str(), models[1]["node_type"].as_str()),
        (Some("small"), Some("cpu"))
    );
    // One CPU replica more every tick: the delta adds to `desired`, up to the quota of 8.
    assert_eq!(models[1]["replicas"]["desired"], 8);
    assert!(last["cost_usd"].as_f64().unwrap() > 0.0);
    assert!(models[0]["forecast"]["at_horizon_per_s"].as_f64().is_some());
}

/// An answer the protocol does not allow ends the run (exit 1) with an error naming
/// the program, the tick and what was wrong; so does a program that is not one.
#[test]
fn a_bad_answer_ends_the_run_naming_the_program() {
    let dir = TempDir::new("decider-bad");
    for (answer, says) in [
        (
            r#"{\"actions\": [{\"model\": \"chta\", \"replicas\": 2}]}"#,
            "the models are chat",
        ),
        (
            r#"{\"actions\": [{\"model\": \"chat\", \"replicas\": 2, \"delta\": 1}]}"#,
            "exactly one of",
        ),
        (r#"{\"action\": []}"#, "unknown field `action`"),
        ("scale up", "is not a decider answer"),
    ] {
        let scenario = crate::support::example_variant(
            &dir,
            "external-decider",
            &[
                ("replications: 2", "replications: 1"),
                (
                    "command: [python3, ../examples/threshold_decider.py, --metric, concurrency, --upper, \"40\", --lower, \"12\", --min, \"1\", --max, \"4\"]",
                    &format!("command: [sh, -c, \"while read v; do echo '{answer}'; done\"]"),
                ),
            ],
        );
        let out = inferscale(&[
            "run",
            &scenario,
            "--out",
            dir.path().join("out").to_str().unwrap(),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains("external decider `sh -c") && err.contains(says),
            "{answer}: {err}"
        );
    }
}
