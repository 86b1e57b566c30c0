//! The `sweep:` section read into dimensions — variants, grid axes, zip groups —
//! each a list of choices of field values, and the typed parameter columns they
//! become.

use serde_json::Value;
use serde_saphyr::Location;

use super::*;

/// One field set by a choice.
#[derive(Clone, Debug)]
pub(super) struct Set {
    pub(super) path: String,
    pub(super) value: Value,
    pub(super) at: Location,
}

/// One choice along a dimension: a variant, a grid value, or a zipped row.
#[derive(Clone, Debug)]
pub(super) struct Choice {
    pub(super) variant: Option<String>,
    pub(super) sets: Vec<Set>,
}

/// A swept path that becomes a column.
#[derive(Clone, Debug)]
pub(super) struct Axis {
    pub(super) path: String,
    /// Name in point labels: the last path segment, or more where that is ambiguous.
    pub(super) short: String,
    pub(super) values: Vec<Value>,
    /// Text labels of whole-section values (their `kind`s when those tell them apart).
    pub(super) labels: Vec<String>,
}

/// One factor of the Cartesian product.
#[derive(Clone, Debug)]
pub(super) struct Dimension {
    pub(super) choices: Vec<Choice>,
    pub(super) axes: Vec<Axis>,
    pub(super) is_variants: bool,
}

pub(super) type At<'a> = dyn Fn(Location, &str, String) -> ScenarioError + 'a;

/// Fields a sweep may not vary, and why.
pub(super) fn forbidden(path: &str) -> Option<&'static str> {
    let first = path.split('.').next().unwrap_or_default();
    match first {
        "name" => Some("every point shares the scenario's name (it names the results)"),
        "replications" => Some("it is the number of runs of every point"),
        "seed" => Some(
            "replications already draw independent streams; sweeping the seed would break \
             common random numbers across points",
        ),
        "sweep" => Some("a sweep cannot vary itself"),
        "output" => Some("every point writes to the same results"),
        _ => None,
    }
}

