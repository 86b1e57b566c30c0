//! What the fleet costs, computed once and attributed once.
//!
//! A node bills from the moment it is requested until it is released (or the run
//! ends), rounded up to its node type's granularity and at least its minimum. The
//! ledger spreads that bill over time exactly: while a node is alive its price accrues
//! continuously, and the rounding — the part of the bill after the release, up to the
//! next granule or the minimum — is charged at the instant the node goes (or at the end,
//! for nodes still alive). So every bill is the integral of a rate plus charges at
//! instants, and any window's cost is the difference of two cumulative totals: the
//! measurement window's cost, each sampling interval's cost and the whole run's cost
//! come from the same numbers and add up.
//!
//! Node time is kept per node type in integer nanoseconds (exact). A node's cost is
//! attributed to the models whose replicas occupy it, in proportion to the accelerators
//! each occupies at the time (a rounding charge goes by the last occupancy), so the
//! models' costs add up to the fleet's.
//!
//! A node type with a reservation ([`Reservation`]) bills its commitment for the
//! whole run and on-demand node time only beyond it: at each instant the pool costs
//! `nodes × reserved price + max(alive − nodes, 0) × price`, spread evenly over its
//! alive nodes (so the models running on it bear the idle part of the commitment too),
//! or shared by the models placed on it while none is alive. A node that goes while
//! more are alive than committed was on demand and pays its rounding; one that goes
//! within the commitment pays none (the commitment is paid anyway).

use inferscale_engine::{SimDuration, SimTime};

use crate::cluster::{NodePool, Reservation, billed};

/// Seconds per hour, as nanoseconds per hour.
const NS_PER_HOUR: f64 = 3.6e12;

/// A running total that grows at a constant rate between changes and by lumps at
/// instants, and remembers its value when the clock passes the window's start.
#[derive(Clone, Copy, Debug, Default)]
struct Meter<Q: Quantity> {
    /// Growth per nanosecond.
    rate: Q,
    /// Up to when `total` is accounted.
    since: SimTime,
    total: Q,
    /// The total at the window start, once the clock has passed it.
    at_window_start: Option<Q>,
}

/// What a meter counts: exact node-nanoseconds or attributed dollars.
trait Quantity: Copy + Default + std::ops::Add<Output = Self> + std::ops::Sub<Output = Self> {
    /// `rate` over `ns` nanoseconds.
    fn over(rate: Self, ns: u64) -> Self;
}

impl Quantity for u128 {
    fn over(rate: Self, ns: u64) -> Self {
        rate * u128::from(ns)
    }
}

impl Quantity for f64 {
    fn over(rate: Self, ns: u64) -> Self {
        rate * ns as f64
    }
}

impl<Q: Quantity> Meter<Q> {
    /// Accounts the time up to `now`, noting the total at `from` on the way past it.
    fn advance(&mut self, now: SimTime, from: SimTime) {
        if now <= self.since {
            return;
        }
        if self.at_window_start.is_none() && self.since <= from && from <= now {
            self.at_window_start =
                Some(self.total + Q::over(self.rate, (from - self.since).as_nanos()));
        }
        self.total = self.total + Q::over(self.rate, (now - self.since).as_nanos());
        self.since = now;
    }

    /// Sets the rate from `now` on.
    fn change_rate(&mut self, now: SimTime, from: SimTime, rate: Q) {
        self.advance(now, from);
        self.rate = rate;
    }

    /// A charge of `amount` at `now` (inside the window when `now ≥ from`).
    fn charge(&mut self, now: SimTime, from: SimTime, amount: Q) {
        self.advance(now, from);
        if now >= from {
            // A charge at the window's first instant belongs to the window.
            self.window_start(from);
        }
        self.total = self.total + amount;
    }

    /// Fixes the total at the window start if the clock is there and it is not yet
    /// recorded.
    fn window_start(&mut self, from: SimTime) -> Q {
        if self.at_window_start.is_none() && self.since == from {
            self.at_window_start = Some(self.total);
        }
        self.at_window_start.unwrap_or_default()
    }

