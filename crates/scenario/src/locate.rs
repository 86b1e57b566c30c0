//! Where a field path was written in a scenario's text, for the errors found after
//! deserializing (the checks that look at several fields at once, such as a policy's
//! `maxReplicas` against its `minReplicas`): the document read again as a tree of
//! located nodes, walked along the path. Only errors take this path, so the second
//! read costs nothing in a valid run.

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// A YAML node with its children, each located.
enum Tree {
    Map(Vec<(String, Spanned<Tree>)>),
    Seq(Vec<Spanned<Tree>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Tree;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<KeyText>()? {
                    entries.push((key.0, map.next_value()?));
                }
                Ok(Tree::Map(entries))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::Seq(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_unit<E>(self) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_none<E>(self) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, de: D) -> Result<Tree, D::Error> {
                Tree::deserialize(de)
            }
        }
        de.deserialize_any(V)
    }
}

/// A mapping key as text, whatever scalar it is written as.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
        }
        de.deserialize_any(V)
    }
}

/// The steps of a field path: `policy.decider.metrics[0].pods` → `policy`, `decider`,
/// `metrics`, `0`, `pods`.
fn steps(path: &str) -> impl Iterator<Item = &str> {
    path.split(['.', '[', ']']).filter(|s| !s.is_empty())
}

/// Where `path` was written in `text`: the node itself, or the deepest of its
/// ancestors the text has (a field left to its default is located at the section
/// that omits it). `None` when the text cannot be read as YAML at all.
pub(crate) fn locate(text: &str, path: &str) -> Option<Location> {
    let root: Spanned<Tree> =
        serde_saphyr::from_str_with_options(text, crate::yaml::yaml_options()).ok()?;
    let mut node = &root;
    for step in steps(path) {
        let child = match &node.value {
            Tree::Map(entries) => entries.iter().find(|(k, _)| k == step).map(|(_, v)| v),
            Tree::Seq(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
            Tree::Leaf => None,
        };
        match child {
            Some(c) => node = c,
            None => break,
        }
    }
    Some(node.referenced)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x
policy:
  decider:
    kind: hpa
    maxReplicas: 0
    metrics:
      - {type: Pods, pods: {metric: {name: concurrency}}}
      - type: External
        external: {metric: {name: qps}}
";

    fn at(path: &str) -> (u64, u64) {
        let l = locate(TEXT, path).unwrap();
        (l.line(), l.column())
    }

    #[test]
    fn a_path_is_found_where_it_was_written() {
        assert_eq!(at("policy.decider.maxReplicas"), (5, 18));
        assert_eq!(at("policy.decider.metrics[0].pods"), (7, 28));
        assert_eq!(at("policy.decider.metrics[1].external"), (9, 19));
    }

    #[test]
    fn a_missing_field_is_located_at_the_deepest_section_written() {
        assert_eq!(at("policy.decider.minReplicas"), at("policy.decider"));
        assert_eq!(
            at("policy.decider.metrics[7]"),
            at("policy.decider.metrics")
        );
        assert!(locate(": : :\n\t[", "policy").is_none());
    }
}
