//! Pilots: a sweep changed from the command line without editing its file —
//! `--set PATH=VALUE` (the sweep's path syntax), `--replications N`, `--only
//! PATTERN` (points by label or variant, `*` and `?` globs). The changes are applied
//! to the file's tree before it is checked, so a pilot is checked as the file would be
//! with them written in, and its errors name the option that caused them.

use std::path::Path;

use serde_json::Value;

use super::{Sweep, parse_sweep, paths::set_path};
use crate::ScenarioError;

/// Changes to a sweep asked for on the command line.
#[derive(Clone, Debug, Default)]
pub struct Pilot {
    /// `PATH=VALUE` assignments as typed, applied in order (the value is YAML: `0.7`,
    /// `30s`, `{kind: oracle}`, `null`).
    pub set: Vec<String>,
    /// Replications of each point instead of the file's.
    pub replications: Option<u32>,
    /// Keep only the points whose label or variant matches one of these globs.
    pub only: Vec<String>,
}

impl Pilot {
    /// Whether the pilot changes nothing.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.replications.is_none() && self.only.is_empty()
    }

    /// The options as a command line would give them, for the results' provenance.
    pub fn describe(&self) -> String {
        let quote = |s: &str| {
            if s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-=/+:".contains(c))
            {
                s.to_owned()
            } else {
                format!("'{}'", s.replace('\'', "'\\''"))
            }
        };
        let mut parts = Vec::new();
        if let Some(n) = self.replications {
            parts.push(format!("--replications {n}"));
        }
        for p in &self.only {
            parts.push(format!("--only {}", quote(p)));
        }
        for s in &self.set {
            parts.push(format!("--set {}", quote(s)));
        }
        parts.join(" ")
    }
}

/// An error caused by the option `option` (its text), without a place in the file.
fn option_error(option: &str, field: &str, message: impl Into<String>) -> ScenarioError {
    ScenarioError::at(option, "", 0, 0, field, message)
}

/// [`super::load_sweep`] with `pilot`'s changes.
pub fn load_sweep_with(path: &Path, pilot: &Pilot) -> Result<Sweep, ScenarioError> {
    let text = crate::load::read(path)?;
    parse_sweep_with_pilot(&text, &path.display().to_string(), pilot)
}

/// [`parse_sweep`] with `pilot`'s changes.
pub fn parse_sweep_with_pilot(
    text: &str,
    file: &str,
    pilot: &Pilot,
) -> Result<Sweep, ScenarioError> {
    if pilot.set.is_empty() && pilot.replications.is_none() {
        let mut sweep = parse_sweep(text, file)?;
        keep_only(&mut sweep, pilot)?;
        return Ok(sweep);
    }
    // Mistakes of the file itself are reported located in it.
    let mut doc: Value =
        match serde_saphyr::from_str_with_options(text, crate::yaml::yaml_options()) {
            Ok(doc) => doc,
            Err(_) => return parse_sweep(text, file),
        };
    if !doc.is_object() {
        return parse_sweep(text, file);
    }
    for option in &pilot.set {
        let shown = format!("--set {option}");
        let Some((path, value)) = option.split_once('=') else {
            return Err(option_error(
                &shown,
                "",
                "expected PATH=VALUE, e.g. `--set policy.decider.target=0.7`",
            ));
        };
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(option_error(
                &shown,
                "",
                format!(
                    "`{path}` is not a field path; write keys and list indices separated by \
                     dots, e.g. `policy.decider.target`"
                ),
            ));
        }
        let value: Value = serde_saphyr::from_str_with_options(value, crate::yaml::yaml_options())
            .map_err(|e| {
                option_error(
                    &shown,
                    path,
                    format!("the value is not YAML: {}", first_line(&e.to_string())),
                )
            })?;
        set_path(&mut doc, path, value).map_err(|m| option_error(&shown, path, m))?;
    }
    if let Some(n) = pilot.replications {
        doc["replications"] = Value::from(n);
    }
    // JSON is YAML: the changed tree is checked as a scenario file would be.
    let changed = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let mut sweep = match parse_sweep(&changed, file) {
        Ok(sweep) => sweep,
        Err(e) => {
            // The file alone may be wrong; if not, the options made it so.
            parse_sweep(text, file)?;
            let inner = e.invalid().map_or_else(
                || e.to_string(),
                |i| {
                    if i.field.is_empty() {
                        i.message.clone()
                    } else {
                        format!("`{}`: {}", i.field, i.message)
                    }
                },
            );
            return Err(option_error(
                &pilot.describe(),
                "",
                format!("with these options the scenario is not valid: {inner}"),
            ));
        }
    };
    // The provenance is the file as written; `Sweep::pilot` says what changed.
    sweep.source_text = text.to_owned();
    let original: std::sync::Arc<str> = text.into();
    sweep.base.source_text = original.clone();
    for p in &mut sweep.points {
        p.scenario.source_text = original.clone();
    }
    keep_only(&mut sweep, pilot)?;
    Ok(sweep)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// Keeps the points `pilot.only` names (all without `--only`).
