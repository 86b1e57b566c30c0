//! Sweeps: one scenario file that declares many runs.
//!
//! A `sweep:` section varies fields of the file it sits in, named by their path
//! (`policy.decider.target`, `workload.0.arrivals.poisson.rate`: keys and list
//! indices separated by dots). Three kinds of axis combine into a Cartesian product,
//! slowest first:
//!
//! ```yaml
//! sweep:
//!   variants:                         # named alternatives, each a set of fields
//!     hpa: {policy.decider: {kind: hpa, spec: {...}}}
//!     fixed: {policy: null, models.0.replicas: 4}
//!   grid:                             # one axis per path, in file order
//!     policy.decider.target: [0.5, 0.6, 0.7]
//!     policy.predictor: [{kind: last_value}, {kind: linear_trend, window: 8}]
//!   zip:                              # axes that move together, one group each
//!     - {workload.0.arrivals.poisson.rate: [10/s, 20/s], models.0.replicas: [2, 4]}
//! ```
//!
//! Keys other than `variants`, `grid` and `zip` are grid axes too, so the short form
//! `sweep: {policy.decider.target: [0.5, 0.6]}` works. The file without its sweep is
//! the base point and must be a valid scenario itself; every point is the base with
//! its fields replaced and is checked like any scenario, its errors located at the
//! axis that made it. Every point runs the scenario's `replications` with the same
//! random streams (common random numbers: replication `r` of every point sees the
//! same workload).
//!
//! Each axis becomes a typed column of the results (integers, floats, booleans, or
//! text; whole sections are labelled by their `kind`), named by its path with `.`
//! and `-` turned into `_`. Each point gets an id hashed from its parameters, so runs
//! keep their ids when the sweep grows and `--resume` runs only the new ones.

use std::path::Path;

use serde_json::Value;
use serde_saphyr::Location;

mod dimensions;
mod paths;
mod pilot;

pub use pilot::{Pilot, load_sweep_with, parse_sweep_with_pilot};

use dimensions::*;
use paths::*;

use crate::{Scenario, ScenarioError};
pub use inferscale_params::{ParamColumn, ParamKind, ParamValue};

/// One point of a sweep: the base scenario with some fields replaced.
#[derive(Clone, Debug)]
pub struct Point {
    /// Position in the sweep's order (variants slowest, then grid axes, then zip
    /// groups).
    pub index: usize,
    /// Stable id hashed from the parameters (12 hex digits).
    pub id: String,
    /// Short human label, e.g. `hpa target=0.5`; `base` for a file without a sweep.
    pub label: String,
    /// One value per [`Sweep::params`] column.
    pub values: Vec<ParamValue>,
    /// Hash of what this point's requests depend on (seed, duration, workload, the
    /// models' names and kinds): points with equal ids see the same requests in each
    /// replication, so their runs pair (see `paths::requests_id_of`).
    pub requests_id: String,
    /// The top-level sections in which this point differs from the base, whole and
    /// resolved (what the point inherits shows too), in YAML flow style.
    pub changed: Vec<(String, String)>,
    /// The checked scenario of this point.
    pub scenario: Scenario,
}

/// A scenario file expanded into its points.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The scenario's name (every point shares it).
    pub name: String,
    /// The parameter columns, in axis order.
    pub params: Vec<ParamColumn>,
    /// Every point, in sweep order; one for a file without a sweep.
    pub points: Vec<Point>,
    /// Replications of each point.
    pub replications: u32,
    /// Hash of everything in the file that affects results other than the swept
    /// fields and the replication count: resuming into a directory written from a
    /// different base is refused.
    pub fingerprint: String,
    /// The file's text (provenance of every result).
    pub source_text: String,
    /// The base scenario (the file without its sweep).
    pub base: Scenario,
    /// `sweep.baseline`: the variant name or point label every point is compared
    /// with, pairing runs by replication.
    pub baseline: Option<String>,
    /// The parameter columns whose values define the groups the cost–SLA Pareto
    /// front is computed within (`sweep.group_by`; by default every axis outside
    /// `policy` other than the variants).
    pub group_by: Vec<String>,
    /// The command-line changes this sweep was made with (`--set`, `--replications`,
    /// `--only`), as options; `None` for the file as it is.
    pub pilot: Option<String>,
}

