//! Reading a scenario: YAML → [`ScenarioSpec`] → checked [`Scenario`].

use std::path::{Path, PathBuf};

use inferscale_cluster::{GenericModel, StationConfig};
use inferscale_engine::{SimDuration, SimTime};
use serde::Deserialize;
use serde_saphyr::Location;

use crate::ScenarioError;
use crate::schema::ScenarioSpec;
use crate::yaml::yaml_options;

/// What a scenario simulates.
#[derive(Clone, Debug)]
pub enum System {
    /// One generic model: a G/G/c station.
    Generic(StationConfig),
    /// LLM models on a cluster of node types.
    Llm(crate::llm_load::LlmSystem),
}

/// A scenario that passed every check, in the simulator's own types.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name of the study.
    pub name: String,
    /// The file's description, if any.
    pub description: Option<String>,
    /// Master seed.
    pub seed: u64,
    /// Number of independent replications (at least 1).
    pub replications: u32,
    /// Simulated time per replication, warm-up included.
    pub duration: SimDuration,
    /// Excluded initial part of each replication.
    pub warmup: SimDuration,
    /// What is simulated: a generic station, or an LLM cluster.
    pub system: System,
    /// Output directory from the file, if it names one.
    pub output_dir: Option<PathBuf>,
    /// Whether the file asks for figures after a run (`output.plots`).
    pub output_plots: bool,
    /// Share of the requests `requests.parquet` keeps (`output.requests`; 1: all);
    /// `None`: no such table.
    pub output_requests: Option<f64>,
    /// The file's text, kept so results can carry it as provenance.
    pub source_text: std::sync::Arc<str>,
    /// The scaling loop, if the file asks for one.
    pub policy: Option<crate::PolicySetup>,
}

/// Reads and checks the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    parse(&read(path)?, &path.display().to_string())
}

/// The text of the scenario file at `path`.
pub(crate) fn read(path: &Path) -> Result<String, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|source| ScenarioError::Read {
        path: path.to_owned(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        // Locate the first byte that is not UTF-8, and show the line up to it.
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let text = std::str::from_utf8(valid).unwrap_or_default();
        let line = text.matches('\n').count() as u64 + 1;
        let before = text.rsplit('\n').next().unwrap_or_default();
        let column = before.chars().count() as u64 + 1;
        ScenarioError::at(
            &path.display().to_string(),
            text,
            line,
            column,
            "",
            format!(
                "the file is not UTF-8 text (byte 0x{:02x} here); save it as UTF-8",
                e.as_bytes()[valid.len()]
            ),
        )
    })
}

/// Checks scenario `text`; `file` names it in error messages, and relative paths in
/// it resolve against its directory.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let files = crate::files::Files::new(directory_of(file));
    parse_with_sweep(text, file, &files).map(|(scenario, _)| scenario)
}

/// The directory of scenario file `file`, which its relative paths resolve against.
pub(crate) fn directory_of(file: &str) -> &Path {
    Path::new(file).parent().unwrap_or(Path::new(""))
}

/// [`parse`] of a sweep point's text, whose untyped tree the sweep already holds
/// (saves reading the text a second time for [`check_applicable`]); its files come
/// through the sweep's `files`, shared by every point.
pub(crate) fn parse_point(
    text: &str,
    file: &str,
    tree: &serde_json::Value,
    files: &crate::files::Files,
) -> Result<Scenario, ScenarioError> {
    parse_inner(text, file, Some(tree), files).map(|(scenario, _)| scenario)
}

/// [`parse`], also handing back the file's `sweep:` section (unchecked) for
/// [`crate::sweep`] to expand.
pub(crate) fn parse_with_sweep(
    text: &str,
    file: &str,
    files: &crate::files::Files,
) -> Result<
    (
        Scenario,
        Option<serde_saphyr::Spanned<crate::schema::SweepSpec>>,
    ),
    ScenarioError,
> {
    parse_inner(text, file, None, files)
}

