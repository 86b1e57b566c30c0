//! Observation: the view a controller gets at each tick, and the time-series samples
//! of each model and node type.

use inferscale_engine::{SimDuration, SimTime};

use super::Cluster;
use crate::control::{ClusterView, ModelView, ReplicaView};

/// The state of one model's part of the cluster over one sampling interval, ending at
/// `time`. Intervals follow a fixed grid from time zero, with one boundary at the end
/// of the warm-up and the last interval ending at the horizon (either may be shorter),
/// so sums over the intervals after the warm-up cover exactly the measurement window.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// End of the interval.
    pub time: SimTime,
    /// Length of the interval.
    pub interval: SimDuration,
    /// Index of the model.
    pub model: usize,
    /// Requests that arrived in the interval.
    pub arrivals: u64,
    /// Requests that completed in the interval.
    pub completions: u64,
    /// Requests dropped or rejected in the interval.
    pub dropped: u64,
    /// Replicas whose node is still booting, at the end of the interval.
    pub provisioning: u32,
    /// Replicas loading weights.
    pub loading: u32,
    /// Replicas serving (draining ones included).
    pub ready: u32,
    /// Replicas draining: finishing their requests before they go.
    pub draining: u32,
    /// Requests waiting for admission (replica queues and the router's).
    pub queued: u64,
    /// Requests admitted and not finished.
    pub running: u64,
    /// Share of ready replicas' KV blocks in use.
    pub kv_utilization: f64,
    /// TTFT of first tokens in the interval: median and 99th percentile, seconds
    /// (NaN when none).
    pub ttft_p50_s: f64,
    /// 99th percentile TTFT in the interval.
    pub ttft_p99_s: f64,
    /// 99th percentile end-to-end latency of completions in the interval.
    pub e2e_p99_s: f64,
    /// 99th percentile TPOT of completions (of more than one token) in the interval.
    pub tpot_p99_s: f64,
    /// Prompt tokens computed and cached, and prefix-cache blocks looked up and found,
    /// by the model's replicas in the interval (counted at admission).
    pub prefix: crate::replica::PrefixStats,
    /// Dollars billed in the interval for this model's share of the nodes (by the
    /// accelerators its replicas occupy, the billing rounding included when a node
    /// goes), per hour of the interval: integrated over the measurement window it is
    /// the model's cost.
    pub cost_rate_per_hour: f64,
}

/// One node type's fleet over one sampling interval (the same intervals as
/// [`Sample`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FleetSample {
    /// End of the interval.
    pub time: SimTime,
    /// Length of the interval.
    pub interval: SimDuration,
    /// Index of the node pool.
    pub pool: usize,
    /// Nodes alive (requested and not yet released) at the end of the interval.
    pub nodes: u32,
    /// Of those, nodes still booting.
    pub booting: u32,
    /// Node-hours billed in the interval (rounding included when a node goes).
    pub node_hours: f64,
    /// Dollars billed in the interval, per hour of it (as [`Sample::cost_rate_per_hour`]).
    pub cost_rate_per_hour: f64,
    /// Spot reclaim notices the pool's nodes received in the interval.
    pub reclaims: u64,
}

/// One model's live replicas counted by state, for a sample.
#[derive(Clone, Copy, Default)]
struct ReplicaTally {
    provisioning: u32,
    loading: u32,
    ready: u32,
    draining: u32,
    queued: u64,
    outstanding: u64,
    kv_used: u64,
    kv_total: u64,
    /// Whole-run prefix counts of the live replicas.
    prefix: crate::replica::PrefixStats,
}

impl Cluster {
    /// When the sample after `now` is due: the next point of the interval grid, or the
    /// end of the warm-up if that comes first; `None` from the horizon on (the last
    /// sample is taken when the run ends, after the last events and the bill's
    /// rounding).
    pub(super) fn next_sample_after(&self, now: SimTime) -> Option<SimTime> {
        let interval = self.config.sample_interval?.as_nanos();
        if interval == 0 {
            return None;
        }
        let grid = SimTime::from_nanos((now.as_nanos() / interval + 1).saturating_mul(interval));
        let warmup = self.config.warmup;
        let next = if warmup > now && warmup < grid {
            warmup
        } else {
            grid
        };
        (next < self.config.horizon).then_some(next)
    }