impl Sweep {
    /// Number of runs: points × replications.
    pub fn run_count(&self) -> usize {
        self.points.len() * self.replications as usize
    }
}

/// Most points a sweep may have: each is a parsed scenario in memory.
pub const MAX_POINTS: usize = 100_000;
/// Most runs (points × replications) a sweep may have.
pub const MAX_RUNS: usize = 1_000_000;

/// Reads a scenario file and expands its sweep (a file without one is a sweep of
/// one point).
pub fn load_sweep(path: &Path) -> Result<Sweep, ScenarioError> {
    parse_sweep(&crate::load::read(path)?, &path.display().to_string())
}

/// [`load_sweep`] on text; `file` names it in errors and anchors relative paths.
pub fn parse_sweep(text: &str, file: &str) -> Result<Sweep, ScenarioError> {
    // One set of files for the base and every point: a file the points share is
    // read once.
    let files = crate::files::Files::new(crate::load::directory_of(file));
    parse_sweep_with(text, file, &files)
}

/// [`parse_sweep`], reading files through `files`.
fn parse_sweep_with(
    text: &str,
    file: &str,
    files: &crate::files::Files,
) -> Result<Sweep, ScenarioError> {
    let (base, sweep) = crate::load::parse_with_sweep(text, file, files)?;
    let at = |loc: Location, field: &str, message: String| {
        ScenarioError::at(file, text, loc.line(), loc.column(), field, message)
    };
    let mut doc: Value = serde_saphyr::from_str_with_options(text, crate::yaml::yaml_options())
        .map_err(|e| {
            at(
                Location::UNKNOWN,
                "",
                format!("cannot read the file as a tree: {e}"),
            )
        })?;
    if let Some(map) = doc.as_object_mut() {
        map.shift_remove("sweep");
    }
    let fingerprint = fingerprint_of(&doc);
    let replications = base.replications;
    let name = base.name.clone();

    let Some(mut sweep) = sweep else {
        let point = Point {
            index: 0,
            id: hash_hex(b"base"),
            label: "base".into(),
            values: Vec::new(),
            requests_id: requests_id_of(&doc),
            changed: Vec::new(),
            scenario: base.clone(),
        };
        return Ok(Sweep {
            name,
            params: Vec::new(),
            points: vec![point],
            replications,
            fingerprint,
            source_text: text.to_owned(),
            base,
            baseline: None,
            group_by: Vec::new(),
            pilot: None,
        });
    };

    // The comparison's settings are keys of the sweep, not axes.
    let baseline = sweep.value.shift_remove("baseline");
    let group_by = sweep.value.shift_remove("group_by");
    let dims = dimensions(&sweep.value, sweep.referenced, &at)?;
    let count = dims
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(d.choices.len()))
        .filter(|&n| n <= MAX_POINTS);
    let runs = count.and_then(|n| n.checked_mul(replications as usize));
    match (count, runs) {
        (Some(_), Some(runs)) if runs <= MAX_RUNS => {}
        _ => {
            let points = dims
                .iter()
                .map(|d| d.choices.len().to_string())
                .collect::<Vec<_>>()
                .join(" × ");
            return Err(at(
                sweep.referenced,
                "sweep",
                format!(
                    "the sweep has {points} points × {replications} replications; at most \
                     {MAX_POINTS} points and {MAX_RUNS} runs — split it into several scenarios, \
                     or coarsen an axis"
                ),
            ));
        }
    }
    let params = columns(&dims, &at)?;
    let combos = cartesian(&dims);
    // Column types take part in ids: a value that turns an integer axis into a float
    // one changes the tables' schema, so no earlier part may be reused.
    let mut kinds: Vec<String> = params
        .iter()
        .map(|c| format!("{}:{:?}", c.path, c.kind))
        .collect();
    kinds.sort();
    let kinds = Value::String(kinds.join(","));
    let mut points = Vec::with_capacity(combos.len());
    for (index, combo) in combos.iter().enumerate() {
        let mut point_doc = doc.clone();
        let mut values = Vec::new();
        let mut label = Vec::new();
        let mut id_source = Vec::new();
        for (dim, &choice) in dims.iter().zip(combo) {
            let choice = &dim.choices[choice];
            if let Some(name) = &choice.variant {
                label.push(name.clone());
                id_source.push(("variant".to_owned(), Value::String(name.clone())));
            }
            for set in &choice.sets {
                set_path(&mut point_doc, &set.path, set.value.clone())
                    .map_err(|m| at(set.at, &set.path, m))?;
                id_source.push((set.path.clone(), set.value.clone()));
            }
        }
        for column in &params {
            let value = if column.path == "variant" {
                let name = id_source
                    .iter()
                    .find(|(p, _)| p == "variant")
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null);
                ParamValue::Text(name.as_str().unwrap_or_default().to_owned())
            } else {
                let raw = id_source
                    .iter()
                    .find(|(p, _)| *p == column.path)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null);
                let axis = dims
                    .iter()
                    .flat_map(|d| d.axes.iter())
                    .find(|a| a.path == column.path);
                let v = typed(
                    &raw,
                    column.kind,
                    axis.map(|a| (a.values.as_slice(), a.labels.as_slice())),
                );
                label.push(format!("{}={v}", axis.map_or(&column.path, |a| &a.short)));
                v
            };
            values.push(value);
        }
        id_source.push(("kinds".to_owned(), kinds.clone()));
        let id = hash_hex(
            serde_json::to_string(&id_source)
                .unwrap_or_default()
                .as_bytes(),
        );
        let point_text = serde_json::to_string_pretty(&point_doc).unwrap_or_default();
        let label = label.join(" ");
        let mut scenario =
            crate::load::parse_point(&point_text, file, &point_doc, files).map_err(|e| {
                let inner = e
                    .invalid()
                    .map(|i| {
                        if i.field.is_empty() {
                            i.message.clone()
                        } else {
                            format!("`{}`: {}", i.field, i.message)
                        }
                    })
                    .unwrap_or_else(|| e.to_string());
                at(
                    first_location(&dims, combo),
                    "sweep",
                    format!("point `{label}` is not a valid scenario: {inner}"),
                )
            })?;
        scenario.source_text = base.source_text.clone();
        points.push(Point {
            index,
            id,
            label,
            values,
            requests_id: requests_id_of(&point_doc),
            changed: changed_sections(&doc, &point_doc),
            scenario,
        });
    }
    let mut seen = std::collections::HashMap::new();
    for p in &points {
        if let Some(other) = seen.insert(p.id.clone(), p.label.clone()) {
            return Err(at(
                sweep.referenced,
                "sweep",
                format!(
                    "points `{other}` and `{}` set the same fields to the same values",
                    p.label
                ),
            ));
        }
    }
    let baseline = baseline
        .map(|b| baseline_of(&b, &params, &points, &at))
        .transpose()?;
    let group_by = match group_by {
        None => params
            .iter()
            .filter(|c| c.path != "variant" && c.path != "policy" && !c.path.starts_with("policy."))
            .map(|c| c.name.clone())
            .collect(),
        Some(g) => group_columns(&g, &params, &at)?,
    };
    Ok(Sweep {
        name,
        params,
        points,
        replications,
        fingerprint,
        source_text: text.to_owned(),
        base,
        baseline,
        group_by,
        pilot: None,
    })
}

