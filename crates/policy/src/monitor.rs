//! The monitor stage: what a Prometheus scrape of the cluster would show a policy —
//! per-tick snapshots averaged over a window, optionally reported late (lag) and with
//! multiplicative measurement noise from the monitor's own random stream. History is
//! bounded by the longest window asked for.

use std::collections::VecDeque;

use inferscale_cluster::{ModelView, ReplicaView};
use inferscale_engine::SimRng;
use rand_distr::{Distribution, StandardNormal};

/// How the monitor sees the cluster.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonitorConfig {
    /// Averaging window for rates, utilization and concurrency, seconds.
    pub window_s: f64,
    /// Reporting lag, seconds: a decision at t sees the cluster as of t − lag.
    pub lag_s: f64,
    /// Relative standard deviation of multiplicative Gaussian noise on every reported
    /// value (0: exact).
    pub noise: f64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            window_s: 60.0,
            lag_s: 0.0,
            noise: 0.0,
        }
    }
}

/// One scrape.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// When, seconds.
    pub t_s: f64,
    /// Arrivals per second over the interval that ended at `t_s`.
    pub arrival_rate: f64,
    /// Mean busy fraction of ready replicas over that interval.
    pub utilization: f64,
    /// Requests in flight (replicas and router queue) at `t_s`.
    pub in_flight: f64,
    /// Requests waiting at the router.
    pub router_queue: f64,
    /// KV-cache share in use.
    pub kv_utilization: f64,
    /// Prefix-cache hit rate (blocks) since the previous scrape (NaN when no block
    /// was looked up): what the Dynamo planner reads beside KV use.
    pub cache_hit_rate: f64,
    /// Requests waiting for admission: in the replicas' queues (vLLM's
    /// `num_requests_waiting`, summed) and at the router.
    pub waiting: f64,
    /// 99th percentile TTFT over the interval, seconds (NaN when no first token).
    pub ttft_p99_s: f64,
    /// Output tokens per second over the interval.
    pub output_tokens_per_s: f64,
    /// Replicas asked for (not draining).
    pub desired: u32,
    /// Ready replicas.
    pub ready: u32,
    /// Per replica.
    pub replicas: Vec<ReplicaView>,
}

/// What a decider is given: the newest (lagged) snapshot and window averages.
#[derive(Clone, Debug, PartialEq)]
pub struct Metrics {
    /// Decision time, seconds.
    pub now_s: f64,
    /// The newest snapshot the monitor reports.
    pub latest: Snapshot,
    /// Arrival rate averaged over the window, per second.
    pub arrival_rate: f64,
    /// Utilization averaged over the window.
    pub utilization: f64,
    /// In-flight requests averaged over the window.
    pub in_flight: f64,
    /// Every reported snapshot the monitor holds (for deciders with their own
    /// windows); `None` when built by hand.
    pub window_history: Option<Vec<Snapshot>>,
}

impl Metrics {
    /// The mean of `f` over the snapshots in the last `window_s` (by the reported clock).
    pub fn window_mean(
        history: &[Snapshot],
        now_s: f64,
        window_s: f64,
        f: impl Fn(&Snapshot) -> f64,
    ) -> f64 {
        let inside: Vec<f64> = history
            .iter()
            .filter(|s| s.t_s > now_s - window_s + 1e-9)
            .map(&f)
            .collect();
        if inside.is_empty() {
            history.last().map_or(0.0, f)
        } else {
            inside.iter().sum::<f64>() / inside.len() as f64
        }
    }
}

/// One model's monitor.
#[derive(Clone, Debug)]
pub struct Monitor {
    config: MonitorConfig,
    /// Snapshots not older than the longest window + lag.
    history: VecDeque<Snapshot>,
    keep_s: f64,
    rng: SimRng,
}

impl Monitor {
    /// A monitor keeping at least `keep_s` of history (for deciders with their own
    /// windows, such as Knative's stable window), noise drawn from `rng`.
    pub fn new(config: MonitorConfig, keep_s: f64, rng: SimRng) -> Self {
        Monitor {
            config,
            history: VecDeque::new(),
            keep_s: keep_s.max(config.window_s) + config.lag_s + 1.0,
            rng,
        }
    }

    fn noisy(&mut self, v: f64) -> f64 {
        if self.config.noise <= 0.0 {
            return v;
        }
        let z: f64 = StandardNormal.sample(&mut self.rng);
        (v * (1.0 + self.config.noise * z)).max(0.0)
    }

