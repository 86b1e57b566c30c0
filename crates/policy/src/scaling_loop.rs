//! The scaling loop: every interval, for each model it controls, monitor → predict →
//! decide, and hand the cluster (the execute stage) the new replica counts.
//!
//! Built from a plain-data [`LoopConfig`] (the scenario crate turns YAML into one), so
//! a registry of stage implementations by `kind` is just the match in
//! [`build_predictor`] and [`build_decider`]; researchers add their own stages by
//! implementing [`Predictor`] or [`Decider`] and passing them to
//! [`ScalingLoop::with_stages`] (see `examples/custom_policy.rs`).

use std::collections::VecDeque;

use inferscale_cluster::{ClusterView, Controller, ControllerReport, ForecastError, ScaleAction};
use inferscale_engine::{RngStreams, SimDuration, SimTime};

use crate::decide::{
    DecideInput, Decider, HpaDecider, HpaMetricSource, KpaDecider, Queueing, ReplicaMetric,
    Scheduled, Static, TargetTracking, Threshold,
};
use crate::fleet::{FleetDecider, Observed};
use crate::hpa::{Behavior, Hpa, MetricTarget};
use crate::kpa::{DeciderSpec, Kpa};
use crate::monitor::{Monitor, MonitorConfig};
use crate::predict::{
    Arima, Ewma, HoltWinters, LastValue, LinearTrend, MovingAverage, Oracle, Predictor,
};

/// Which predictor, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum PredictorConfig {
    /// No forecast: deciders see only the present.
    None,
    /// The newest value.
    LastValue,
    /// Mean of the newest values over a window.
    MovingAverage {
        /// Window, seconds.
        window_s: f64,
    },
    /// EWMA.
    Ewma {
        /// Smoothing.
        alpha: f64,
    },
    /// Least-squares line over a window.
    LinearTrend {
        /// Window, seconds.
        window_s: f64,
    },
    /// Additive Holt–Winters.
    HoltWinters {
        /// Level smoothing.
        alpha: f64,
        /// Trend smoothing.
        beta: f64,
        /// Season smoothing.
        gamma: f64,
        /// Season length, seconds.
        season_s: f64,
    },
    /// ARIMA(p, d, q) on a sliding window.
    Arima {
        /// AR order.
        p: usize,
        /// Differences.
        d: usize,
        /// MA order.
        q: usize,
        /// Window, seconds.
        window_s: f64,
    },
    /// The workload's true expected rate.
    Oracle,
    /// Another program, over JSON lines (see [`crate::external`]).
    External(crate::external::ExternalCommand),
}

/// Which decider, with its parameters.
#[derive(Clone, Debug)]
pub enum DeciderConfig {
    /// Hold a count (or do nothing).
    Static {
        /// The count.
        replicas: Option<u32>,
        /// Bounds.
        min: u32,
        /// Bounds.
        max: u32,
    },
    /// Step scaling.
    Threshold(Threshold),
    /// Target tracking.
    TargetTracking(TargetTracking),
    /// The Kubernetes HPA.
    Hpa {
        /// `minReplicas`.
        min: u32,
        /// `maxReplicas`.
        max: u32,
        /// `metrics`, each with where the simulator reads it.
        metrics: Vec<(MetricTarget, HpaMetricSource)>,
        /// `behavior` (`None`: legacy path).
        behavior: Option<Behavior>,
        /// Cluster-wide tolerance (0.1).
        tolerance: f64,
    },
    /// Knative's KPA.
    Kpa {
        /// The decider's settings.
        spec: DeciderSpec,
        /// Panic window, seconds.
        panic_window_s: f64,
        /// `min-scale`.
        min: u32,
        /// `max-scale` (0: unbounded).
        max: u32,
        /// Scale to zero when idle.
        scale_to_zero: bool,
        /// Grace period before zero, seconds.
        grace_period_s: f64,
        /// Requests per second instead of concurrency.
        rps: bool,
    },
    /// Erlang-C sizing.
    Queueing(Queueing),
    /// Time-of-day table.
    Scheduled(Scheduled),
    /// Another program decides for the whole fleet, over JSON lines
    /// ([`crate::external_decider`]).
    External(crate::external::ExternalCommand),
    /// Cheapest mix of a model's variants.
    CostOptimal {
        /// (model index, price/capacity/quota per replica) per variant.
        options: Vec<(usize, crate::cost::NodeOption)>,
        /// Plan for demand / headroom.
        headroom: f64,
        /// Most spot share.
        max_spot_share: f64,
        /// Fewest replicas over all variants.
        min: u32,
        /// Most replicas over all variants.
        max: u32,
        /// Scale-in stabilization window, seconds.
        stabilization_window_s: f64,
    },
}