    /// The total at `now` (not before the last change).
    fn value_at(&self, now: SimTime) -> Q {
        self.total + Q::over(self.rate, now.saturating_since(self.since).as_nanos())
    }
}

/// One node's bill.
#[derive(Clone, Debug)]
struct NodeBill {
    pool: usize,
    requested: SimTime,
    released: Option<SimTime>,
    /// Accelerators each model's replicas occupy now.
    occupancy: Vec<(usize, u32)>,
    /// The last non-empty occupancy: who pays the rounding when the node goes.
    last_occupancy: Vec<(usize, u32)>,
}

impl NodeBill {
    fn used(occupancy: &[(usize, u32)]) -> u32 {
        occupancy.iter().map(|&(_, a)| a).sum()
    }
}

/// A node type's account.
#[derive(Clone, Debug)]
struct PoolAccount {
    price_per_hour: f64,
    /// Billed node-nanoseconds; its rate is the number of nodes alive.
    node_ns: Meter<u128>,
    alive: u32,
    /// A reserved node type's commitment and its accounts.
    commitment: Option<Commitment>,
}

/// What a reservation needs to be billed and attributed.
#[derive(Clone, Debug)]
struct Commitment {
    terms: Reservation,
    /// Node-nanoseconds billed on demand: nodes alive beyond the commitment, and the
    /// rounding of those that go.
    on_demand_ns: Meter<u128>,
    /// The models placed on the node type: they share the commitment while no node
    /// of it is alive.
    placed: Vec<usize>,
    /// Per model: its occupancy shares summed over the pool's alive nodes.
    share: Vec<f64>,
    /// Per model: the part of its dollar rate (per ns) that comes from this pool.
    contrib: Vec<f64>,
}

impl Commitment {
    /// Dollars per nanosecond of the whole pool with `alive` nodes.
    fn pool_rate(&self, alive: u32, price_per_hour: f64) -> f64 {
        let beyond = alive.saturating_sub(self.terms.nodes);
        (f64::from(self.terms.nodes) * self.terms.price_per_hour
            + f64::from(beyond) * price_per_hour)
            / NS_PER_HOUR
    }
}

/// A model's account: its share of the nodes it occupies.
#[derive(Clone, Copy, Debug, Default)]
struct ModelAccount {
    /// Dollars.
    dollars: Meter<f64>,
    /// Node-nanoseconds (fractional: a share of a node).
    node_ns: Meter<f64>,
}

/// The fleet's bill, per node type and per model, over time.
#[derive(Clone, Debug)]
pub(crate) struct Ledger {
    /// Start of the measurement window (the end of the warm-up).
    from: SimTime,
    /// The end of the run, once closed: commitments accrue up to it.
    end: Option<SimTime>,
    pools: Vec<PoolAccount>,
    pool_terms: Vec<NodePool>,
    models: Vec<ModelAccount>,
    nodes: Vec<NodeBill>,
    /// Closed at the end of the run: what happens after (following the requests still
    /// in flight) is not billed.
    closed: bool,
}

/// A cumulative amount at some instant: from the start of the run, and the part of it
/// before the measurement window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Billed {
    /// Dollars.
    pub dollars: f64,
    /// Node-hours.
    pub node_hours: f64,
}

impl std::ops::Sub for Billed {
    type Output = Billed;
    fn sub(self, other: Billed) -> Billed {
        Billed {
            dollars: self.dollars - other.dollars,
            node_hours: self.node_hours - other.node_hours,
        }
    }
}