/// The top-level sections of `point` that differ from `base`, in YAML flow style.
fn changed_sections(base: &Value, point: &Value) -> Vec<(String, String)> {
    let (Some(b), Some(p)) = (base.as_object(), point.as_object()) else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = p.keys().collect();
    keys.extend(b.keys().filter(|k| !p.contains_key(*k)));
    keys.into_iter()
        .filter(|k| b.get(*k) != p.get(*k))
        .map(|k| (k.clone(), flow(p.get(k).unwrap_or(&Value::Null))))
        .collect()
}

/// `v` in YAML flow style: `{kind: hpa, target: 0.5}`, strings quoted only where
/// YAML would misread them.
pub(crate) fn flow(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_alphanumeric() || " ._-/+%()".contains(c))
                && !s.starts_with(' ')
                && !s.ends_with(' ')
                && !matches!(s.as_str(), "null" | "true" | "false" | "~")
                && s.parse::<f64>().is_err();
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).unwrap_or_default()
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{k}: {}", flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `sweep.baseline`, checked: a variant name or a point label.
fn baseline_of(
    spec: &serde_saphyr::Spanned<Value>,
    params: &[ParamColumn],
    points: &[Point],
    at: &dyn Fn(Location, &str, String) -> ScenarioError,
) -> Result<String, ScenarioError> {
    let mut variants: Vec<String> = Vec::new();
    if let Some(column) = params.iter().position(|c| c.path == "variant") {
        for p in points {
            let v = p.values[column].to_string();
            if !variants.contains(&v) {
                variants.push(v);
            }
        }
    }
    let name = spec.value.as_str().unwrap_or_default();
    if !name.is_empty()
        && (variants.iter().any(|v| v == name) || points.iter().any(|p| p.label == name))
    {
        return Ok(name.to_owned());
    }
    let mut known: Vec<String> = variants.iter().map(|v| format!("`{v}`")).collect();
    known.extend(points.iter().take(8).map(|p| format!("`{}`", p.label)));
    Err(at(
        spec.referenced,
        "sweep.baseline",
        format!(
            "`baseline:` takes a variant name or a point label; {} is neither. Known: {}{}",
            spec.value,
            known.join(", "),
            if points.len() > 8 { ", …" } else { "" }
        ),
    ))
}