/// The loop's configuration.
#[derive(Clone, Debug)]
pub struct LoopConfig {
    /// Time between ticks, seconds.
    pub interval_s: f64,
    /// The monitor.
    pub monitor: MonitorConfig,
    /// The predictor.
    pub predictor: PredictorConfig,
    /// How far ahead to forecast, seconds (rounded up to whole intervals).
    pub horizon_s: f64,
    /// Per model (by cluster index): how long a scale-up takes to serve — the node
    /// boot plus the weight load. Sizing deciders plan for the largest forecast over
    /// this lead time plus the horizon. Missing entries are 0.
    pub lead_time_s: Vec<f64>,
    /// The decider.
    pub decider: DeciderConfig,
    /// Models controlled, by index (the others keep their replicas).
    pub models: Vec<usize>,
}

/// Builds the predictor of `config` for a loop ticking every `interval_s`;
/// `rate_at` gives the oracle the workload's true rate.
pub fn build_predictor(
    config: &PredictorConfig,
    interval_s: f64,
    model_name: &str,
    rate_at: Option<Box<dyn Fn(f64) -> f64 + Send>>,
) -> Result<Option<Box<dyn Predictor>>, String> {
    let points = |window_s: f64| ((window_s / interval_s).round() as usize).max(2);
    Ok(match config {
        PredictorConfig::None => None,
        PredictorConfig::LastValue => Some(Box::new(LastValue::default())),
        PredictorConfig::MovingAverage { window_s } => {
            Some(Box::new(MovingAverage::new(points(*window_s))))
        }
        PredictorConfig::Ewma { alpha } => Some(Box::new(Ewma::new(*alpha))),
        PredictorConfig::LinearTrend { window_s } => {
            Some(Box::new(LinearTrend::new(points(*window_s))))
        }
        PredictorConfig::HoltWinters {
            alpha,
            beta,
            gamma,
            season_s,
        } => Some(Box::new(HoltWinters::new(
            *alpha,
            *beta,
            *gamma,
            points(*season_s),
        ))),
        PredictorConfig::Arima { p, d, q, window_s } => {
            Some(Box::new(Arima::new(*p, *d, *q, points(*window_s))))
        }
        PredictorConfig::Oracle => {
            let rate_at = rate_at.ok_or(
                "the oracle predictor needs synthetic arrivals (it reads the true rate); a trace has none",
            )?;
            Some(Box::new(Oracle::new(rate_at, interval_s)))
        }
        PredictorConfig::External(command) => {
            match crate::external::ExternalPredictor::spawn(command, model_name, interval_s) {
                Ok(p) => Some(Box::new(p)),
                Err(e) if command.on_error == crate::external::OnError::Fallback => {
                    Some(Box::new(crate::external::Failed::new(e)))
                }
                Err(e) => return Err(e),
            }
        }
    })
}