/// Deserializes `text` (no file is read), then builds the scenario from it, reading
/// every file it names through `files`.
fn parse_inner(
    text: &str,
    file: &str,
    tree: Option<&serde_json::Value>,
    files: &crate::files::Files,
) -> Result<
    (
        Scenario,
        Option<serde_saphyr::Spanned<crate::schema::SweepSpec>>,
    ),
    ScenarioError,
> {
    let mut spec = deserialize(text, file)?;
    let sweep = spec.sweep.take();
    let at = |loc: Location, field: &str, message: String| {
        // A check with no position of its own (what a named file holds) is located at
        // the field, found in the text again.
        let loc = if loc == Location::UNKNOWN {
            crate::locate::locate(text, field).unwrap_or(loc)
        } else {
            loc
        };
        ScenarioError::at(file, text, loc.line(), loc.column(), field, message)
    };
    let at: &dyn Fn(Location, &str, String) -> ScenarioError = &at;

    let name = &spec.name.value;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(at(
            spec.name.referenced,
            "name",
            format!(
                "a name of {} characters is too long for a results directory; at most \
                 {MAX_NAME_CHARS}",
                name.chars().count()
            ),
        ));
    }
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(at(
            spec.name.referenced,
            "name",
            format!(
                "`{name}` cannot name a results directory; use letters, digits, `-`, `_` \
                 and `.` (not first), e.g. `diurnal-llm`"
            ),
        ));
    }

    if spec.warmup.value >= spec.duration.value {
        let loc = if spec.warmup.referenced == Location::UNKNOWN {
            spec.duration.referenced
        } else {
            spec.warmup.referenced
        };
        return Err(at(
            loc,
            "warmup",
            format!(
                "the warm-up ({}) must be shorter than the duration ({})",
                spec.warmup.value.0, spec.duration.value.0
            ),
        ));
    }

    let duration = spec.duration.value.0;
    let interval = spec.output.timeseries_interval.0;
    if !interval.is_zero() && duration.as_nanos() / interval.as_nanos() > MAX_INTERVALS {
        return Err(at(
            spec.duration.referenced,
            "output.timeseries_interval",
            format!(
                "`timeseries_interval: {interval}` gives {} samples per model over {duration}; \
                 at most {MAX_INTERVALS} (use {} or longer, or `0s` for no time series)",
                duration.as_nanos() / interval.as_nanos(),
                inferscale_engine::SimDuration::from_nanos(
                    duration.as_nanos().div_ceil(MAX_INTERVALS)
                )
            ),
        ));
    }
    if let Some(p) = &spec.policy
        && let Some(tick) = p.value.interval
        && !tick.0.is_zero()
        && duration.as_nanos() / tick.0.as_nanos() > MAX_INTERVALS
    {
        return Err(at(
            p.referenced,
            "policy.interval",
            format!(
                "`interval: {}` gives {} control ticks over {duration}; at most {MAX_INTERVALS}",
                tick.0,
                duration.as_nanos() / tick.0.as_nanos()
            ),
        ));
    }
    let models = &spec.models.value;
    for (i, model) in models.iter().enumerate() {
        let kinds = usize::from(model.value.generic.is_some())
            + usize::from(model.value.llm.is_some())
            + usize::from(model.value.classic.is_some());
        if kinds != 1 {
            return Err(at(
                model.referenced,
                &format!("models[{i}]"),
                format!(
                    "model `{}` needs exactly one of `generic:`, `llm:` and `classic:`; found {kinds}",
                    model.value.name
                ),
            ));
        }
    }
    match tree {
        Some(tree) => check_applicable(&spec, tree, at)?,
        None => {
            if let Ok(tree) =
                serde_saphyr::from_str_with_options::<serde_json::Value>(text, yaml_options())
            {
                check_applicable(&spec, &tree, at)?;
            }
        }
    }
    let any_llm = models
        .iter()
        .any(|m| m.value.llm.is_some() || m.value.classic.is_some());
    let system = if any_llm {
        if let Some((i, m)) = models
            .iter()
            .enumerate()
            .find(|(_, m)| m.value.generic.is_some())
        {
            return Err(at(
                m.referenced,
                &format!("models[{i}].generic"),
                "this version cannot mix `generic:` models with `llm:` or `classic:` ones in one \
                 scenario; split them into two scenarios"
                    .into(),
            ));
        }
        System::Llm(crate::llm_load::build(&spec, files, &at)?)
    } else {
        System::Generic(generic_station(&spec, files, &at)?)
    };

    let policy = match (&spec.policy, &system) {
        (None, _) => None,
        (Some(p), System::Generic(_)) => {
            return Err(at(
                p.referenced,
                "policy",
                "a scaling policy needs a cluster (`llm:` or `classic:` models); a `generic:` \
                 model is one fixed station"
                    .into(),
            ));
        }
        (Some(p), System::Llm(llm)) => {
            let names: Vec<String> = llm.cluster.models.iter().map(|m| m.name.clone()).collect();
            let mut setup = p.value.build(&llm.cluster, files.base()).map_err(|e| {
                let field = format!("policy.{}", e.field);
                let loc = crate::locate::locate(text, &field).unwrap_or(p.referenced);
                at(loc, &field, e.message)
            })?;
            if p.value.models.is_none() {
                // By default the loop drives each model, not its variants (a decider
                // such as cost_optimal sizes those through the model they serve).
                setup
                    .config
                    .models
                    .retain(|&m| llm.cluster.router_of(m) == m);
            }
            if setup.config.predictor == inferscale_policy::PredictorConfig::Oracle
                && let Some(w) = llm.workloads.iter().find(|w| {
                    setup.config.models.contains(&w.model)
                        && matches!(w.source, crate::RequestSource::Trace { .. })
                })
            {
                return Err(at(
                    p.referenced,
                    "policy.predictor",
                    format!(
                        "the oracle reads the true rate of synthetic arrivals; model `{}` is fed by a trace",
                        names[w.model]
                    ),
                ));
            }
            Some(setup)
        }
    };
    let output_requests = match &spec.output.requests {
        None => None,
        Some(r) => {
            if let System::Generic(_) = system {
                return Err(at(
                    r.referenced,
                    "output.requests",
                    "`requests:` records a cluster's requests (`llm:` or `classic:` models); a \
                     `generic:` station has none to record"
                        .into(),
                ));
            }
            match r.value {
                crate::schema::RequestsSpec::All => Some(1.0),
                crate::schema::RequestsSpec::Sample(f) if f > 0.0 && f <= 1.0 => Some(f),
                crate::schema::RequestsSpec::Sample(f) => {
                    return Err(at(
                        r.referenced,
                        "output.requests.sample",
                        format!(
                            "a sample is a share above 0 and at most 1, e.g. `{{sample: 0.01}}`; got {f}"
                        ),
                    ));
                }
            }
        }
    };
    let duration = spec.duration.value.0;
    let warmup = spec.warmup.value.0;
    let scenario = Scenario {
        policy,
        name: spec.name.value,
        description: spec.description,
        seed: spec.seed,
        replications: spec.replications.get(),
        duration,
        warmup,
        system,
        output_plots: spec.output.plots,
        output_requests,
        // Relative to the scenario file, as every path in it.
        output_dir: spec
            .output
            .dir
            .map(|d| Path::new(file).parent().unwrap_or(Path::new("")).join(d)),
        source_text: text.into(),
    };
    Ok((scenario, sweep))
}