fn keep_only(sweep: &mut Sweep, pilot: &Pilot) -> Result<(), ScenarioError> {
    sweep.pilot = (!pilot.is_empty()).then(|| pilot.describe());
    if pilot.only.is_empty() {
        return Ok(());
    }
    let variant = sweep.params.iter().position(|c| c.path == "variant");
    let matches = |p: &super::Point| {
        pilot.only.iter().any(|pattern| {
            glob(pattern, &p.label)
                || variant.is_some_and(|v| glob(pattern, &p.values[v].to_string()))
        })
    };
    let all: Vec<String> = sweep.points.iter().map(|p| p.label.clone()).collect();
    sweep.points.retain(|p| matches(p));
    if sweep.points.is_empty() {
        let shown: Vec<String> = all.iter().take(12).map(|l| format!("`{l}`")).collect();
        return Err(option_error(
            &pilot
                .only
                .iter()
                .map(|p| format!("--only {p}"))
                .collect::<Vec<_>>()
                .join(" "),
            "",
            format!(
                "matches no point; the points are: {}{}",
                shown.join(", "),
                if all.len() > 12 { ", …" } else { "" }
            ),
        ));
    }
    Ok(())
}

/// Whether `text` matches `pattern`, where `*` is any run of characters and `?` any
/// one character.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative match with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "
name: s
duration: 10m
replications: 3
hardware:
  - {name: gpu, preset: a100-80gb, max_count: 4}
models:
  - name: m
    llm: {preset: llama-3.1-8b}
    placement: gpu
    replicas: 1
workload:
  - model: m
    arrivals: {poisson: {rate: 2/s}}
    input_tokens: 100
    output_tokens: 20
policy:
  interval: 15s
  decider: {kind: threshold, metric: concurrency, upper: 8, lower: 2, max: 4}
sweep:
  variants:
    threshold: {}
    fixed: {policy: null}
  grid: {models.0.replicas: [1, 2]}
";

    fn pilot(set: &[&str], replications: Option<u32>, only: &[&str]) -> Pilot {
        Pilot {
            set: set.iter().map(|s| (*s).to_owned()).collect(),
            replications,
            only: only.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn globs_match_as_shells_do() {
        assert!(glob("hpa*", "hpa+oracle"));
        assert!(glob("*oracle", "kpa+oracle"));
        assert!(glob("k?a", "kpa"));
        assert!(glob("*", ""));
        assert!(!glob("hpa", "hpa+oracle"));
        assert!(glob("a*b*c", "axxbyyc"));
        assert!(!glob("a*b*c", "axxbyy"));
    }

    #[test]
    fn a_pilot_sets_fields_replications_and_points() {
        let s = parse_sweep_with_pilot(
            FILE,
            "s.yaml",
            &pilot(
                &["policy.interval=30s", "policy.decider.upper=10"],
                Some(1),
                &["fixed*"],
            ),
        )
        .unwrap();
        assert_eq!(s.replications, 1);
        assert_eq!(s.points.len(), 2);
        assert!(s.points.iter().all(|p| p.label.starts_with("fixed")));
        // Kept points keep their place (and ids) in the whole sweep.
        assert_eq!(s.points[0].index, 2);
        assert_eq!(
            s.pilot.as_deref(),
            Some(
                "--replications 1 --only 'fixed*' --set policy.interval=30s --set policy.decider.upper=10"
            )
        );
        assert_eq!(s.source_text, FILE);
        let threshold = parse_sweep_with_pilot(
            FILE,
            "s.yaml",
            &pilot(&["policy.interval=30s"], None, &["threshold"]),
        )
        .unwrap();
        let policy = threshold.points[0].scenario.policy.as_ref().unwrap();
        assert_eq!(policy.config.interval_s, 30.0);
    }

    #[test]
    fn pilot_mistakes_name_the_option() {
        let err = |p: Pilot| {
            parse_sweep_with_pilot(FILE, "s.yaml", &p)
                .unwrap_err()
                .to_string()
        };
        let e = err(pilot(&["policy.decidr.upper=3"], None, &[]));
        assert!(
            e.starts_with("--set policy.decidr.upper=3: `policy.decidr.upper`"),
            "{e}"
        );
        assert!(e.contains("decidr"), "{e}");
        let e = err(pilot(&["policy.interval"], None, &[]));
        assert!(e.contains("PATH=VALUE"), "{e}");
        let e = err(pilot(&["policy.decider.upper=-3"], None, &[]));
        assert!(
            e.starts_with("--set policy.decider.upper=-3: with these options"),
            "{e}"
        );
        let e = err(pilot(&[], Some(0), &[]));
        assert!(
            e.contains("--replications 0") && e.contains("replications"),
            "{e}"
        );
        let e = err(pilot(&[], None, &["kpa*"]));
        assert!(
            e.contains("--only kpa*: matches no point") && e.contains("`fixed replicas=1`"),
            "{e}"
        );
    }
}