/// Builds the decider of `config`.
pub fn build_decider(
    config: &DeciderConfig,
    model: usize,
    created_s: f64,
    ready: u32,
) -> Box<dyn Decider> {
    match config {
        DeciderConfig::CostOptimal {
            options,
            headroom,
            max_spot_share,
            min,
            max,
            stabilization_window_s,
        } => Box::new(crate::decide::CostOptimal {
            own_model: model,
            options: options.clone(),
            headroom: *headroom,
            max_spot_share: *max_spot_share,
            min: *min,
            max: *max,
            stabilizer: crate::decide::Stabilizer::new(*stabilization_window_s),
        }),
        DeciderConfig::Static { replicas, min, max } => Box::new(Static {
            replicas: *replicas,
            min: *min,
            max: *max,
        }),
        DeciderConfig::Threshold(t) => Box::new(t.clone()),
        DeciderConfig::TargetTracking(t) => Box::new(t.clone()),
        DeciderConfig::Hpa {
            min,
            max,
            metrics,
            behavior,
            tolerance,
        } => {
            let mut hpa = Hpa::new(
                i64::from(*min),
                i64::from(*max),
                metrics.iter().map(|m| m.0.clone()).collect(),
                behavior.clone(),
            );
            hpa.config.tolerance = crate::hpa::Tolerance {
                scale_down: *tolerance,
                scale_up: *tolerance,
            };
            Box::new(HpaDecider {
                hpa,
                sources: metrics.iter().map(|m| m.1.clone()).collect(),
            })
        }
        DeciderConfig::Kpa {
            spec,
            panic_window_s,
            min,
            max,
            scale_to_zero,
            grace_period_s,
            rps,
        } => Box::new(KpaDecider {
            kpa: Kpa::new(*spec, i64::from(ready), created_s),
            panic_window_s: *panic_window_s,
            min: *min,
            max: *max,
            scale_to_zero: *scale_to_zero,
            grace_period_s: *grace_period_s,
            rps: *rps,
            zero_since_s: None,
        }),
        DeciderConfig::Queueing(q) => Box::new(q.clone()),
        DeciderConfig::Scheduled(s) => Box::new(s.clone()),
        // The fleet decider decides for every model at once; per model nothing.
        DeciderConfig::External(_) => Box::new(Static {
            replicas: None,
            min: 0,
            max: u32::MAX,
        }),
    }
}

/// The longest history a decider needs from the monitor, seconds.
fn history_needed(config: &DeciderConfig) -> f64 {
    match config {
        DeciderConfig::Kpa { spec, .. } => spec.stable_window_s,
        _ => 0.0,
    }
}

/// The stages of one controlled model, for [`ScalingLoop::with_stages`].
pub struct ModelStages {
    /// Index of the model.
    pub model: usize,
    /// Its predictor, if any.
    pub predictor: Option<Box<dyn Predictor>>,
    /// Its decider.
    pub decider: Box<dyn Decider>,
}

/// One model's stages and bookkeeping.
struct ModelLoop {
    model: usize,
    monitor: Monitor,
    predictor: Option<Box<dyn Predictor>>,
    decider: Box<dyn Decider>,
    /// Intervals a decision cannot react within: the lead time plus the horizon.
    lookahead_steps: usize,
    /// Forecasts waiting for their time: (due, value).
    pending: VecDeque<(SimTime, f64)>,
    /// Whether its predictor failed (it gives no forecasts from then on).
    predictor_failed: bool,
    /// Ticks the decider went without a forecast because the predictor had failed.
    fallbacks: u64,
    abs_pct: f64,
    pct_count: u64,
    sq: f64,
    count: u64,
}

/// What a model loop saw at a tick: the monitor's report, the forecast at the
/// horizon and the peak over the lookahead.
type Seen = (crate::monitor::Metrics, Option<f64>, Option<f64>);