pub(super) fn dimensions(
    spec: &crate::schema::SweepSpec,
    whole: Location,
    at: &At<'_>,
) -> Result<Vec<Dimension>, ScenarioError> {
    let mut variants = None;
    let mut grid = Vec::new();
    let mut zips = Vec::new();
    let check_path = |path: &str, loc: Location| -> Result<(), ScenarioError> {
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(at(
                loc,
                "sweep",
                format!(
                    "`{path}` is not a field path; write keys and list indices separated by dots, e.g. `policy.decider.target`"
                ),
            ));
        }
        if let Some(why) = forbidden(path) {
            return Err(at(loc, "sweep", format!("cannot sweep `{path}`: {why}")));
        }
        Ok(())
    };
    for (key, value) in spec {
        let loc = value.referenced;
        match key.as_str() {
            "variants" => {
                let Value::Object(map) = &value.value else {
                    return Err(at(
                        loc,
                        "sweep.variants",
                        "expected a map from variant name to the fields it sets, e.g. \
                         `{hpa: {policy.decider.kind: hpa}}`"
                            .into(),
                    ));
                };
                if map.is_empty() {
                    return Err(at(loc, "sweep.variants", "names no variant".into()));
                }
                let mut choices = Vec::new();
                for (name, sets) in map {
                    let Value::Object(sets) = sets else {
                        return Err(at(
                            loc,
                            &format!("sweep.variants.{name}"),
                            "expected a map from field path to value".into(),
                        ));
                    };
                    let mut list = Vec::new();
                    for (path, v) in sets {
                        check_path(path, loc)?;
                        list.push(Set {
                            path: path.clone(),
                            value: v.clone(),
                            at: loc,
                        });
                    }
                    choices.push(Choice {
                        variant: Some(name.clone()),
                        sets: list,
                    });
                }
                variants = Some(Dimension {
                    choices,
                    axes: Vec::new(),
                    is_variants: true,
                });
            }
            "grid" => {
                let Value::Object(map) = &value.value else {
                    return Err(at(
                        loc,
                        "sweep.grid",
                        "expected a map from field path to a list of values".into(),
                    ));
                };
                for (path, v) in map {
                    check_path(path, loc)?;
                    grid.push(axis_dimension(path, v, loc, at)?);
                }
            }
            "zip" => {
                let Value::Array(groups) = &value.value else {
                    return Err(at(
                        loc,
                        "sweep.zip",
                        "expected a list of groups, each a map from field path to a list of \
                         values of one common length"
                            .into(),
                    ));
                };
                for (g, group) in groups.iter().enumerate() {
                    let field = format!("sweep.zip[{g}]");
                    let Value::Object(map) = group else {
                        return Err(at(
                            loc,
                            &field,
                            "expected a map from field path to a list of values".into(),
                        ));
                    };
                    let mut axes = Vec::new();
                    for (path, v) in map {
                        check_path(path, loc)?;
                        axes.push(axis_dimension(path, v, loc, at)?);
                    }
                    let Some(len) = axes.first().map(|d| d.choices.len()) else {
                        return Err(at(loc, &field, "names no field".into()));
                    };
                    if let Some(bad) = axes.iter().find(|d| d.choices.len() != len) {
                        return Err(at(
                            loc,
                            &field,
                            format!(
                                "zipped lists must have one length: `{}` has {len} values, `{}` has {}",
                                axes[0].axes[0].path,
                                bad.axes[0].path,
                                bad.choices.len()
                            ),
                        ));
                    }
                    let choices = (0..len)
                        .map(|i| Choice {
                            variant: None,
                            sets: axes
                                .iter()
                                .flat_map(|d| d.choices[i].sets.clone())
                                .collect(),
                        })
                        .collect();
                    zips.push(Dimension {
                        choices,
                        axes: axes.into_iter().flat_map(|d| d.axes).collect(),
                        is_variants: false,
                    });
                }
            }
            path => {
                check_path(path, loc)?;
                grid.push(axis_dimension(path, &value.value, loc, at)?);
            }
        }
    }
    let mut dims: Vec<Dimension> = variants.into_iter().chain(grid).chain(zips).collect();
    if dims.is_empty() {
        return Err(at(
            whole,
            "sweep",
            "varies nothing; give `grid:`, `zip:` or `variants:` (or `path: [values]`)".into(),
        ));
    }
    // A path may be set by one axis only; a variant may not set a swept path.
    let mut owners: Vec<(&str, usize)> = Vec::new();
    for (k, d) in dims.iter().enumerate() {
        let paths: Vec<&str> = if d.is_variants {
            let mut p: Vec<&str> = d
                .choices
                .iter()
                .flat_map(|c| c.sets.iter().map(|s| s.path.as_str()))
                .collect();
            p.sort_unstable();
            p.dedup();
            p
        } else {
            d.axes.iter().map(|a| a.path.as_str()).collect()
        };
        for p in paths {
            if let Some((other, _)) = owners.iter().find(|(o, owner)| {
                *owner != k
                    && (*o == p
                        || o.starts_with(&format!("{p}."))
                        || p.starts_with(&format!("{o}.")))
            }) {
                return Err(at(
                    whole,
                    "sweep",
                    format!(
                        "`{p}` and `{other}` are both swept; each field may be set by one axis"
                    ),
                ));
            }
            owners.push((p, k));
        }
    }
    shorten_names(&mut dims);
    Ok(dims)
}

