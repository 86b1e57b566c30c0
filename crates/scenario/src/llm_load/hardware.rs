//! `hardware:` entries → node pools: catalog presets, their overrides, billing and
//! spot terms.

use super::*;

/// The `hardware:` entries as node pools (catalog presets with their overrides,
/// billing and spot terms), and the catalog preset each pool came from.
pub(super) fn node_pools(
    spec: &ScenarioSpec,
    at: At,
) -> Result<(Vec<NodePool>, Vec<String>), ScenarioError> {
    let hardware = catalog::hardware()?;
    let presets = || list(hardware.iter().map(|h| h.name.clone()));

    let mut pools = Vec::new();
    let mut preset_of_pool = Vec::new();
    for (i, h) in spec.hardware.iter().enumerate() {
        let Some(entry) = hardware.iter().find(|e| e.name == h.preset.value) else {
            return Err(at(
                h.preset.referenced,
                &format!("hardware[{i}].preset"),
                format!(
                    "no hardware preset `{}`; the presets are: {}",
                    h.preset.value,
                    presets()
                ),
            ));
        };
        if spec.hardware[..i].iter().any(|o| o.name == h.name) {
            return Err(at(
                h.preset.referenced,
                &format!("hardware[{i}].name"),
                format!("`{}` is defined twice", h.name),
            ));
        }
        let mut node_type = entry.node_type();
        node_type.name = h.name.clone();
        node_type.max_count = h.max_count;
        h.overrides
            .apply(&mut node_type)
            .map_err(|(f, m)| at(Location::UNKNOWN, &format!("hardware[{i}].{f}"), m))?;
        let positive = |field: &str, v: f64| -> Result<f64, ScenarioError> {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(at(
                    Location::UNKNOWN,
                    &format!("hardware[{i}].{field}"),
                    format!("must be greater than zero, got {v}"),
                ))
            }
        };
        if let Some(v) = h.load_bandwidth_gb_s {
            node_type.load_bandwidth = positive("load_bandwidth_gb_s", v)? * 1e9;
        }
        let spot = match &h.spot {
            None => None,
            Some(terms) => {
                if h.overrides.price_per_hour.is_none() {
                    node_type.price_per_hour = node_type.spot_price_per_hour.ok_or_else(|| {
                        at(
                            h.preset.referenced,
                            &format!("hardware[{i}].spot"),
                            format!(
                                "`{}` has no spot price in the catalog; give `price_per_hour`",
                                h.preset.value
                            ),
                        )
                    })?;
                }
                if terms.mean_lifetime.0.is_zero() {
                    return Err(at(
                        h.preset.referenced,
                        &format!("hardware[{i}].spot.mean_lifetime"),
                        "must be longer than 0 s".into(),
                    ));
                }
                Some(inferscale_cluster::SpotTerms {
                    mean_lifetime: terms.mean_lifetime.0,
                    notice: terms.notice.0,
                })
            }
        };
        let reserved = match &h.billing.reserved {
            None => None,
            Some(r) => Some(reservation(r, &node_type, h, i, at)?),
        };
        preset_of_pool.push(h.preset.value.clone());
        pools.push(NodePool {
            node_type,
            billing_granularity: h.billing.granularity.0,
            billing_minimum: h.billing.minimum.0,
            spot,
            reserved,
        });
    }
    Ok((pools, preset_of_pool))
}

/// A `billing.reserved:` commitment of entry `i` as the simulator's terms, priced by
/// its own price or a discount off `node_type`'s on-demand price, checked.
fn reservation(
    r: &crate::llm_schema::ReservedSpec,
    node_type: &inferscale_cluster::NodeType,
    h: &crate::llm_schema::HardwareSpec,
    i: usize,
    at: At,
) -> Result<inferscale_cluster::Reservation, ScenarioError> {
    let field = |f: &str| format!("hardware[{i}].billing.reserved{f}");
    let fail = |f: &str, m: String| at(Location::UNKNOWN, &field(f), m);
    if h.spot.is_some() {
        return Err(fail(
            "",
            "spot capacity cannot be reserved; use two `hardware:` entries, one spot and one reserved".into(),
        ));
    }
    if r.nodes == 0 {
        return Err(fail(".nodes", "must be at least 1".into()));
    }
    if let Some(max) = node_type.max_count
        && r.nodes > max
    {
        return Err(fail(
            ".nodes",
            format!(
                "{} nodes committed but `max_count` is {max}: the quota could never run them",
                r.nodes
            ),
        ));
    }
    let price_per_hour = match (r.price_per_hour, r.discount) {
        (Some(p), None) if p.is_finite() && p >= 0.0 => p,
        (Some(p), None) => {
            return Err(fail(
                ".price_per_hour",
                format!("must be 0 or more, got {p}"),
            ));
        }
        (None, Some(d)) if (0.0..1.0).contains(&d) => node_type.price_per_hour * (1.0 - d),
        (None, Some(d)) => {
            return Err(fail(
                ".discount",
                format!("must be at least 0 and below 1 (0.4 is 40% off), got {d}"),
            ));
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                "",
                "give `price_per_hour` or `discount`, not both".into(),
            ));
        }
        (None, None) => {
            return Err(fail(
                "",
                "give the committed price: `price_per_hour` (dollars per node-hour) or `discount` (e.g. 0.4)".into(),
            ));
        }
    };
    Ok(inferscale_cluster::Reservation {
        nodes: r.nodes,
        price_per_hour,
    })
}