/// `sweep.group_by`, checked: a list of swept paths (or `variant`), as their columns.
fn group_columns(
    spec: &serde_saphyr::Spanned<Value>,
    params: &[ParamColumn],
    at: &dyn Fn(Location, &str, String) -> ScenarioError,
) -> Result<Vec<String>, ScenarioError> {
    let axes = || {
        params
            .iter()
            .map(|c| format!("`{}`", c.path))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(list) = spec.value.as_array() else {
        return Err(at(
            spec.referenced,
            "sweep.group_by",
            format!(
                "expected a list of swept paths, e.g. `[workload.0.arrivals.poisson.rate]`; the axes are: {}",
                axes()
            ),
        ));
    };
    list.iter()
        .map(|v| {
            let path = v.as_str().unwrap_or_default();
            params
                .iter()
                .find(|c| c.path == path)
                .map(|c| c.name.clone())
                .ok_or_else(|| {
                    at(
                        spec.referenced,
                        "sweep.group_by",
                        format!("{v} is not an axis of this sweep; the axes are: {}", axes()),
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "
name: s
seed: 3
replications: 2
duration: 10m
hardware:
  - {name: gpu, preset: a100-80gb, max_count: 4}
models:
  - name: m
    llm: {preset: llama-3.1-8b}
    placement: gpu
    replicas: 1
    sla: {ttft_p99: 2s}
workload:
  - model: m
    arrivals: {poisson: {rate: 2/s}}
    input_tokens: {uniform: [90, 110]}
    output_tokens: {uniform: [10, 30]}
policy:
  interval: 15s
  decider: {kind: threshold, metric: concurrency, upper: 8, lower: 2, max: 4}
";

    fn sweep(extra: &str) -> Result<Sweep, ScenarioError> {
        parse_sweep(&format!("{BASE}{extra}"), "s.yaml")
    }

    #[test]
    fn the_files_a_sweeps_points_share_are_read_once() {
        let dir =
            std::env::temp_dir().join(format!("inferscale-sweep-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rates.csv"), "count\n60\n120\n90\n").unwrap();
        std::fs::write(dir.join("lengths.csv"), "in,out\n100,20\n300,40\n").unwrap();
        std::fs::write(
            dir.join("trace.csv"),
            "time_s,input_tokens,output_tokens\n0.5,100,10\n1.5,200,20\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("client.csv"),
            "0,1.5,1.0,Gamma,1,1\n600,0.5,2.0,Weibull,1,1\n",
        )
        .unwrap();
        let text = "
name: s
duration: 10m
hardware:
  - {name: gpu, preset: a100-80gb, max_count: 4}
models:
  - name: m
    llm: {preset: llama-3.1-8b}
    placement: gpu
workload:
  - model: m
    arrivals: {poisson: {rate: {series: {path: rates.csv, column: count, interval: 1m}}}}
    input_tokens: {empirical: {path: lengths.csv, column: in}}
    output_tokens: 20
  - model: m
    arrivals: {servegen: {path: client.csv}}
    sizes: {empirical: {path: lengths.csv, input_column: in, output_column: out}}
  - model: m
    trace: {path: trace.csv, format: generic}
sweep:
  grid: {models.0.replicas: [1, 2, 3, 4]}
";
        let files = crate::files::Files::new(&dir);
        let sweep =
            parse_sweep_with(text, &dir.join("s.yaml").display().to_string(), &files).unwrap();
        assert_eq!(sweep.points.len(), 4);
        // Five reads (the series, the token column, the ServeGen client, the size
        // table, the trace) for five points (the base and four), not 25.
        assert_eq!(files.reads(), 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_sweep_is_one_point() {
        let s = sweep("").unwrap();
        assert_eq!(s.points.len(), 1);
        assert_eq!(s.run_count(), 2);
        assert!(s.params.is_empty());
        assert_eq!(s.points[0].label, "base");
    }

    #[test]
    fn grid_zip_and_variants_multiply_in_order() {
        let s = sweep(
            "sweep:
  variants:
    a: {models.0.replicas: 1}
    b: {models.0.replicas: 2}
  grid:
    policy.decider.upper: [6, 8, 10]
  zip:
    - {workload.0.arrivals.poisson.rate: [1/s, 3/s], policy.interval: [10s, 20s]}
",
        )
        .unwrap();
        assert_eq!(s.points.len(), 2 * 3 * 2);
        let names: Vec<&str> = s.params.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "variant",
                "policy_decider_upper",
                "workload_0_arrivals_poisson_rate",
                "policy_interval"
            ]
        );
        assert_eq!(s.params[1].kind, ParamKind::Int);
        assert_eq!(s.params[2].kind, ParamKind::Text);
        // Variants slowest, zip fastest.
        assert_eq!(s.points[0].label, "a upper=6 rate=1/s interval=10s");
        assert_eq!(s.points[1].label, "a upper=6 rate=3/s interval=20s");
        assert_eq!(s.points[6].label, "b upper=6 rate=1/s interval=10s");
        // The fields really changed in each point's scenario.
        let p = &s.points[7].scenario;
        let System::Llm(sys) = &p.system else {
            panic!()
        };
        assert_eq!(sys.cluster.models[0].replicas, 2);
        assert!(
            (sys.workloads[0].source.mean_rate_over(600.0) - 3.0).abs() < 1e-12,
            "rate of point 7"
        );
        assert_eq!(p.policy.as_ref().unwrap().config.interval_s, 20.0);
        // Every point shares the base's streams and provenance.
        assert!(s.points.iter().all(|p| p.scenario.seed == 3));
        assert!(
            s.points
                .iter()
                .all(|p| p.scenario.source_text.contains("sweep:"))
        );
    }

    use crate::System;

    #[test]
    fn ids_depend_on_parameters_not_on_order() {
        let a = sweep("sweep: {policy.decider.upper: [6, 8]}\n").unwrap();
        let b = sweep("sweep: {policy.decider.upper: [8, 6, 10]}\n").unwrap();
        assert_eq!(a.points[0].id, b.points[1].id);
        assert_eq!(a.points[1].id, b.points[0].id);
        assert_eq!(a.fingerprint, b.fingerprint);
        let c = parse_sweep(
            &format!("{BASE}sweep: {{policy.decider.upper: [6, 8]}}\n")
                .replace("replications: 2", "replications: 5"),
            "s.yaml",
        )
        .unwrap();
        assert_eq!(a.fingerprint, c.fingerprint, "replications may grow");
        let d = parse_sweep(
            &format!("{BASE}sweep: {{policy.decider.upper: [6, 8]}}\n")
                .replace("seed: 3", "seed: 4"),
            "s.yaml",
        )
        .unwrap();
        assert_ne!(a.fingerprint, d.fingerprint, "the seed changes results");
    }

    #[test]
    fn whole_sections_are_labelled_by_kind() {
        let s = sweep(
            "sweep:
  policy.decider:
    - {kind: threshold, metric: concurrency, upper: 8, lower: 2, max: 4}
    - {kind: static}
",
        )
        .unwrap();
        assert_eq!(s.params[0].kind, ParamKind::Text);
        assert_eq!(s.points[1].values[0], ParamValue::Text("static".into()));
        assert_eq!(s.points[1].label, "decider=static");
    }

    #[test]
    fn sections_of_one_kind_are_labelled_by_the_fields_that_differ() {
        let s = sweep(
            "sweep:
  policy.decider:
    - {kind: threshold, metric: concurrency, upper: 8, lower: 2, max: 4}
    - {kind: threshold, metric: concurrency, upper: 12, lower: 2, max: 4}
",
        )
        .unwrap();
        assert_eq!(s.points[0].label, "decider=threshold upper=8");
        assert_eq!(
            s.points[1].values[0],
            ParamValue::Text("threshold upper=12".into())
        );
        // A removed section is a null, `none` in the label.
        let s =
            sweep("sweep:\n  policy: [null, {interval: 15s, decider: {kind: static}}]\n").unwrap();
        assert_eq!(s.points[0].values[0], ParamValue::Null);
        assert_eq!(s.points[0].label, "policy=none");
        // A whole workload entry reads as `workload`, by what differs in it.
        let s = sweep(
            "sweep:
  workload.0:
    - {model: m, arrivals: {poisson: {rate: 2/s}}, input_tokens: 100, output_tokens: 20}
    - {model: m, arrivals: {poisson: {rate: 4/s}}, input_tokens: 100, output_tokens: 20}
",
        )
        .unwrap();
        assert_eq!(s.points[1].label, "workload=arrivals.poisson.rate=4/s");
    }

    #[test]
    fn errors_point_at_the_axis() {
        let err = sweep("sweep:\n  policy.decidr.target: [1, 2]\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("s.yaml:23:25:"), "{msg}");
        assert!(msg.contains("has no `decidr`"), "{msg}");

        let err = sweep("sweep:\n  policy.decider.upper: [8, -1]\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("point `upper=-1`"), "{msg}");
        assert!(msg.contains("policy.decider"), "{msg}");

        let err = sweep("sweep:\n  seed: [1, 2]\n").unwrap_err();
        assert!(err.to_string().contains("common random numbers"), "{err}");

        let err = sweep("sweep:\n  models.0.replicas: 3\n").unwrap_err();
        assert!(err.to_string().contains("expected a list"), "{err}");

        let err =
            sweep("sweep:\n  zip:\n    - {models.0.replicas: [1, 2], policy.interval: [10s]}\n")
                .unwrap_err();
        assert!(err.to_string().contains("one length"), "{err}");

        let err = sweep("sweep:\n  models.0.replicas: [1]\n  models.0: [{}]\n").unwrap_err();
        assert!(err.to_string().contains("both swept"), "{err}");

        let err = sweep("sweep:\n  models.3.replicas: [1]\n").unwrap_err();
        assert!(err.to_string().contains("past its end"), "{err}");
    }

    #[test]
    fn a_baseline_names_a_variant_or_a_point_and_groups_name_axes() {
        let variants = "sweep:\n  variants:\n    hpa: {}\n    fixed: {policy: null}\n  \
                        grid: {models.0.replicas: [1, 2]}\n";
        // By default the front is drawn within each value of the axes outside `policy`.
        let s = sweep(&format!("{variants}  baseline: fixed\n")).unwrap();
        assert_eq!(s.baseline.as_deref(), Some("fixed"));
        assert_eq!(s.group_by, ["models_0_replicas"]);
        assert_eq!(s.points.len(), 4);
        // Every point saw the same requests: the fleet is not the workload.
        assert!(
            s.points
                .iter()
                .all(|p| p.requests_id == s.points[0].requests_id)
        );
        let s = sweep(&format!(
            "{variants}  baseline: hpa replicas=2\n  group_by: []\n"
        ))
        .unwrap();
        assert_eq!(s.baseline.as_deref(), Some("hpa replicas=2"));
        assert!(s.group_by.is_empty());
        let err = sweep(&format!("{variants}  baseline: hpx\n")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("sweep.baseline") && msg.contains("`hpa`, `fixed`"),
            "{msg}"
        );
        let err = sweep(&format!("{variants}  group_by: [policy.interval]\n")).unwrap_err();
        assert!(err.to_string().contains("`models.0.replicas`"), "{err}");
        // A swept workload changes the requests.
        let s = sweep("sweep:\n  workload.0.arrivals.poisson.rate: [1/s, 2/s]\n").unwrap();
        assert_ne!(s.points[0].requests_id, s.points[1].requests_id);
    }
}