impl Ledger {
    /// An empty ledger for `pools` and models placed on the pools `model_pools` (one
    /// entry per model), measuring from `from`.
    pub(crate) fn new(pools: &[NodePool], model_pools: &[usize], from: SimTime) -> Self {
        let models = model_pools.len();
        let mut ledger = Ledger {
            from,
            end: None,
            pools: pools
                .iter()
                .enumerate()
                .map(|(i, p)| PoolAccount {
                    price_per_hour: p.node_type.price_per_hour,
                    node_ns: Meter::default(),
                    alive: 0,
                    commitment: p.reserved.map(|terms| Commitment {
                        terms,
                        on_demand_ns: Meter::default(),
                        placed: (0..models).filter(|&m| model_pools[m] == i).collect(),
                        share: vec![0.0; models],
                        contrib: vec![0.0; models],
                    }),
                })
                .collect(),
            pool_terms: pools.to_vec(),
            models: vec![ModelAccount::default(); models],
            nodes: Vec::new(),
            closed: false,
        };
        // Commitments accrue from the start, before any node exists.
        for pool in 0..ledger.pools.len() {
            ledger.refresh_commitment(pool, SimTime::ZERO);
        }
        ledger
    }

    /// After the alive count or the occupancy of a reserved `pool` changed at `now`:
    /// the models' rates from it, set anew (a no-op for other pools).
    fn refresh_commitment(&mut self, pool: usize, now: SimTime) {
        let account = &mut self.pools[pool];
        let Some(c) = account.commitment.as_mut() else {
            return;
        };
        let alive = account.alive;
        let rate = c.pool_rate(alive, account.price_per_hour);
        for m in 0..c.contrib.len() {
            let new = if alive > 0 {
                rate / f64::from(alive) * c.share[m]
            } else if c.placed.contains(&m) {
                rate / c.placed.len() as f64
            } else {
                0.0
            };
            let old = c.contrib[m];
            if new != old {
                c.contrib[m] = new;
                let dollars = &mut self.models[m].dollars;
                let updated = dollars.rate - old + new;
                dollars.change_rate(now, self.from, updated);
            }
        }
    }

    /// Sets a reserved pool's on-demand meter to its alive count beyond the
    /// commitment.
    fn set_on_demand_rate(&mut self, pool: usize, now: SimTime) {
        let account = &mut self.pools[pool];
        if let Some(c) = account.commitment.as_mut() {
            let beyond = account.alive.saturating_sub(c.terms.nodes);
            c.on_demand_ns
                .change_rate(now, self.from, u128::from(beyond));
        }
    }

    /// A node of `pool` is requested at `now`; returns its index (the cluster's node
    /// index: nodes are requested in the same order).
    pub(crate) fn request_node(&mut self, pool: usize, now: SimTime) -> usize {
        if self.closed {
            // After the end nothing is billed; the node still gets its number.
            self.nodes.push(NodeBill {
                pool,
                requested: now,
                released: Some(now),
                occupancy: Vec::new(),
                last_occupancy: Vec::new(),
            });
            return self.nodes.len() - 1;
        }
        let account = &mut self.pools[pool];
        account.alive += 1;
        account
            .node_ns
            .change_rate(now, self.from, u128::from(account.alive));
        self.nodes.push(NodeBill {
            pool,
            requested: now,
            released: None,
            occupancy: Vec::new(),
            last_occupancy: Vec::new(),
        });
        self.set_on_demand_rate(pool, now);
        self.refresh_commitment(pool, now);
        self.nodes.len() - 1
    }

    /// A replica of `model` starts (`delta > 0`) or stops occupying `accelerators` of
    /// `node` at `now`: the node's price is split anew.
    pub(crate) fn occupy(&mut self, node: usize, model: usize, accelerators: i64, now: SimTime) {
        if self.closed {
            return;
        }
        self.set_shares(node, now, -1.0);
        let occupancy = &mut self.nodes[node].occupancy;
        match occupancy.iter().position(|&(m, _)| m == model) {
            Some(i) => {
                let n = (i64::from(occupancy[i].1) + accelerators).max(0) as u32;
                if n == 0 {
                    occupancy.remove(i);
                } else {
                    occupancy[i].1 = n;
                }
            }
            None if accelerators > 0 => occupancy.push((model, accelerators as u32)),
            None => {}
        }
        if !occupancy.is_empty() {
            self.nodes[node].last_occupancy = occupancy.clone();
        }
        self.set_shares(node, now, 1.0);
    }

