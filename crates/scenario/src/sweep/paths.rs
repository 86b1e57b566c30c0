//! Field paths applied to the scenario's untyped tree, and the stable hashes that
//! name points and fingerprint a sweep.

use serde_json::Value;

/// Replaces the field at `path` (dot-separated keys and list indices) with `value`.
/// The last key may be new (the point is checked as a scenario afterwards, so a typo
/// is reported there with the fields that exist); everything above it must exist.
pub(super) fn set_path(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let mut here = doc;
    let mut walked = String::new();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        // Messages are built only on the way out: this runs for every point.
        let place = |walked: &str| {
            if walked.is_empty() {
                "the scenario".to_owned()
            } else {
                format!("`{walked}`")
            }
        };
        here = match here {
            Value::Object(map) => {
                if last {
                    map.insert((*seg).to_owned(), value);
                    return Ok(());
                }
                if !map.contains_key(*seg) {
                    let keys: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
                    return Err(format!(
                        "{} has no `{seg}` (it has {}); a sweep replaces fields of the base \
                         scenario, so give `{seg}` a value there or sweep a whole section",
                        place(&walked),
                        if keys.is_empty() {
                            "nothing".to_owned()
                        } else {
                            keys.join(", ")
                        }
                    ));
                }
                match map.get_mut(*seg) {
                    Some(v) => v,
                    None => return Ok(()),
                }
            }
            Value::Array(list) => {
                let Ok(index) = seg.parse::<usize>() else {
                    return Err(format!(
                        "{} is a list; index it with a number (0 to {}), not `{seg}`",
                        place(&walked),
                        list.len().saturating_sub(1)
                    ));
                };
                let len = list.len();
                match list.get_mut(index) {
                    Some(v) if last => {
                        *v = value;
                        return Ok(());
                    }
                    Some(v) => v,
                    None => {
                        return Err(format!(
                            "{} has {len} entries; index {index} is past its end",
                            place(&walked)
                        ));
                    }
                }
            }
            Value::Null => {
                return Err(format!(
                    "{} is not set in the base scenario, so it has no `{seg}`; give it a \
                     value there or sweep the whole section",
                    place(&walked)
                ));
            }
            _ => {
                return Err(format!(
                    "{} is a single value, not a section with fields; sweep `{walked}` itself",
                    place(&walked)
                ));
            }
        };
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(seg);
    }
    Ok(())
}

/// FNV-1a, 64 bits: stable across platforms and Rust versions (unlike `std`'s hasher).
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub(super) fn hash_hex(bytes: &[u8]) -> String {
    format!("{:012x}", fnv1a(bytes) >> 16)
}

/// The base document without what does not change results: the sweep, the
/// replication count (more replications extend a sweep), the description and the
/// output section.
pub(super) fn fingerprint_of(doc: &Value) -> String {
    let mut doc = doc.clone();
    if let Some(map) = doc.as_object_mut() {
        for key in ["replications", "description", "output"] {
            map.shift_remove(key);
        }
    }
    hash_hex(serde_json::to_string(&doc).unwrap_or_default().as_bytes())
}

/// What a point's requests depend on — the seed, the duration, the workload entries
/// and the models they name (with their kind: a classic model's requests have no
/// token counts) — hashed: two points (of one sweep or of two) with the same id see
/// the same requests in replication `r`, so their runs pair.
pub(super) fn requests_id_of(doc: &Value) -> String {
    let get = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
    let models: Vec<Value> = doc
        .get("models")
        .and_then(Value::as_array)
        .map(|models| {
            models
                .iter()
                .map(|m| {
                    let kind = ["llm", "classic", "generic"]
                        .into_iter()
                        .find(|k| m.get(*k).is_some_and(|v| !v.is_null()))
                        .unwrap_or("");
                    Value::String(format!(
                        "{}:{kind}",
                        m.get("name").and_then(Value::as_str).unwrap_or_default()
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let source = serde_json::json!({
        "seed": get("seed"),
        "duration": get("duration"),
        "workload": get("workload"),
        "models": models,
    });
    hash_hex(
        serde_json::to_string(&source)
            .unwrap_or_default()
            .as_bytes(),
    )
}