    /// Records one sample per model and per node type for the interval ending now, and
    /// starts the next interval.
    pub(super) fn sample(&mut self, now: SimTime) {
        let interval = now - self.last_sample;
        let hours = interval.as_secs_f64() / 3600.0;
        let per_hour = |dollars: f64| if hours > 0.0 { dollars / hours } else { 0.0 };
        // One pass over the live replicas, each counted for its model.
        let mut tally = vec![ReplicaTally::default(); self.config.models.len()];
        for &index in &self.index.live {
            let r = &self.replicas[index];
            let t = &mut tally[r.model];
            if r.draining {
                t.draining += 1;
            }
            match (r.booted, r.ready_at.is_some()) {
                (false, _) => t.provisioning += 1,
                (true, false) => t.loading += 1,
                (true, true) => {
                    t.ready += 1;
                    let (used, total) = r.server.kv_blocks();
                    t.kv_used += used;
                    t.kv_total += total;
                }
            }
            t.queued += r.server.queued() as u64;
            t.outstanding += r.server.outstanding() as u64;
            t.prefix = t.prefix.plus(r.server.prefix_stats_run());
        }
        for (model, counted) in tally.into_iter().enumerate() {
            let ReplicaTally {
                provisioning,
                loading,
                ready,
                draining,
                queued,
                outstanding,
                kv_used,
                kv_total,
                prefix,
            } = counted;
            let billed = self.ledger.model_billed(model, now);
            let cost = billed.dollars - self.per_model[model].billed_at_sample.dollars;
            self.per_model[model].billed_at_sample = billed;
            // A router's backlog is reported once, on the model that owns it.
            let pending = if self.owner(model) == model {
                self.routers[model].pending.len() as u64
            } else {
                0
            };
            let state = &mut self.per_model[model];
            // Gone replicas' counts stay in the model's total.
            let prefix_total = state.prefix_gone.plus(prefix);
            let prefix = prefix_total.since(state.prefix_at_sample);
            state.prefix_at_sample = prefix_total;
            let o = &mut state.outcomes;
            let counts = (o.arrivals, o.completed, o.dropped + o.rejected);
            let last = state.counts_at_sample;
            self.timeseries.push(Sample {
                time: now,
                interval,
                model,
                arrivals: counts.0 - last.0,
                completions: counts.1 - last.1,
                dropped: counts.2 - last.2,
                provisioning,
                loading,
                ready,
                draining,
                queued: queued + pending,
                running: outstanding - queued,
                kv_utilization: if kv_total == 0 {
                    0.0
                } else {
                    kv_used as f64 / kv_total as f64
                },
                ttft_p50_s: o.window_ttft.quantile_s(0.5),
                ttft_p99_s: o.window_ttft.quantile_s(0.99),
                e2e_p99_s: o.window_e2e.quantile_s(0.99),
                tpot_p99_s: o.window_tpot.quantile_s(0.99),
                prefix,
                cost_rate_per_hour: per_hour(cost),
            });
            o.start_window();
            state.counts_at_sample = counts;
        }
        for pool in 0..self.config.pools.len() {
            let booting = self.index.booting[pool];
            let billed = self.ledger.pool_billed(pool, now);
            let delta = billed - self.pool_billed_at_sample[pool];
            self.pool_billed_at_sample[pool] = billed;
            self.fleet.push(FleetSample {
                time: now,
                interval,
                pool,
                nodes: self.ledger.alive(pool),
                booting,
                node_hours: delta.node_hours,
                cost_rate_per_hour: per_hour(delta.dollars),
                reclaims: self.reclaims[pool] - self.reclaims_at_sample[pool],
            });
            self.reclaims_at_sample[pool] = self.reclaims[pool];
        }
        self.last_sample = now;
    }