    /// Adds (`sign` 1) or removes (−1) the node's current shares from its models' rates.
    fn set_shares(&mut self, node: usize, now: SimTime, sign: f64) {
        let bill = &self.nodes[node];
        if bill.released.is_some() {
            return;
        }
        let used = NodeBill::used(&bill.occupancy);
        if used == 0 {
            return;
        }
        let pool = bill.pool;
        let price_per_ns = self.pools[pool].price_per_hour / NS_PER_HOUR;
        let reserved = self.pools[pool].commitment.is_some();
        for &(model, accelerators) in &bill.occupancy {
            let share = f64::from(accelerators) / f64::from(used);
            let account = &mut self.models[model];
            if let Some(c) = self.pools[pool].commitment.as_mut() {
                // The dollars follow the pool's rate (set by `refresh_commitment`).
                c.share[model] += sign * share;
            } else {
                let dollars = account.dollars.rate + sign * price_per_ns * share;
                account.dollars.change_rate(now, self.from, dollars);
            }
            let node_ns = account.node_ns.rate + sign * share;
            account.node_ns.change_rate(now, self.from, node_ns);
        }
        if reserved {
            self.refresh_commitment(pool, now);
        }
    }

    /// The node goes at `now`: it stops accruing, and the rounding of its bill (up to
    /// the granularity, at least the minimum) is charged now.
    pub(crate) fn release(&mut self, node: usize, now: SimTime) {
        if self.closed || self.nodes[node].released.is_some() {
            return;
        }
        self.set_shares(node, now, -1.0);
        let bill = &mut self.nodes[node];
        bill.released = Some(now);
        let (pool, requested) = (bill.pool, bill.requested);
        let account = &mut self.pools[pool];
        // Beyond the commitment, the node that goes was on demand.
        let on_demand = account
            .commitment
            .as_ref()
            .is_none_or(|c| account.alive > c.terms.nodes);
        account.alive -= 1;
        account
            .node_ns
            .change_rate(now, self.from, u128::from(account.alive));
        self.set_on_demand_rate(pool, now);
        self.refresh_commitment(pool, now);
        if on_demand {
            let lifetime = now - requested;
            let rounding =
                billed(lifetime, &self.pool_terms[pool]).as_nanos() - lifetime.as_nanos();
            self.charge_rounding(node, SimDuration::from_nanos(rounding), now);
        }
    }

    /// Charges `rounding` of node time of `node` at `now`, to its node type and, by
    /// its last occupancy, to its models.
    fn charge_rounding(&mut self, node: usize, rounding: SimDuration, now: SimTime) {
        let ns = rounding.as_nanos();
        let bill = &self.nodes[node];
        let account = &mut self.pools[bill.pool];
        account.node_ns.charge(now, self.from, u128::from(ns));
        if let Some(c) = account.commitment.as_mut() {
            c.on_demand_ns.charge(now, self.from, u128::from(ns));
        }
        let used = NodeBill::used(&bill.last_occupancy);
        let price_per_ns = account.price_per_hour / NS_PER_HOUR;
        for &(model, accelerators) in &bill.last_occupancy {
            let share = f64::from(accelerators) / f64::from(used);
            let m = &mut self.models[model];
            m.dollars
                .charge(now, self.from, price_per_ns * share * ns as f64);
            m.node_ns.charge(now, self.from, share * ns as f64);
        }
    }

