//! The YAML reader's settings, shared by every place that reads scenario text.

/// How scenario YAML is read: the parser's limits raised for the node and event
/// counts of a large but honest file (an inline rate table of 90,000 points is 270,000
/// nodes), its limits on aliases and anchors — what a "billion laughs" file abuses —
/// kept as they are.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 2_000_000,
            max_events: 8_000_000,
        },
    }
}
