//! Cost-optimal fleet mixes: how many nodes of each type to run so that their capacity
//! covers the demand at least cost — a small integer program (minimise Σ price·n
//! subject to Σ capacity·n ≥ demand, quotas, and a cap on the spot share), solved
//! exactly by depth-first branch and bound.

/// One kind of node the decider may buy.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeOption {
    /// A name for logs (`gpu-spot`).
    pub name: String,
    /// Price per hour.
    pub price_per_hour: f64,
    /// Demand units (e.g. requests/s at the SLA) one node serves.
    pub capacity: f64,
    /// Most nodes of this kind.
    pub quota: u32,
    /// Spot capacity (counts against the spot share).
    pub spot: bool,
}

/// The chosen counts, in the order of the options, with their cost per hour.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    /// Nodes per option.
    pub counts: Vec<u32>,
    /// Σ price · count.
    pub cost_per_hour: f64,
    /// Σ capacity · count.
    pub capacity: f64,
}

/// The cheapest mix whose capacity covers `demand`, with spot capacity at most
/// `max_spot_share` of the total capacity; ties go to fewer nodes, then to earlier
/// options. `None` when even every quota together falls short.
pub fn cheapest_mix(options: &[NodeOption], demand: f64, max_spot_share: f64) -> Option<Mix> {
    let mut best: Option<Mix> = None;
    let mut counts = vec![0u32; options.len()];
    search(
        options,
        demand.max(0.0),
        max_spot_share,
        0,
        &mut counts,
        0.0,
        0.0,
        0.0,
        &mut best,
    );
    best
}

#[allow(clippy::too_many_arguments)]
fn search(
    options: &[NodeOption],
    demand: f64,
    max_spot_share: f64,
    i: usize,
    counts: &mut Vec<u32>,
    cost: f64,
    capacity: f64,
    spot_capacity: f64,
    best: &mut Option<Mix>,
) {
    if let Some(b) = best
        && cost > b.cost_per_hour + 1e-12
    {
        return;
    }
    if capacity + 1e-9 >= demand {
        let spot_ok = spot_capacity <= max_spot_share * capacity + 1e-9;
        let nodes: u32 = counts.iter().sum();
        let better = match best {
            None => true,
            Some(b) => {
                cost < b.cost_per_hour - 1e-12
                    || ((cost - b.cost_per_hour).abs() <= 1e-12
                        && nodes < b.counts.iter().sum::<u32>())
            }
        };
        if spot_ok && better {
            *best = Some(Mix {
                counts: counts.clone(),
                cost_per_hour: cost,
                capacity,
            });
        }
        if spot_ok {
            return;
        }
    }
    if i == options.len() {
        return;
    }
    let o = &options[i];
    let needed = ((demand - capacity).max(0.0) / o.capacity).ceil() as u32;
    let upper = if o.spot { o.quota } else { needed.min(o.quota) };
    for n in (0..=upper).rev() {
        counts[i] = n;
        search(
            options,
            demand,
            max_spot_share,
            i + 1,
            counts,
            cost + f64::from(n) * o.price_per_hour,
            capacity + f64::from(n) * o.capacity,
            spot_capacity
                + if o.spot {
                    f64::from(n) * o.capacity
                } else {
                    0.0
                },
            best,
        );
    }
    counts[i] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_gpu() -> Vec<NodeOption> {
        vec![
            NodeOption {
                name: "cpu".into(),
                price_per_hour: 0.5,
                capacity: 2.0,
                quota: 100,
                spot: false,
            },
            NodeOption {
                name: "gpu".into(),
                price_per_hour: 4.0,
                capacity: 40.0,
                quota: 10,
                spot: false,
            },
        ]
    }

    /// By hand: a CPU node costs 0.25 $/h per req/s, a GPU node 0.10, but a GPU comes in
    /// 40 req/s lumps. CPUs win while ⌈D/2⌉·0.5 < 4, i.e. up to D = 14 (7 CPUs, $3.5);
    /// at D = 16 they tie at $4 (8 CPUs or 1 GPU; the tie goes to fewer nodes); above
    /// that one GPU is cheaper until 40, then GPU + CPUs for the remainder below 8 CPUs.
    #[test]
    fn low_load_buys_cpus_high_load_buys_gpus() {
        for demand in 1..=120u32 {
            let d = f64::from(demand);
            let mix = cheapest_mix(&cpu_gpu(), d, 0.0).unwrap();
            // Brute force over every count as an independent check.
            let mut brute = f64::INFINITY;
            for g in 0..=10u32 {
                let rest = (d - 40.0 * f64::from(g)).max(0.0);
                let c = (rest / 2.0).ceil();
                brute = brute.min(4.0 * f64::from(g) + 0.5 * c);
            }
            assert!(
                (mix.cost_per_hour - brute).abs() < 1e-9,
                "D={d}: {mix:?} vs {brute}"
            );
            if demand <= 14 {
                assert_eq!(mix.counts, [demand.div_ceil(2), 0], "D={d}");
            } else if (16..=40).contains(&demand) {
                assert_eq!(mix.counts, [0, 1], "D={d}");
            }
        }
    }

    #[test]
    fn spot_share_and_quotas_are_respected() {
        let mut options = cpu_gpu();
        options.push(NodeOption {
            name: "gpu-spot".into(),
            price_per_hour: 1.5,
            capacity: 40.0,
            quota: 10,
            spot: true,
        });
        let all_spot = cheapest_mix(&options, 80.0, 1.0).unwrap();
        assert_eq!(all_spot.counts, [0, 0, 2]);
        let half = cheapest_mix(&options, 80.0, 0.5).unwrap();
        assert_eq!(half.counts, [0, 1, 1]);
        assert!(cheapest_mix(&cpu_gpu(), 1000.0, 0.0).is_none());
    }
}