    /// Records the scrape at `now_s` of `view`, covering an interval of `interval_s`.
    pub fn scrape(&mut self, now_s: f64, interval_s: f64, view: &ModelView) {
        let ready: Vec<&ReplicaView> = view
            .replicas
            .iter()
            .filter(|r| r.ready_since_s.is_some() && !r.draining)
            .collect();
        let utilization = if ready.is_empty() {
            0.0
        } else {
            ready.iter().map(|r| r.busy_fraction).sum::<f64>() / ready.len() as f64
        };
        let rate = if interval_s > 0.0 {
            view.arrivals as f64 / interval_s
        } else {
            0.0
        };
        let mut replicas = view.replicas.clone();
        for r in &mut replicas {
            r.busy_fraction = self.noisy(r.busy_fraction).min(1.0);
        }
        let snapshot = Snapshot {
            t_s: now_s,
            arrival_rate: self.noisy(rate),
            utilization: self.noisy(utilization).min(1.0),
            in_flight: self.noisy(view.in_flight as f64),
            router_queue: view.router_queue as f64,
            kv_utilization: view.kv_utilization,
            cache_hit_rate: view.cache_hit_rate,
            // Counted, not sampled: no noise (and no draw from the noise stream, so
            // noisy monitors see the numbers they saw before this field existed).
            waiting: (view.router_queue
                + view
                    .replicas
                    .iter()
                    .map(|r| u64::from(r.waiting))
                    .sum::<u64>()) as f64,
            ttft_p99_s: self.noisy(view.ttft_p99_s),
            output_tokens_per_s: self.noisy(view.output_tokens_per_s),
            desired: view.desired,
            ready: view.ready,
            replicas,
        };
        self.history.push_back(snapshot);
        while self
            .history
            .front()
            .is_some_and(|s| s.t_s < now_s - self.keep_s)
        {
            self.history.pop_front();
        }
    }

    /// The snapshots the monitor reports at `now_s` (those at least `lag` old).
    pub fn reported(&self, now_s: f64) -> Vec<Snapshot> {
        let cutoff = now_s - self.config.lag_s + 1e-9;
        self.history
            .iter()
            .filter(|s| s.t_s <= cutoff)
            .cloned()
            .collect()
    }

    /// The metrics a decider sees at `now_s`, or `None` before the first report.
    pub fn metrics(&self, now_s: f64) -> Option<Metrics> {
        let reported = self.reported(now_s);
        let latest = reported.last()?.clone();
        let at = latest.t_s;
        let w = self.config.window_s;
        Some(Metrics {
            now_s,
            arrival_rate: Metrics::window_mean(&reported, at, w, |s| s.arrival_rate),
            utilization: Metrics::window_mean(&reported, at, w, |s| s.utilization),
            in_flight: Metrics::window_mean(&reported, at, w, |s| s.in_flight),
            latest,
            window_history: Some(reported),
        })
    }

    /// The configuration.
    pub fn config(&self) -> MonitorConfig {
        self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    fn view(arrivals: u64, busy: f64) -> ModelView {
        ModelView {
            name: "m".into(),
            node_type: "gpu".into(),
            group: 0,
            cost_usd: 0.0,
            arrivals,
            completions: arrivals,
            sla_met: 0,
            sla_missed: 0,
            desired: 2,
            ready: 2,
            provisioning: 0,
            loading: 0,
            draining: 0,
            router_queue: 0,
            in_flight: 4,
            kv_utilization: 0.1,
            cache_hit_rate: f64::NAN,
            ttft_p99_s: 0.2,
            output_tokens_per_s: 100.0,
            replicas: vec![
                ReplicaView {
                    created_s: 0.0,
                    ready_since_s: Some(10.0),
                    draining: false,
                    busy_fraction: busy,
                    in_flight: 2,
                    waiting: 1,
                };
                2
            ],
        }
    }

    #[test]
    fn windows_and_lag() {
        let config = MonitorConfig {
            window_s: 30.0,
            lag_s: 15.0,
            noise: 0.0,
        };
        let mut m = Monitor::new(config, 0.0, RngStreams::new(1, 0).stream("monitor"));
        for (i, arrivals) in [15u64, 30, 45, 60].into_iter().enumerate() {
            m.scrape(
                15.0 * (i + 1) as f64,
                15.0,
                &view(arrivals, 0.1 * (i + 1) as f64),
            );
        }
        // At 60 s with a 15 s lag the newest report is from 45 s; the 30 s window
        // holds the scrapes at 30 and 45 s (2/s and 3/s).
        let metrics = m.metrics(60.0).unwrap();
        assert_eq!(metrics.latest.t_s, 45.0);
        assert!((metrics.arrival_rate - 2.5).abs() < 1e-12);
        assert!((metrics.utilization - 0.25).abs() < 1e-12);
        assert!(m.metrics(10.0).is_none());
    }

    #[test]
    fn noise_has_the_asked_spread() {
        let config = MonitorConfig {
            window_s: 15.0,
            lag_s: 0.0,
            noise: 0.1,
        };
        let mut m = Monitor::new(config, 0.0, RngStreams::new(1, 0).stream("monitor"));
        let mut values = Vec::new();
        for i in 0..20_000 {
            m.scrape(i as f64, 1.0, &view(100, 0.5));
            values.push(m.metrics(i as f64).unwrap().latest.arrival_rate);
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let sd =
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64).sqrt();
        assert!((mean - 100.0).abs() < 0.3, "{mean}");
        assert!((sd - 10.0).abs() < 0.3, "{sd}");
    }
}