impl ModelLoop {
    /// Scores the forecasts due now, scrapes the model and forecasts: the monitor's
    /// report, the forecast at the horizon (`steps` intervals ahead) and, for a
    /// decider that plans for it or when `plan` asks, the peak over the lookahead.
    /// `None` when the monitor has nothing to report yet; an error when the predictor
    /// failed and failures end the run.
    #[allow(clippy::too_many_arguments)]
    fn observe(
        &mut self,
        now: SimTime,
        interval_s: f64,
        model_view: &inferscale_cluster::ModelView,
        steps: usize,
        plan: bool,
        on_error: crate::external::OnError,
        forecasts: &mut Vec<(SimTime, usize, f64)>,
    ) -> Result<Option<Seen>, String> {
        let now_s = now.as_secs_f64();
        // Score forecasts made for this interval against what actually arrived.
        let actual = if interval_s > 0.0 {
            model_view.arrivals as f64 / interval_s
        } else {
            0.0
        };
        while self.pending.front().is_some_and(|(due, _)| *due <= now) {
            let Some((due, forecast)) = self.pending.pop_front() else {
                break;
            };
            if due == now {
                self.sq += (forecast - actual).powi(2);
                self.count += 1;
                if actual > 0.0 {
                    self.abs_pct += (forecast - actual).abs() / actual;
                    self.pct_count += 1;
                }
            }
        }
        self.monitor.scrape(now_s, interval_s, model_view);
        let Some(metrics) = self.monitor.metrics(now_s) else {
            return Ok(None);
        };
        let (forecast, peak) = match &mut self.predictor {
            Some(p) => {
                p.observe(metrics.latest.t_s, metrics.latest.arrival_rate);
                let f = p.forecast(steps).map(|f| f.max(0.0));
                if let Some(f) = f {
                    let due = now + SimDuration::from_secs_f64(steps as f64 * interval_s);
                    self.pending.push_back((due, f));
                    forecasts.push((due, self.model, f));
                }
                let peak = if plan || self.decider.plans_for_peak() {
                    p.peak_forecast(self.lookahead_steps).map(|f| f.max(0.0))
                } else {
                    None
                };
                if let Some(failure) = p.take_failure() {
                    if on_error == crate::external::OnError::Fail {
                        return Err(failure);
                    }
                    self.predictor_failed = true;
                }
                if self.predictor_failed {
                    self.fallbacks += 1;
                    (None, None)
                } else {
                    (f, peak)
                }
            }
            None => (None, None),
        };
        Ok(Some((metrics, forecast, peak)))
    }
}

/// Stages from outside the simulator that replace a loop's configured ones
/// ([`ScalingLoop::with_outside`]).
#[derive(Default)]
pub struct OutsideStages<'a> {
    /// Decides for every model at once (shown a [`crate::fleet::FleetView`] per
    /// tick) instead of the per-model deciders.
    pub decider: Option<Box<dyn FleetDecider>>,
    /// Builds each controlled model's predictor (called with the model's index);
    /// its failures are handled as the config's `on_error` says for an external
    /// predictor (by default they end the run).
    #[allow(clippy::type_complexity)]
    pub predictor: Option<&'a mut dyn FnMut(usize) -> Result<Box<dyn Predictor>, String>>,
}

/// The monitor → predict → decide loop for a set of models.
pub struct ScalingLoop {
    interval: SimDuration,
    steps: usize,
    loops: Vec<ModelLoop>,
    forecasts: Vec<(SimTime, usize, f64)>,
    /// What a predictor's failure does.
    on_error: crate::external::OnError,
    /// A decider of the whole fleet, deciding instead of the per-model ones.
    fleet: Option<Box<dyn FleetDecider>>,
}

impl ScalingLoop {
    /// The loop of `config` over models named `model_names` (indices as in the
    /// cluster), with random streams from `streams` (`monitor/<model>`) and the
    /// oracle's true rate per model from `rate_at`.
    pub fn new(
        config: &LoopConfig,
        streams: &RngStreams,
        model_names: &[String],
        initial_replicas: &[u32],
        rate_at: impl FnMut(usize) -> Option<Box<dyn Fn(f64) -> f64 + Send>>,
    ) -> Result<Self, String> {
        Self::with_outside(
            config,
            streams,
            model_names,
            initial_replicas,
            rate_at,
            OutsideStages::default(),
        )
    }