    /// The run ends at `end`: nodes still alive are billed to here, their rounding
    /// charged now, and every account is closed at `end`.
    pub(crate) fn close(&mut self, end: SimTime) {
        if self.closed {
            return;
        }
        // Of a reserved pool's nodes still alive, those beyond the commitment are on
        // demand: the most recently requested ones (the commitment covers the base).
        let mut covered: Vec<u32> = self
            .pools
            .iter()
            .map(|p| p.commitment.as_ref().map_or(0, |c| c.terms.nodes))
            .collect();
        for node in 0..self.nodes.len() {
            let bill = &self.nodes[node];
            if bill.released.is_some() {
                continue;
            }
            // Oldest first: covered while the commitment lasts.
            if covered[bill.pool] > 0 {
                covered[bill.pool] -= 1;
                continue;
            }
            let lifetime = end - bill.requested;
            let rounding =
                billed(lifetime, &self.pool_terms[bill.pool]).as_nanos() - lifetime.as_nanos();
            self.charge_rounding(node, SimDuration::from_nanos(rounding), end);
        }
        let from = self.from;
        for p in &mut self.pools {
            p.node_ns.advance(end, from);
            p.node_ns.window_start(from);
            if let Some(c) = p.commitment.as_mut() {
                c.on_demand_ns.advance(end, from);
                c.on_demand_ns.window_start(from);
            }
        }
        self.end = Some(end);
        for m in &mut self.models {
            m.dollars.advance(end, from);
            m.dollars.window_start(from);
            m.node_ns.advance(end, from);
            m.node_ns.window_start(from);
        }
        self.closed = true;
    }

    /// Nodes of `pool` alive now.
    pub(crate) fn alive(&self, pool: usize) -> u32 {
        self.pools[pool].alive
    }

    /// What `pool` has billed from the start to `now`.
    pub(crate) fn pool_billed(&self, pool: usize, now: SimTime) -> Billed {
        let account = &self.pools[pool];
        let on_demand = account
            .commitment
            .as_ref()
            .map(|c| c.on_demand_ns.value_at(now));
        let until = self.end.map_or(now, |end| now.min(end));
        self.pool_amount(pool, account.node_ns.value_at(now), on_demand, until)
    }

    /// What `pool` billed before the measurement window (after [`Ledger::close`]).
    pub(crate) fn pool_before_window(&self, pool: usize) -> Billed {
        let account = &self.pools[pool];
        let on_demand = account
            .commitment
            .as_ref()
            .map(|c| c.on_demand_ns.at_window_start.unwrap_or(0));
        self.pool_amount(
            pool,
            account.node_ns.at_window_start.unwrap_or(0),
            on_demand,
            self.from,
        )
    }

    /// `ns` node-nanoseconds of `pool` in dollars and node-hours; a reserved pool's
    /// dollars are its commitment up to `until` and its `on_demand` node time.
    fn pool_amount(
        &self,
        pool: usize,
        ns: u128,
        on_demand: Option<u128>,
        until: SimTime,
    ) -> Billed {
        let account = &self.pools[pool];
        let hours = ns as f64 / NS_PER_HOUR;
        let dollars = match (&account.commitment, on_demand) {
            (Some(c), Some(od)) => {
                f64::from(c.terms.nodes) * c.terms.price_per_hour * until.as_nanos() as f64
                    / NS_PER_HOUR
                    + od as f64 / NS_PER_HOUR * account.price_per_hour
            }
            _ => hours * account.price_per_hour,
        };
        Billed {
            dollars,
            node_hours: hours,
        }
    }

    /// What `model` has been attributed from the start to `now`.
    pub(crate) fn model_billed(&self, model: usize, now: SimTime) -> Billed {
        let m = &self.models[model];
        Billed {
            dollars: m.dollars.value_at(now),
            node_hours: m.node_ns.value_at(now) / NS_PER_HOUR,
        }
    }