/// The single generic model and its workload, as a station.
fn generic_station(
    spec: &ScenarioSpec,
    files: &crate::files::Files,
    at: &dyn Fn(Location, &str, String) -> ScenarioError,
) -> Result<StationConfig, ScenarioError> {
    let [model] = spec.models.value.as_slice() else {
        return Err(at(
            spec.models.referenced,
            "models",
            format!(
                "a scenario of `generic:` models simulates exactly one; found {}",
                spec.models.value.len()
            ),
        ));
    };
    let model = &model.value;
    let [workload] = spec.workload.value.as_slice() else {
        return Err(at(
            spec.workload.referenced,
            "workload",
            format!(
                "expected exactly one workload entry, for model `{}`; found {}",
                model.name,
                spec.workload.value.len()
            ),
        ));
    };
    if workload.model.value != model.name {
        return Err(at(
            workload.model.referenced,
            "workload[0].model",
            format!(
                "no model named `{}`; the models are: `{}`",
                workload.model.value, model.name
            ),
        ));
    }
    let Some(generic) = &model.generic else {
        unreachable!("checked: every model here is generic")
    };
    if let Some(initial) = &model.initial {
        return Err(at(
            initial.referenced,
            "models[0].initial",
            "`initial:` applies to `llm:` and `classic:` models; a generic model's servers have no nodes to boot".into(),
        ));
    }
    let Some(arrivals) = &workload.arrivals else {
        return Err(at(
            workload.model.referenced,
            "workload[0].arrivals",
            "a generic model needs `arrivals:` (traces feed `llm:` models)".into(),
        ));
    };
    // Arrival processes are checked while deserializing; a file is read here.
    let arrivals = arrivals
        .build(files)
        .map_err(|m| at(Location::UNKNOWN, "workload[0].arrivals", m))?;
    Ok(StationConfig {
        model: GenericModel {
            servers: generic.servers.get(),
            service_time: generic.service_time.0.clone(),
        },
        arrivals,
        warmup: SimTime::ZERO + spec.warmup.value.0,
        horizon: SimTime::ZERO + spec.duration.value.0,
        watchdog: Default::default(),
    })
}