    /// [`ScalingLoop::new`] with the stages of `outside` instead of the config's
    /// (how a policy from outside the simulator, a Python object, is plugged in):
    /// the config's own are then not built, so an external program they name is
    /// not started.
    pub fn with_outside(
        config: &LoopConfig,
        streams: &RngStreams,
        model_names: &[String],
        initial_replicas: &[u32],
        mut rate_at: impl FnMut(usize) -> Option<Box<dyn Fn(f64) -> f64 + Send>>,
        mut outside: OutsideStages<'_>,
    ) -> Result<Self, String> {
        let mut stages = Vec::new();
        for &model in &config.models {
            let name = model_names.get(model).map_or("", String::as_str);
            let predictor = match outside.predictor.as_mut() {
                Some(make) => Some(make(model)?),
                None => {
                    build_predictor(&config.predictor, config.interval_s, name, rate_at(model))?
                }
            };
            let ready = initial_replicas.get(model).copied().unwrap_or(0);
            let decider = build_decider(&config.decider, model, 0.0, ready);
            stages.push(ModelStages {
                model,
                predictor,
                decider,
            });
        }
        let mut scaling = Self::with_stages(config, streams, stages);
        scaling.fleet = match (outside.decider, &config.decider) {
            (Some(decider), _) => Some(decider),
            (None, DeciderConfig::External(command)) => Some(Box::new(
                crate::external_decider::ExternalDecider::spawn(command)?,
            )),
            (None, _) => None,
        };
        Ok(scaling)
    }

    /// A loop with stages built by the caller, one set per controlled model. This is how a custom predictor or decider is plugged in.
    pub fn with_stages(
        config: &LoopConfig,
        streams: &RngStreams,
        stages: Vec<ModelStages>,
    ) -> Self {
        let keep = history_needed(&config.decider);
        let steps = ((config.horizon_s / config.interval_s).ceil() as usize).max(1);
        let lead_of = |m: usize| config.lead_time_s.get(m).copied().unwrap_or(0.0);
        // A decider that sizes several variants waits for the slowest of them.
        let variants: Vec<usize> = match &config.decider {
            DeciderConfig::CostOptimal { options, .. } => options.iter().map(|o| o.0).collect(),
            _ => Vec::new(),
        };
        let lookahead = |model: usize| {
            let lead = variants
                .iter()
                .map(|&m| lead_of(m))
                .fold(lead_of(model), f64::max);
            (((lead + config.horizon_s) / config.interval_s).ceil() as usize).max(steps)
        };
        let loops = stages
            .into_iter()
            .map(
                |ModelStages {
                     model,
                     predictor,
                     decider,
                 }| ModelLoop {
                    model,
                    monitor: Monitor::new(
                        config.monitor,
                        keep,
                        streams.stream(&format!("monitor/{model}")),
                    ),
                    predictor,
                    decider,
                    lookahead_steps: lookahead(model),
                    pending: VecDeque::new(),
                    predictor_failed: false,
                    fallbacks: 0,
                    abs_pct: 0.0,
                    pct_count: 0,
                    sq: 0.0,
                    count: 0,
                },
            )
            .collect();
        ScalingLoop {
            interval: SimDuration::from_secs_f64(config.interval_s),
            steps,
            loops,
            forecasts: Vec::new(),
            on_error: match &config.predictor {
                PredictorConfig::External(c) => c.on_error,
                _ => crate::external::OnError::Fail,
            },
            fleet: None,
        }
    }
}

impl Controller for ScalingLoop {
    fn interval(&self) -> SimDuration {
        self.interval
    }