    /// What `model` was attributed before the measurement window (after
    /// [`Ledger::close`]).
    pub(crate) fn model_before_window(&self, model: usize) -> Billed {
        let m = &self.models[model];
        Billed {
            dollars: m.dollars.at_window_start.unwrap_or(0.0),
            node_hours: m.node_ns.at_window_start.unwrap_or(0.0) / NS_PER_HOUR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AcceleratorSpec, DeviceKind, NodeType};
    use inferscale_engine::Dist;

    fn pool(price: f64, granularity_s: u64, minimum_s: u64) -> NodePool {
        NodePool {
            node_type: NodeType {
                name: "n".into(),
                accelerator: AcceleratorSpec {
                    kind: DeviceKind::Gpu,
                    peak_flops: 300e12,
                    peak_int8_ops: None,
                    memory_bytes: 80e9,
                    memory_bandwidth: 2e12,
                    interconnect_bandwidth: 300e9,
                },
                accelerators_per_node: 8,
                price_per_hour: price,
                spot_price_per_hour: None,
                boot_time: Dist::deterministic(60.0).unwrap(),
                load_bandwidth: 1e9,
                max_count: None,
            },
            billing_granularity: SimDuration::from_secs(granularity_s),
            billing_minimum: SimDuration::from_secs(minimum_s),
            spot: None,
            reserved: None,
        }
    }

    fn t(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    /// A node alive 30 min at $36/h with hourly granularity bills a full hour: 30 min
    /// accrue while it lives and the other 30 are charged when it goes. The window
    /// [20 min, end] gets 10 accrued minutes and the whole rounding.
    #[test]
    fn rounding_is_charged_when_the_node_goes() {
        let mut l = Ledger::new(&[pool(36.0, 3600, 0)], &[0], t(1200));
        let n = l.request_node(0, t(0));
        l.occupy(n, 0, 1, t(0));
        l.occupy(n, 0, -1, t(1800));
        l.release(n, t(1800));
        l.close(t(7200));
        let total = l.pool_billed(0, t(7200));
        assert_eq!(total.node_hours, 1.0);
        assert_eq!(total.dollars, 36.0);
        let before = l.pool_before_window(0);
        assert!((before.dollars - 12.0).abs() < 1e-12, "{before:?}");
        let model = l.model_billed(0, t(7200));
        assert!((model.dollars - 36.0).abs() < 1e-9);
        assert!((l.model_before_window(0).dollars - 12.0).abs() < 1e-9);
    }

    /// Two models sharing a node pay by accelerators while both are on it; the one
    /// left alone pays the rest, and the minimum's rounding at the end.
    #[test]
    fn shares_follow_occupancy_and_add_up() {
        let mut l = Ledger::new(&[pool(8.0, 1, 7200)], &[0, 0], t(0));
        let n = l.request_node(0, t(0));
        l.occupy(n, 0, 2, t(0));
        l.occupy(n, 1, 6, t(0));
        // An hour shared 2:6, then model 1 leaves and model 0 has the node alone.
        l.occupy(n, 1, -6, t(3600));
        l.close(t(5400));
        // Billed 2 h (the minimum) at $8/h: $16.
        let total = l.pool_billed(0, t(5400)).dollars;
        assert_eq!(total, 16.0);
        let a = l.model_billed(0, t(5400)).dollars;
        let b = l.model_billed(1, t(5400)).dollars;
        // Model 1: 6/8 of one hour = $6. Model 0: 2/8 h + 0.5 h + 0.5 h rounding = $10.
        assert!((b - 6.0).abs() < 1e-9, "{b}");
        assert!((a - 10.0).abs() < 1e-9, "{a}");
        assert!((a + b - total).abs() < 1e-9);
    }

    /// A window that starts after a node went keeps nothing of it, and totals at any
    /// instant are cumulative.
    #[test]
    fn the_window_start_is_remembered_on_the_way_past() {
        let mut l = Ledger::new(&[pool(3.6, 1, 0)], &[0], t(100));
        let n = l.request_node(0, t(0));
        l.occupy(n, 0, 1, t(0));
        l.occupy(n, 0, -1, t(50));
        l.release(n, t(50));
        let m = l.request_node(0, t(200));
        l.occupy(m, 0, 1, t(200));
        l.close(t(300));
        let before = l.pool_before_window(0);
        let total = l.pool_billed(0, t(300));
        // 50 s before the window, 100 s in it, at $0.001/s.
        assert!((before.dollars - 0.05).abs() < 1e-12);
        assert!((total.dollars - before.dollars - 0.1).abs() < 1e-12);
        assert_eq!(l.alive(0), 1);
    }

    fn reserved(price: f64, granularity_s: u64, nodes: u32, reserved_price: f64) -> NodePool {
        NodePool {
            reserved: Some(Reservation {
                nodes,
                price_per_hour: reserved_price,
            }),
            ..pool(price, granularity_s, 0)
        }
    }

    /// Two nodes committed at $5/h, $10/h on demand: three nodes overlap for half an
    /// hour, so the bill is the commitment for the 4 h run plus 0.5 node-hours on
    /// demand ($40 + $5), idle commitment included; the one model pays it all.
    #[test]
    fn a_commitment_is_paid_whole_and_only_the_excess_on_demand() {
        let mut l = Ledger::new(&[reserved(10.0, 1, 2, 5.0)], &[0], t(0));
        let h = |x: f64| SimTime::from_secs_f64(x * 3600.0);
        let nodes: Vec<(f64, f64)> = vec![(0.0, 2.0), (1.0, 3.0), (1.5, 2.5)];
        let mut events: Vec<(SimTime, usize, bool)> = Vec::new();
        for (i, &(a, b)) in nodes.iter().enumerate() {
            events.push((h(a), i, true));
            events.push((h(b), i, false));
        }
        events.sort_by_key(|e| (e.0, e.2));
        let mut index = vec![0; nodes.len()];
        for (at, i, up) in events {
            if up {
                index[i] = l.request_node(0, at);
                l.occupy(index[i], 0, 8, at);
            } else {
                l.occupy(index[i], 0, -8, at);
                l.release(index[i], at);
            }
        }
        l.close(h(4.0));
        let total = l.pool_billed(0, h(4.0));
        assert!((total.dollars - 45.0).abs() < 1e-9, "{total:?}");
        // Node-hours count every node alive (2 + 2 + 1), committed or not.
        assert!((total.node_hours - 5.0).abs() < 1e-12, "{total:?}");
        let model = l.model_billed(0, h(4.0)).dollars;
        assert!((model - 45.0).abs() < 1e-9, "{model}");
        // After the end nothing more accrues.
        assert!((l.pool_billed(0, h(9.0)).dollars - 45.0).abs() < 1e-9);
    }

    /// With hourly granularity, a node that goes beyond the commitment pays its
    /// rounding on demand; the committed one pays none. Two models split the pool's
    /// rate by the nodes they run on: $7/h each while two run ($4 + $10 over two).
    #[test]
    fn only_on_demand_nodes_pay_rounding_and_shares_add_up() {
        let mut l = Ledger::new(&[reserved(10.0, 3600, 1, 4.0)], &[0, 0], t(3600));
        let h = |x: f64| SimTime::from_secs_f64(x * 3600.0);
        let a = l.request_node(0, h(0.0));
        l.occupy(a, 0, 8, h(0.0));
        let b = l.request_node(0, h(0.5));
        l.occupy(b, 1, 8, h(0.5));
        l.occupy(b, 1, -8, h(1.0));
        l.release(b, h(1.0));
        l.close(h(2.0));
        // $4 × 2 h committed, 0.5 h on demand and 0.5 h rounding at $10.
        let total = l.pool_billed(0, h(2.0)).dollars;
        assert!((total - 18.0).abs() < 1e-9, "{total}");
        let m0 = l.model_billed(0, h(2.0)).dollars;
        let m1 = l.model_billed(1, h(2.0)).dollars;
        assert!((m1 - 8.5).abs() < 1e-9, "{m1}");
        assert!((m0 - 9.5).abs() < 1e-9, "{m0}");
        // Before the window (1 h): $4 committed and 0.5 h on demand; the rounding,
        // charged at the window's first instant, is the window's.
        let before = l.pool_before_window(0).dollars;
        assert!((before - 9.0).abs() < 1e-9, "{before}");
        let m_before = l.model_before_window(0).dollars + l.model_before_window(1).dollars;
        assert!((m_before - before).abs() < 1e-9, "{m_before}");
    }
}