/// A grid axis: one path, one choice per value.
pub(super) fn axis_dimension(
    path: &str,
    values: &Value,
    loc: Location,
    at: &At<'_>,
) -> Result<Dimension, ScenarioError> {
    let Value::Array(values) = values else {
        return Err(at(
            loc,
            &format!("sweep.{path}"),
            "expected a list of values to try, e.g. `[0.5, 0.6, 0.7]` (a list of maps sweeps \
             whole sections; to sweep a field that is itself a list, give a list of lists)"
                .into(),
        ));
    };
    if values.is_empty() {
        return Err(at(
            loc,
            &format!("sweep.{path}"),
            "the list of values is empty".into(),
        ));
    }
    let choices = values
        .iter()
        .map(|v| Choice {
            variant: None,
            sets: vec![Set {
                path: path.to_owned(),
                value: v.clone(),
                at: loc,
            }],
        })
        .collect();
    Ok(Dimension {
        choices,
        axes: vec![Axis {
            path: path.to_owned(),
            short: path.to_owned(),
            labels: section_labels(values),
            values: values.clone(),
        }],
        is_variants: false,
    })
}

/// Labels for values that are not plain scalars: a section by its `kind` when the
/// kinds tell them apart, else by its kind (if any) and the fields that differ among
/// the values (`hpa target=0.5`, `arrivals.poisson.rate=16/s`); a removed section
/// (null) is `none`.
pub(super) fn section_labels(values: &[Value]) -> Vec<String> {
    let kinds: Vec<Option<&str>> = values
        .iter()
        .map(|v| v.get("kind").and_then(Value::as_str))
        .collect();
    let distinct = {
        let mut k: Vec<&str> = kinds.iter().flatten().copied().collect();
        k.sort_unstable();
        k.dedup();
        k.len() == values.len()
    };
    // The leaf fields of every map, and those whose values are not all the same.
    let leaves: Vec<Vec<(String, Value)>> = values
        .iter()
        .map(|v| {
            let mut out = Vec::new();
            if v.is_object() {
                flatten("", v, &mut out);
            }
            out
        })
        .collect();
    let mut differing: Vec<String> = Vec::new();
    for fields in &leaves {
        for (path, _) in fields {
            if path == "kind" || differing.contains(path) {
                continue;
            }
            let first = leaves[0].iter().find(|(p, _)| p == path).map(|(_, v)| v);
            if leaves
                .iter()
                .any(|f| f.iter().find(|(p, _)| p == path).map(|(_, v)| v) != first)
            {
                differing.push(path.clone());
            }
        }
    }
    values
        .iter()
        .zip(&kinds)
        .zip(&leaves)
        .map(|((v, k), fields)| match (distinct, k, v) {
            (true, Some(k), _) => (*k).to_owned(),
            (_, _, Value::String(s)) => s.clone(),
            (_, _, Value::Null) => "none".into(),
            (_, _, Value::Object(_)) => {
                let mut parts: Vec<String> = k.iter().map(|k| (*k).to_owned()).collect();
                for path in &differing {
                    if let Some((_, value)) = fields.iter().find(|(p, _)| p == path) {
                        parts.push(format!("{path}={}", scalar_text(value)));
                    }
                }
                if parts.is_empty() {
                    serde_json::to_string(v).unwrap_or_default()
                } else {
                    parts.join(" ")
                }
            }
            _ => serde_json::to_string(v).unwrap_or_default(),
        })
        .collect()
}

/// Every leaf of `v` as (dotted path, value); lists are leaves.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, child, out);
            }
        }
        leaf => out.push((prefix.to_owned(), leaf.clone())),
    }
}

/// A value as a label shows it: text bare, anything else as compact JSON.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