    fn tick(&mut self, view: &ClusterView) -> Result<Vec<ScaleAction>, String> {
        let now = view.now;
        let interval_s = view.interval.as_secs_f64();
        let mut actions = Vec::new();
        let plan_all = self.fleet.is_some();
        let mut observed = Vec::new();
        for l in &mut self.loops {
            let Some(model_view) = view.models.get(l.model) else {
                continue;
            };
            let seen = l.observe(
                now,
                interval_s,
                model_view,
                self.steps,
                plan_all,
                self.on_error,
                &mut self.forecasts,
            )?;
            if plan_all {
                observed.push(Observed {
                    model: l.model,
                    metrics: seen.as_ref().map(|s| s.0.clone()),
                    forecast: seen.as_ref().and_then(|s| s.1.map(|f| (f, s.2))),
                });
                continue;
            }
            let Some((metrics, forecast, peak)) = seen else {
                continue;
            };
            let decision = l.decider.decide(&DecideInput {
                metrics: &metrics,
                forecast_per_s: forecast,
                peak_forecast_per_s: peak,
                interval_s,
            });
            // A decision over several models (capacity moving between node types) names
            // every one of them, unchanged ones too: the cluster's executor holds their
            // shrinks until the move is made (make before break), and needs to see that
            // the tick moves capacity within the group.
            let moves = !decision.others.is_empty();
            for (model, replicas) in decision.others {
                if moves
                    || view
                        .models
                        .get(model)
                        .is_some_and(|v| v.desired != replicas)
                {
                    actions.push(ScaleAction {
                        model,
                        replicas,
                        reason: decision.reason.clone(),
                        forecast_per_s: forecast,
                    });
                }
            }
            if let Some(replicas) = decision.replicas
                && (moves || replicas != model_view.desired)
            {
                actions.push(ScaleAction {
                    model: l.model,
                    replicas,
                    reason: decision.reason,
                    forecast_per_s: forecast,
                });
            }
        }
        if let Some(fleet) = self.fleet.as_mut() {
            let horizon_s = self.steps as f64 * interval_s;
            let fleet_view = crate::fleet::fleet_view(view, &observed, horizon_s);
            let answer = fleet.decide(&fleet_view)?;
            actions = crate::fleet::resolve(view, &observed, &answer).map_err(|e| {
                format!(
                    "{} answered what the protocol does not allow at t = {} s: {e}",
                    fleet.describe(),
                    fleet_view.time_s
                )
            })?;
        }
        Ok(actions)
    }

    fn report(&self) -> ControllerReport {
        ControllerReport {
            forecast_errors: self
                .loops
                .iter()
                .filter(|l| l.count > 0)
                .map(|l| ForecastError {
                    model: l.model,
                    count: l.count,
                    mape: if l.pct_count == 0 {
                        f64::NAN
                    } else {
                        l.abs_pct / l.pct_count as f64
                    },
                    rmse: (l.sq / l.count as f64).sqrt(),
                })
                .collect(),
            forecasts: self.forecasts.clone(),
            predictor_fallbacks: self.loops.iter().map(|l| (l.model, l.fallbacks)).collect(),
        }
    }
}

/// The per-replica metrics by their scenario names.
pub const REPLICA_METRICS: [(&str, ReplicaMetric); 5] = [
    ("utilization", ReplicaMetric::Utilization),
    ("concurrency", ReplicaMetric::Concurrency),
    ("ttft_p99", ReplicaMetric::TtftP99),
    ("kv_utilization", ReplicaMetric::KvUtilization),
    ("queue_length", ReplicaMetric::QueueLength),
];