    /// What the controller sees now.
    pub(super) fn view(&mut self, now: SimTime) -> ClusterView {
        let interval = now - self.last_tick;
        let span = interval.as_secs_f64();
        let mut models = Vec::with_capacity(self.config.models.len());
        let routers = &self.routers;
        let config = &self.config;
        // A router's queue is reported once, on the model that owns it.
        let own_queue = |m: usize| {
            if config.router_of(m) == m {
                routers[m].pending.len() as u64
            } else {
                0
            }
        };
        for m in 0..self.config.models.len() {
            let view = ModelView {
                name: self.config.models[m].name.clone(),
                node_type: self.config.pools[self.config.models[m].pool]
                    .node_type
                    .name
                    .clone(),
                group: self.config.router_of(m),
                cost_usd: self.ledger.model_billed(m, now).dollars,
                arrivals: self.per_model[m].outcomes.arrivals - self.per_model[m].counts_at_tick.0,
                completions: self.per_model[m].outcomes.completed
                    - self.per_model[m].counts_at_tick.1,
                sla_met: self.per_model[m].outcomes.met_sla,
                sla_missed: {
                    let o = &self.per_model[m].outcomes;
                    (o.measured - o.met_sla) + o.dropped_measured + o.rejected_measured
                },
                desired: 0,
                ready: 0,
                provisioning: 0,
                loading: 0,
                draining: 0,
                router_queue: own_queue(m),
                in_flight: own_queue(m),
                kv_utilization: 0.0,
                cache_hit_rate: f64::NAN,
                ttft_p99_s: self.per_model[m]
                    .outcomes
                    .tick_ttft
                    .as_mut()
                    .map_or(f64::NAN, |t| p99_s(t)),
                output_tokens_per_s: if span > 0.0 {
                    (self.per_model[m].outcomes.output_tokens - self.per_model[m].counts_at_tick.2)
                        as f64
                        / span
                } else {
                    0.0
                },
                replicas: Vec::new(),
            };
            if let Some(t) = self.per_model[m].outcomes.tick_ttft.as_mut() {
                t.clear();
            }
            self.per_model[m].counts_at_tick = (
                self.per_model[m].outcomes.arrivals,
                self.per_model[m].outcomes.completed,
                self.per_model[m].outcomes.output_tokens,
            );
            models.push(view);
        }
        // One pass over the live replicas, each counted in its model's view.
        let mut kv = vec![(0u64, 0u64); models.len()];
        let mut prefix: Vec<crate::replica::PrefixStats> =
            self.per_model.iter().map(|s| s.prefix_gone).collect();
        for &index in &self.index.live {
            let r = &mut self.replicas[index];
            prefix[r.model] = prefix[r.model].plus(r.server.prefix_stats_run());
            let (view, (kv_used, kv_total)) = (&mut models[r.model], &mut kv[r.model]);
            {
                let busy = r.server.busy();
                let busy_fraction = if span > 0.0 {
                    ((busy.as_secs_f64() - r.busy_at_tick.as_secs_f64()) / span).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                r.busy_at_tick = busy;
                let in_flight = r.server.outstanding() as u32;
                view.in_flight += u64::from(in_flight);
                if r.draining || r.doomed {
                    view.draining += 1;
                } else {
                    view.desired += 1;
                    match (r.booted, r.ready_at.is_some()) {
                        (false, _) => view.provisioning += 1,
                        (true, false) => view.loading += 1,
                        (true, true) => {
                            view.ready += 1;
                            let (used, total) = r.server.kv_blocks();
                            *kv_used += used;
                            *kv_total += total;
                        }
                    }
                }
                view.replicas.push(ReplicaView {
                    created_s: r.created.as_secs_f64(),
                    ready_since_s: r.ready_at.map(SimTime::as_secs_f64),
                    draining: r.draining || r.doomed,
                    busy_fraction,
                    in_flight,
                    waiting: r.server.queued() as u32,
                });
            }
        }
        for (view, &(kv_used, kv_total)) in models.iter_mut().zip(&kv) {
            if kv_total > 0 {
                view.kv_utilization = kv_used as f64 / kv_total as f64;
            }
        }
        for (m, (view, total)) in models.iter_mut().zip(prefix).enumerate() {
            let state = &mut self.per_model[m];
            let since = total.since(state.prefix_at_tick);
            if since.queried_blocks > 0 {
                view.cache_hit_rate = since.block_hit_rate();
            }
            state.prefix_at_tick = total;
        }
        self.last_tick = now;
        let cost_usd = (0..self.config.pools.len())
            .map(|p| self.ledger.pool_billed(p, now).dollars)
            .sum();
        ClusterView {
            now,
            interval,
            models,
            cost_usd,
        }
    }
}

/// The 99th percentile of `nanos` in seconds (nearest rank), NaN when empty.
fn p99_s(nanos: &mut [u64]) -> f64 {
    if nanos.is_empty() {
        return f64::NAN;
    }
    let rank = ((nanos.len() as f64 * 0.99).ceil() as usize).clamp(1, nanos.len()) - 1;
    let (_, &mut v, _) = nanos.select_nth_unstable(rank);
    v as f64 * 1e-9
}
