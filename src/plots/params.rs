//! `param-<column>` figures: cost and SLA attainment against a numeric sweep
//! parameter, one line per setting of the others.

use inferscale_plot::{Axis, Chart, Figure, Mark, Series};

use super::{Group, MAX_GROUPS_PER_CHART, PolicyPoint};

/// For each numeric sweep parameter with two or more values: cost and SLA attainment
/// (means with 95% CIs) against it, one line per combination of the other
/// parameters. Only for a single results directory (one sweep).
pub(super) fn parameter_figures(groups: &[Group], points: &[PolicyPoint]) -> Vec<(String, Figure)> {
    let Some(first) = groups.first() else {
        return Vec::new();
    };
    if groups.iter().any(|g| g.dir != first.dir) {
        return Vec::new();
    }
    // Short names for titles and legends, from the point labels (`averageValue=16`
    // rather than the column `policy_decider_metrics_0_pods_target_averageValue`);
    // the column names where the label does not give them.
    let shorts: Vec<String> = {
        let from_label: Vec<String> = first
            .label
            .split(' ')
            .filter_map(|t| t.split_once('=').map(|(k, _)| k.to_owned()))
            .collect();
        let named: Vec<&String> = first
            .params
            .iter()
            .map(|(n, _, _)| n)
            .filter(|n| n.as_str() != "variant")
            .collect();
        let mut it = from_label.into_iter();
        first
            .params
            .iter()
            .map(|(n, _, _)| {
                if n == "variant" || named.is_empty() {
                    n.clone()
                } else {
                    it.next().unwrap_or_else(|| n.clone())
                }
            })
            .collect()
    };
    let mut figures = Vec::new();
    for (k, (column, _, _)) in first.params.iter().enumerate() {
        let name = &shorts[k];
        let mut xs: Vec<f64> = groups.iter().filter_map(|g| g.params[k].1).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        if xs.len() < 2 || groups.iter().any(|g| g.params[k].1.is_none()) {
            continue;
        }
        // One line per setting of the other parameters, in sweep order.
        let mut lines: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            let others: Vec<String> = g
                .params
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(j, (_, _, t))| format!("{}={t}", shorts[j]))
                .collect();
            let key = others.join(" ");
            match lines.iter_mut().find(|(l, _)| *l == key) {
                Some((_, members)) => members.push(i),
                None => lines.push((key, vec![i])),
            }
        }
        if lines.len() > MAX_GROUPS_PER_CHART {
            continue;
        }
        let series = |pick: fn(&PolicyPoint) -> (f64, f64, f64)| -> Vec<Series> {
            lines
                .iter()
                .map(|(label, members)| {
                    let mut rows: Vec<(f64, (f64, f64, f64))> = members
                        .iter()
                        .filter_map(|&i| Some((groups[i].params[k].1?, pick(&points[i]))))
                        .filter(|(_, v)| v.0.is_finite())
                        .collect();
                    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series::new(
                        if label.is_empty() {
                            "mean, 95% CI".to_owned()
                        } else {
                            label.clone()
                        },
                        rows.iter().map(|(x, v)| (*x, v.0)).collect(),
                        Mark::LineErrorBars(rows.iter().map(|(_, v)| (v.1, v.2)).collect()),
                    )
                })
                .collect()
        };
        let cost_lines = series(|p| p.cost);
        if cost_lines.iter().all(|s| s.points.is_empty()) {
            continue;
        }
        let sla_lines = series(|p| p.sla);
        figures.push((
            format!("param-{column}"),
            Figure::new(vec![
                Chart {
                    title: format!("cost against {name}"),
                    x: Axis::linear(name.as_str()),
                    y: Axis::linear("cost per run ($)"),
                    series: cost_lines,
                },
                Chart {
                    title: format!("SLA attainment against {name}"),
                    x: Axis::linear(name.as_str()),
                    y: Axis::share("SLA attainment"),
                    series: sla_lines,
                },
            ]),
        ));
    }
    figures
}