/// A per-replica metric by its scenario name.
pub fn replica_metric(name: &str) -> Option<ReplicaMetric> {
    REPLICA_METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, m)| m)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use inferscale_cluster::ModelView;

    use super::*;
    use crate::decide::Decision;

    /// (tick time, peak forecast) pairs a decider was given.
    type Seen = Arc<Mutex<Vec<(f64, Option<f64>)>>>;

    /// Records the peak forecast it is given.
    struct Recorder(Seen);

    impl Decider for Recorder {
        fn plans_for_peak(&self) -> bool {
            true
        }

        fn decide(&mut self, input: &DecideInput) -> Decision {
            if let Ok(mut seen) = self.0.lock() {
                seen.push((input.metrics.now_s, input.peak_forecast_per_s));
            }
            Decision::default()
        }
    }

    fn view(now_s: f64) -> ClusterView {
        ClusterView {
            now: SimTime::from_secs_f64(now_s),
            interval: SimDuration::from_secs(30),
            models: vec![ModelView {
                name: "m".into(),
                node_type: "gpu".into(),
                group: 0,
                cost_usd: 0.0,
                arrivals: 30,
                completions: 30,
                sla_met: 0,
                sla_missed: 0,
                desired: 1,
                ready: 1,
                provisioning: 0,
                loading: 0,
                draining: 0,
                router_queue: 0,
                in_flight: 0,
                kv_utilization: 0.0,
                cache_hit_rate: f64::NAN,
                ttft_p99_s: f64::NAN,
                output_tokens_per_s: 0.0,
                replicas: Vec::new(),
            }],
            cost_usd: 0.0,
        }
    }

    /// The loop hands a sizing decider the largest forecast over the lead time plus
    /// the horizon: with a 200 s lead, a 30 s horizon and 30 s ticks it looks
    /// ⌈230 / 30⌉ = 8 intervals ahead, so a jump from 1/s to 10/s at 300 s is in
    /// view from the tick at 90 s (its lookahead ends at 330 s) and not at 60 s (300 s,
    /// the last interval being (270, 300]).
    #[test]
    fn the_peak_forecast_covers_the_lead_time_and_the_horizon() {
        let config = LoopConfig {
            interval_s: 30.0,
            monitor: MonitorConfig::default(),
            predictor: PredictorConfig::Oracle,
            horizon_s: 30.0,
            lead_time_s: vec![200.0],
            decider: DeciderConfig::Static {
                replicas: None,
                min: 0,
                max: u32::MAX,
            },
            models: vec![0],
        };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let rate = |t: f64| if t >= 300.0 { 10.0 } else { 1.0 };
        let stages = vec![ModelStages {
            model: 0,
            predictor: Some(Box::new(crate::predict::Oracle::new(Box::new(rate), 30.0))),
            decider: Box::new(Recorder(seen.clone())),
        }];
        let mut l = ScalingLoop::with_stages(&config, &RngStreams::new(1, 0), stages);
        for k in 1..=4 {
            l.tick(&view(30.0 * f64::from(k))).unwrap();
        }
        let seen = seen.lock().unwrap().clone();
        let peak_at = |t: f64| {
            seen.iter()
                .find(|(now, _)| (*now - t).abs() < 1e-9)
                .and_then(|(_, p)| *p)
        };
        assert_eq!(peak_at(60.0), Some(1.0), "{seen:?}");
        assert_eq!(peak_at(90.0), Some(10.0), "{seen:?}");
    }

    fn config(predictor: PredictorConfig, models: Vec<usize>) -> LoopConfig {
        LoopConfig {
            interval_s: 30.0,
            monitor: MonitorConfig {
                window_s: 30.0,
                ..MonitorConfig::default()
            },
            predictor,
            horizon_s: 30.0,
            lead_time_s: Vec::new(),
            decider: DeciderConfig::Static {
                replicas: None,
                min: 0,
                max: u32::MAX,
            },
            models,
        }
    }

    /// A view at `now_s` where model `i` saw `arrivals[i]` in the last 30 s and asks
    /// for `desired[i]` replicas.
    fn views(now_s: f64, arrivals: &[u64], desired: &[u32]) -> ClusterView {
        let mut v = view(now_s);
        let template = v.models[0].clone();
        v.models = arrivals
            .iter()
            .zip(desired)
            .map(|(&a, &d)| ModelView {
                arrivals: a,
                desired: d,
                ready: d,
                ..template.clone()
            })
            .collect();
        v
    }

    /// Each forecast is scored at the tick it was made for, against the rate measured
    /// there: a last-value forecast one interval ahead of rates 1, 1, 2, 2 per second
    /// misses only at the third tick (1 against 2: 50%, squared error 1), so over the
    /// three scored ticks MAPE = 0.5 / 3 and RMSE = √(1/3); the fourth tick's forecast
    /// falls after the last tick and is not scored.
    #[test]
    fn forecasts_are_scored_at_the_tick_they_were_made_for() {
        let config = config(PredictorConfig::LastValue, vec![0]);
        let mut l = ScalingLoop::new(&config, &RngStreams::new(1, 0), &["m".into()], &[1], |_| {
            None
        })
        .unwrap();
        for (k, arrivals) in [30, 30, 60, 60].into_iter().enumerate() {
            l.tick(&views(30.0 * (k + 1) as f64, &[arrivals], &[1]))
                .unwrap();
        }
        let report = l.report();
        let e = &report.forecast_errors[0];
        assert_eq!(e.count, 3, "{e:?}");
        assert!((e.mape - 0.5 / 3.0).abs() < 1e-12, "{e:?}");
        assert!((e.rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-12, "{e:?}");
        let due: Vec<f64> = report.forecasts.iter().map(|f| f.0.as_secs_f64()).collect();
        assert_eq!(due, [60.0, 90.0, 120.0, 150.0]);
    }

    /// Sizes model 0 at 2 and its variant, model 1, at 3, whatever it sees.
    struct Mix;

    impl Decider for Mix {
        fn decide(&mut self, _input: &DecideInput) -> Decision {
            Decision {
                replicas: Some(2),
                reason: "mix".into(),
                others: vec![(1, 3)],
            }
        }
    }

    /// Always asks for 2.
    struct Two;

    impl Decider for Two {
        fn decide(&mut self, _input: &DecideInput) -> Decision {
            Decision {
                replicas: Some(2),
                reason: "two".into(),
                others: Vec::new(),
            }
        }
    }

    /// A decision over several models names every one of them, the unchanged ones
    /// too, so the cluster's executor can tell that capacity moves within the group
    /// (make before break); a one-model decision that changes nothing is no action.
    #[test]
    fn a_decision_over_several_models_names_them_all() {
        let streams = RngStreams::new(1, 0);
        let stages = |decider: Box<dyn Decider>| {
            vec![ModelStages {
                model: 0,
                predictor: None,
                decider,
            }]
        };
        let cfg = config(PredictorConfig::None, vec![0]);
        let mut mix = ScalingLoop::with_stages(&cfg, &streams, stages(Box::new(Mix)));
        let unchanged = mix.tick(&views(30.0, &[30, 0], &[2, 3])).unwrap();
        let named: Vec<(usize, u32)> = unchanged.iter().map(|a| (a.model, a.replicas)).collect();
        assert_eq!(named, [(1, 3), (0, 2)]);
        let mut two = ScalingLoop::with_stages(&cfg, &streams, stages(Box::new(Two)));
        assert!(two.tick(&views(30.0, &[30], &[2])).unwrap().is_empty());
        let grow = two.tick(&views(60.0, &[30], &[1])).unwrap();
        assert_eq!(
            grow.iter()
                .map(|a| (a.model, a.replicas))
                .collect::<Vec<_>>(),
            [(0, 2)]
        );
    }

    /// Forecasts once, then fails at every tick after.
    struct FailsAfterOne(u32);

    impl Predictor for FailsAfterOne {
        fn observe(&mut self, _t_s: f64, _y: f64) {
            self.0 += 1;
        }
        fn forecast(&self, _steps: usize) -> Option<f64> {
            Some(1.0)
        }
        fn take_failure(&mut self) -> Option<String> {
            (self.0 > 1).then(|| "the predictor died".to_string())
        }
    }

    /// A failing predictor ends the loop with its error (`on_error: fail`, the
    /// default); with `fallback` the loop goes on without forecasts from then on and
    /// counts each tick it did so.
    #[test]
    fn a_failing_predictor_fails_the_loop_or_falls_back_and_is_counted() {
        let streams = RngStreams::new(1, 0);
        let stages = || {
            vec![ModelStages {
                model: 0,
                predictor: Some(Box::new(FailsAfterOne(0)) as Box<dyn Predictor>),
                decider: Box::new(Two),
            }]
        };
        let mut fail = ScalingLoop::with_stages(
            &config(PredictorConfig::LastValue, vec![0]),
            &streams,
            stages(),
        );
        assert!(fail.tick(&views(30.0, &[30], &[2])).is_ok());
        assert_eq!(
            fail.tick(&views(60.0, &[30], &[2])).unwrap_err(),
            "the predictor died"
        );
        let external = PredictorConfig::External(crate::external::ExternalCommand {
            command: vec!["unused".into()],
            dir: ".".into(),
            timeout: crate::external::ExternalCommand::DEFAULT_TIMEOUT,
            on_error: crate::external::OnError::Fallback,
        });
        let mut fallback = ScalingLoop::with_stages(&config(external, vec![0]), &streams, stages());
        for k in 1..=4 {
            fallback
                .tick(&views(30.0 * f64::from(k), &[30], &[2]))
                .unwrap();
        }
        assert_eq!(fallback.report().predictor_fallbacks, [(0, 3)]);
    }
}