/// Short names for labels: the last path segment, or the last two (and so on) where
/// two axes would share one; a tail never starts at a list index, and a trailing index
/// is dropped where the name stays unique (`workload.0` reads `workload`).
pub(super) fn shorten_names(dims: &mut [Dimension]) {
    let paths: Vec<String> = dims
        .iter()
        .flat_map(|d| d.axes.iter().map(|a| a.path.clone()))
        .collect();
    let index = |s: &str| s.parse::<usize>().is_ok();
    let short_of = |path: &str| -> String {
        let segments: Vec<&str> = path.split('.').collect();
        for n in 1..=segments.len() {
            let start = segments.len() - n;
            if index(segments[start]) && start > 0 {
                continue;
            }
            let tail = segments[start..].join(".");
            let clash = paths
                .iter()
                .filter(|p| p.as_str() != path)
                .any(|p| p == &tail || p.ends_with(&format!(".{tail}")));
            if !clash {
                return tail;
            }
        }
        path.to_owned()
    };
    let shorts: Vec<String> = paths.iter().map(|p| short_of(p)).collect();
    let trimmed = |short: &str| -> String {
        let mut segments: Vec<&str> = short.split('.').collect();
        while segments.len() > 1 && segments.last().is_some_and(|s| index(s)) {
            segments.pop();
        }
        segments.join(".")
    };
    let readable: Vec<String> = shorts
        .iter()
        .map(|s| {
            let t = trimmed(s);
            let unique = shorts.iter().filter(|o| trimmed(o) == t).count() == 1;
            if unique { t } else { s.clone() }
        })
        .collect();
    let mut names = readable.into_iter();
    for d in dims {
        for a in &mut d.axes {
            a.short = names.next().unwrap_or_default();
        }
    }
}

/// The parameter columns: `variant` first if there are variants, then each axis.
pub(super) fn columns(dims: &[Dimension], at: &At<'_>) -> Result<Vec<ParamColumn>, ScenarioError> {
    let mut cols = Vec::new();
    if dims.iter().any(|d| d.is_variants) {
        cols.push(ParamColumn {
            name: "variant".into(),
            path: "variant".into(),
            kind: ParamKind::Text,
        });
    }
    for a in dims.iter().flat_map(|d| &d.axes) {
        let name: String = a
            .path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if let Some(other) = cols.iter().find(|c: &&ParamColumn| c.name == name) {
            return Err(at(
                Location::UNKNOWN,
                "sweep",
                format!(
                    "`{}` and `{}` would both be the column `{name}`",
                    other.path, a.path
                ),
            ));
        }
        cols.push(ParamColumn {
            name,
            path: a.path.clone(),
            kind: kind_of(&a.values),
        });
    }
    Ok(cols)
}

/// The column type of an axis: that of every value but the nulls (a removed
/// section, a field set back to its default), which stay null in the column.
pub(super) fn kind_of(values: &[Value]) -> ParamKind {
    let set: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
    if set.is_empty() {
        ParamKind::Text
    } else if set.iter().all(|v| v.is_i64()) {
        ParamKind::Int
    } else if set.iter().all(|v| v.is_number()) {
        ParamKind::Float
    } else if set.iter().all(|v| v.is_boolean()) {
        ParamKind::Bool
    } else {
        ParamKind::Text
    }
}

pub(super) fn typed(
    v: &Value,
    kind: ParamKind,
    labels: Option<(&[Value], &[String])>,
) -> ParamValue {
    if v.is_null() {
        return ParamValue::Null;
    }
    match kind {
        ParamKind::Int => ParamValue::Int(v.as_i64().unwrap_or_default()),
        ParamKind::Float => ParamValue::Float(v.as_f64().unwrap_or(f64::NAN)),
        ParamKind::Bool => ParamValue::Bool(v.as_bool().unwrap_or_default()),
        ParamKind::Text => ParamValue::Text(
            labels
                .and_then(|(values, labels)| {
                    let i = values.iter().position(|x| x == v)?;
                    labels.get(i).cloned()
                })
                .unwrap_or_else(|| section_labels(std::slice::from_ref(v)).remove(0)),
        ),
    }
}

/// Every combination of choices, first dimension slowest.
pub(super) fn cartesian(dims: &[Dimension]) -> Vec<Vec<usize>> {
    let mut combos = vec![Vec::new()];
    for d in dims {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                (0..d.choices.len()).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    combos
}

/// Where to point an error in a point: its first set field's axis.
pub(super) fn first_location(dims: &[Dimension], combo: &[usize]) -> Location {
    dims.iter()
        .zip(combo)
        .flat_map(|(d, &i)| d.choices[i].sets.first().map(|s| s.at))
        .next()
        .unwrap_or(Location::UNKNOWN)
}