/// Longest scenario name: it names the results directory, and file systems allow
/// 255 bytes per name.
pub const MAX_NAME_CHARS: usize = 100;

/// Most sampling intervals (and control ticks) one run may have: each is a row per
/// model in memory and in `timeseries.parquet`.
pub const MAX_INTERVALS: u64 = 1_000_000;

/// Refuses fields that are valid in a scenario but mean nothing for the model they
/// are set on (they would be parsed and silently ignored): a `generic:` model's
/// cluster settings, a `classic:` model's token settings, an `llm:` model's batching
/// delay. Which fields the file sets comes from a second, untyped read of it (the
/// typed one fills in defaults).
fn check_applicable(
    spec: &ScenarioSpec,
    tree: &serde_json::Value,
    at: &dyn Fn(Location, &str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    let keys = |v: Option<&serde_json::Value>| -> Vec<String> {
        v.and_then(serde_json::Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let raw_models = tree.get("models").and_then(serde_json::Value::as_array);
    for (i, model) in spec.models.value.iter().enumerate() {
        let raw = raw_models.and_then(|m| m.get(i));
        let set = keys(raw);
        let serving = keys(raw.and_then(|m| m.get("serving")));
        let sla = keys(raw.and_then(|m| m.get("sla")));
        let m = &model.value;
        let refuse =
            |key: &str, why: String| Err(at(model.referenced, &format!("models[{i}].{key}"), why));
        if m.generic.is_some() {
            if let Some(key) = set
                .iter()
                .find(|k| !matches!(k.as_str(), "name" | "generic" | "initial"))
            {
                return refuse(
                    key,
                    format!(
                        "`{key}` applies to `llm:` and `classic:` models; a `generic:` model is one \
                         pool of servers (it takes `servers` and `service_time`)"
                    ),
                );
            }
        } else if m.classic.is_some() {
            const CLASSIC_SERVING: [&str; 3] = ["max_batch", "max_queue_delay", "container_start"];
            if let Some(key) = serving
                .iter()
                .find(|k| !CLASSIC_SERVING.contains(&k.as_str()))
            {
                return refuse(
                    &format!("serving.{key}"),
                    format!(
                        "`serving.{key}` applies to `llm:` models; a `classic:` model batches whole \
                         requests and takes {}",
                        CLASSIC_SERVING.map(|k| format!("`{k}`")).join(", ")
                    ),
                );
            }
            if sla.iter().any(|k| k == "tpot_p99") {
                return refuse(
                    "sla.tpot_p99",
                    "a `classic:` request has no tokens to pace; its targets are `e2e_p99` (or \
                     `ttft_p99`, the same thing for it)"
                        .into(),
                );
            }
            for key in ["tp", "timeout"] {
                if set.iter().any(|k| k == key) {
                    return refuse(
                        key,
                        format!(
                            "`{key}` applies to `llm:` models; a `classic:` replica runs on one \
                             accelerator and queues until served"
                        ),
                    );
                }
            }
        } else if serving.iter().any(|k| k == "max_queue_delay") {
            return refuse(
                "serving.max_queue_delay",
                "`max_queue_delay` applies to `classic:` models (dynamic batching); an `llm:` \
                 model batches continuously"
                    .into(),
            );
        }
    }
    let raw_workload = tree.get("workload").and_then(serde_json::Value::as_array);
    for (i, w) in spec.workload.value.iter().enumerate() {
        let Some(model) = spec
            .models
            .value
            .iter()
            .find(|m| m.value.name == w.model.value)
        else {
            continue;
        };
        let set = keys(raw_workload.and_then(|ws| ws.get(i)));
        let tokens = ["input_tokens", "output_tokens", "sizes"];
        let what = if model.value.generic.is_some() {
            Some("a `generic:` model's requests have service times, not tokens")
        } else if model.value.classic.is_some() {
            Some("a `classic:` model's requests have no tokens (one input, one result)")
        } else {
            None
        };
        if let Some(why) = what
            && let Some(key) = set.iter().find(|k| tokens.contains(&k.as_str()))
        {
            return Err(at(
                w.model.referenced,
                &format!("workload[{i}].{key}"),
                format!("`{key}` applies to `llm:` models; {why}"),
            ));
        }
    }
    Ok(())
}

/// Deserializes `text`, turning a serde error into a located [`ScenarioError`] that
/// also names the field path.
fn deserialize(text: &str, file: &str) -> Result<ScenarioSpec, ScenarioError> {
    let has_content = text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#') && l != "---"
    });
    if !has_content {
        return Err(ScenarioError::at(
            file,
            text,
            0,
            0,
            "",
            "the scenario is empty; it needs at least `name`, `duration`, `models` and \
             `workload` (see scenarios/quickstart.yaml)",
        ));
    }
    let mut field = String::new();
    let result =
        serde_saphyr::with_deserializer_from_str_with_options(text, yaml_options(), |de| {
            let mut track = serde_path_to_error::Track::new();
            let tracked = serde_path_to_error::Deserializer::new(de, &mut track);
            ScenarioSpec::deserialize(tracked).inspect_err(|_| {
                field = track.path().to_string();
            })
        });
    result.map_err(|err| {
        let (line, column) = err
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        // `Spanned` wrappers add a `.value` step that is not in the file.
        let field = field.replace(".value", "");
        let field = if field == "." { String::new() } else { field };
        ScenarioError::at(file, text, line, column, field, message_of(&err))
    })
}

/// The error's message without the location and snippet the YAML library appends.
fn message_of(err: &serde_saphyr::Error) -> String {
    let full = err.to_string();
    if let Some(detail) = full.lines().next().and_then(|l| {
        l.split_once("budget breached: ")
            .map(|(_, d)| d.trim().to_owned())
    }) {
        return format!(
            "the file is too large for a scenario or its YAML aliases expand too far ({detail}); \
             a scenario may hold up to 2,000,000 values — put long tables in a CSV file \
             (`rate: {{series: {{path: ...}}}}`, traces)"
        );
    }
    let first = full.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // Drop the "line L column C: " prefix: the location is printed in front already.
    match first.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") && prefix.contains(" column ") => {
            rest.to_owned()
        }
        _ => first.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Invalid;
    use inferscale_policy::DeciderConfig;

    const QUICKSTART: &str = "name: quickstart
seed: 7
replications: 5
duration: 1h
warmup: 5m
models:
  - name: classifier
    generic:
      servers: 4
      service_time: {lognormal: {mean: 200ms, scv: 0.5}}
workload:
  - model: classifier
    arrivals: {poisson: {rate: 16/s}}
";

    fn error(text: &str) -> Invalid {
        parse(text, "t.yaml")
            .map(|_| ())
            .unwrap_err()
            .invalid()
            .cloned()
            .expect("a content error")
    }

    /// A generic scenario becomes the station it describes, in the simulator's types.
    #[test]
    fn a_generic_scenario_becomes_its_station() {
        let s = parse(QUICKSTART, "t.yaml").unwrap();
        assert_eq!(
            (s.name.as_str(), s.seed, s.replications),
            ("quickstart", 7, 5)
        );
        assert_eq!(s.duration, SimDuration::from_secs(3600));
        assert_eq!(s.warmup, SimDuration::from_secs(300));
        let System::Generic(station) = &s.system else {
            panic!("a generic system");
        };
        assert_eq!(station.model.servers, 4);
        assert!((station.model.service_time.mean() - 0.2).abs() < 1e-12);
        assert!((station.model.utilization_at(16.0) - 0.8).abs() < 1e-12);
        assert_eq!(station.horizon, SimTime::from_secs(3600));
        assert!(s.policy.is_none());
        assert_eq!(&*s.source_text, QUICKSTART);
    }

    /// An HPA block as the Kubernetes manifest writes it becomes the loop's config.
    #[test]
    fn an_hpa_policy_becomes_the_loops_config() {
        let text = "name: hpa
duration: 1h
hardware:
  - {name: gpu, preset: a100-80gb, max_count: 4}
models:
  - {name: chat, llm: {preset: llama-3.1-8b}, placement: gpu, replicas: 2}
workload:
  - {model: chat, arrivals: {poisson: {rate: 5/s}}, input_tokens: 512, output_tokens: 128}
policy:
  interval: 15s
  decider:
    kind: hpa
    minReplicas: 1
    maxReplicas: 16
    metrics:
      - {type: Pods, pods: {metric: {name: concurrency}, target: {type: AverageValue, averageValue: 24}}}
    behavior:
      scaleDown: {stabilizationWindowSeconds: 300}
  executor: {removal: oldest}
";
        let s = parse(text, "t.yaml").unwrap();
        let p = s.policy.expect("a policy");
        assert_eq!(p.config.interval_s, 15.0);
        assert_eq!(p.config.models, [0]);
        let DeciderConfig::Hpa {
            min,
            max,
            metrics,
            behavior,
            ..
        } = &p.config.decider
        else {
            panic!("an HPA: {:?}", p.config.decider);
        };
        assert_eq!((*min, *max, metrics.len()), (1, 16, 1));
        let behavior = behavior.as_ref().expect("a behavior");
        assert_eq!(behavior.scale_down.stabilization_window_s, Some(300.0));
        assert_eq!(p.executor.removal, inferscale_cluster::RemovalOrder::Oldest);
    }

    /// Mistakes are reported at the line and field where they were written.
    #[test]
    fn mistakes_are_located() {
        let e = error(&QUICKSTART.replace("warmup: 5m", "warmup: 2h"));
        assert_eq!((e.line, e.field.as_str()), (5, "warmup"), "{e:?}");
        assert!(e.message.contains("shorter than the duration"), "{e:?}");
        let e = error(&QUICKSTART.replace("replications: 5", "replicatons: 5"));
        assert_eq!(e.line, 3, "{e:?}");
        assert!(e.message.contains("replicatons"), "{e:?}");
        let e = error(&QUICKSTART.replace("  - model: classifier", "  - model: clasifier"));
        assert_eq!(
            (e.line, e.field.as_str()),
            (12, "workload[0].model"),
            "{e:?}"
        );
        assert!(e.message.contains("the models are: `classifier`"), "{e:?}");
        let e = error(&QUICKSTART.replace("servers: 4", "servers: -4"));
        assert_eq!(
            (e.line, e.field.as_str()),
            (9, "models[0].generic.servers"),
            "{e:?}"
        );
    }
}
