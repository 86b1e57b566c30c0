//! Deciders that see the whole fleet at once, and the message they are shown: the
//! decide stage for policies written outside the simulator (another program over JSON
//! lines, [`crate::external_decider`]; any [`FleetDecider`] a caller plugs in with
//! [`crate::ScalingLoop::with_outside`], such as a binding's object).
//!
//! Every tick the loop monitors and forecasts each controlled model as it does for a
//! built-in decider, then hands one [`FleetView`] — the time, the bill so far, and per
//! model its node type, replicas desired, ready, starting and draining, the monitor's
//! metrics and the forecast — to the fleet decider, which answers a [`FleetAnswer`]:
//! replica counts (or deltas) per model, a model on another node type named by its
//! own name or by its group's name and the node type. The messages are versioned
//! ([`PROTOCOL_VERSION`]); `docs/decider-protocol.md` documents them and
//! `docs/decider-protocol.schema.json` is their JSON Schema ([`protocol_schema`]).

use inferscale_cluster::{ClusterView, ScaleAction};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::monitor::{Metrics, Snapshot};

/// The version of the messages: a view carries it, an answer may (and must then
/// match). Bumped when a field changes meaning or goes; new fields do not bump it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Most replicas an answer may ask of one model: more than any quota, so a larger
/// count is a bug in the policy, not a decision.
pub const MAX_REPLICAS: u32 = 100_000;

/// What a fleet decider is shown at a tick: one line of JSON in the external protocol.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetView {
    /// The protocol version: 1.
    pub version: u32,
    /// Simulated time of the tick, seconds from the start of the run.
    pub time_s: f64,
    /// The control interval: time since the previous tick, seconds.
    pub interval_s: f64,
    /// What the run has been billed from its start to now, dollars (every node type,
    /// the warm-up included).
    pub cost_usd: f64,
    /// Every model of the scenario, in its order.
    pub models: Vec<FleetModel>,
}

/// One model at a tick.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetModel {
    /// Its name in the scenario.
    pub name: String,
    /// The node type its replicas run on.
    pub node_type: String,
    /// The model whose router it shares: its own name, or the one it is a
    /// `variant_of:` (the same model on another node type).
    pub group: String,
    /// Whether the loop controls it (`policy.models`, default every model): a model
    /// not controlled has no metrics or forecast, but may still be scaled.
    pub controlled: bool,
    /// Its replicas.
    pub replicas: ReplicaCounts,
    /// What it has been billed from the start of the run to now, dollars.
    pub cost_usd: f64,
    /// Its requests judged against the SLA so far: the simulator's own count, not
    /// a scrape (what a reward or a score is computed from).
    pub sla: SlaCounts,
    /// What the monitor reports (window averages and the newest scrape, lagged and
    /// noisy as `policy.monitor` says); `null` for a model not controlled, or before
    /// the first report a lag allows.
    pub metrics: Option<MonitoredMetrics>,
    /// The predictor's forecast; `null` without a predictor or before it has one.
    pub forecast: Option<ForecastView>,
}

/// A model's requests judged so far: those reaching the cluster after the warm-up,
/// as they end. Requests still in flight are judged when the run ends, so the
/// runs table's `sla_met` and `sla_missed` are these counts at the end plus theirs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaCounts {
    /// Completed within every target of the SLA.
    pub met: u64,
    /// Completed late, dropped or refused.
    pub missed: u64,
}

/// A model's replicas at a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplicaCounts {
    /// Asked for and not draining (the scale's `spec.replicas`): what an answer's
    /// `delta` is added to.
    pub desired: u32,
    /// Serving.
    pub ready: u32,
    /// Not serving yet: `provisioning` + `loading`.
    pub starting: u32,
    /// Waiting for their node to boot.
    pub provisioning: u32,
    /// Loading weights.
    pub loading: u32,
    /// Finishing their requests before they go (not counted in `desired`).
    pub draining: u32,
}

/// The monitor's view of a model.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoredMetrics {
    /// Arrivals per second averaged over the monitor's window.
    pub arrival_rate: f64,
    /// Busy fraction of ready replicas averaged over the window (0–1).
    pub utilization: f64,
    /// Requests in flight (replicas and router queue) averaged over the window.
    pub in_flight: f64,
    /// The newest scrape the monitor reports.
    pub latest: Scrape,
}

/// One scrape of a model.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scrape {
    /// When, seconds (the tick's time less the monitor's lag).
    pub t_s: f64,
    /// Arrivals per second over the interval that ended then.
    pub arrival_rate: f64,
    /// Mean busy fraction of the ready replicas over that interval (0–1).
    pub utilization: f64,
    /// Requests in flight (replicas and router queue).
    pub in_flight: f64,
    /// Requests waiting at the router for a ready replica.
    pub router_queue: f64,
    /// Requests waiting for admission, in the replicas' queues and at the router
    /// (vLLM's `num_requests_waiting`, summed).
    pub waiting: f64,
    /// Share of the ready replicas' KV cache in use (0–1).
    pub kv_utilization: f64,
    /// Prefix-cache hit rate over the interval (blocks); `null` when no block was
    /// looked up.
    pub cache_hit_rate: Option<f64>,
    /// 99th percentile time to first token over the interval, seconds; `null` when
    /// no first token came.
    pub ttft_p99_s: Option<f64>,
    /// Output tokens per second over the interval.
    pub output_tokens_per_s: f64,
    /// Replicas asked for (not draining).
    pub desired: u32,
    /// Replicas ready.
    pub ready: u32,
}

/// A model's forecast.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForecastView {
    /// How far ahead `at_horizon_per_s` is, seconds (`policy.horizon` rounded up to
    /// whole intervals).
    pub horizon_s: f64,
    /// Forecast arrival rate at the horizon, per second.
    pub at_horizon_per_s: f64,
    /// The largest forecast from the next interval to the lead time (the node type's
    /// boot and the weight load) plus the horizon: what a sizing decider plans for.
    pub peak_per_s: Option<f64>,
}

/// What a fleet decider answers.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetAnswer {
    /// The protocol version the answer was written for; when given, it must be the
    /// view's (1).
    #[serde(default)]
    pub version: Option<u32>,
    /// The changes to make: models not named keep their replicas. Empty: change
    /// nothing.
    #[serde(default)]
    pub actions: Vec<FleetAction>,
}

/// One model's new replica count.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetAction {
    /// The model, by name; with `node_type`, the model of that name's group placed
    /// on that node type (the group's name and a node type name a variant).
    pub model: String,
    /// The node type, to name a variant through its group.
    #[serde(default)]
    pub node_type: Option<String>,
    /// The replicas wanted (0 to 100,000); exactly one of `replicas` and `delta`.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// Replicas to add to the model's `desired` (negative: remove); the result is
    /// held at 0 at least.
    #[serde(default)]
    pub delta: Option<i64>,
    /// Why, for the action log (`actions.parquet`); default `external`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A decider of the whole fleet: shown the view at every tick, it answers the
/// changes. An error ends the run with it.
pub trait FleetDecider: Send {
    /// The changes at this tick.
    fn decide(&mut self, view: &FleetView) -> Result<FleetAnswer, String>;

    /// What it is, for messages (e.g. "the external decider `python3 rule.py`").
    fn describe(&self) -> String;
}

/// What the loop knows of one controlled model at a tick, beside the cluster's view.
#[derive(Clone, Debug)]
pub struct Observed {
    /// The model's index.
    pub model: usize,
    /// The monitor's report, if it has one.
    pub metrics: Option<Metrics>,
    /// The forecast at the horizon and the peak over the lookahead.
    pub forecast: Option<(f64, Option<f64>)>,
}

/// `x`, or `None` where it is not a number (NaN marks "no signal").
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn scrape(s: &Snapshot) -> Scrape {
    Scrape {
        t_s: s.t_s,
        arrival_rate: s.arrival_rate,
        utilization: s.utilization,
        in_flight: s.in_flight,
        router_queue: s.router_queue,
        waiting: s.waiting,
        kv_utilization: s.kv_utilization,
        cache_hit_rate: finite(s.cache_hit_rate),
        ttft_p99_s: finite(s.ttft_p99_s),
        output_tokens_per_s: s.output_tokens_per_s,
        desired: s.desired,
        ready: s.ready,
    }
}

/// The view of the fleet at a tick: the cluster's view with what the loop observed
/// of each controlled model; `horizon_s` is how far ahead forecasts are.
pub fn fleet_view(view: &ClusterView, observed: &[Observed], horizon_s: f64) -> FleetView {
    let models = view
        .models
        .iter()
        .enumerate()
        .map(|(m, v)| {
            let seen = observed.iter().find(|o| o.model == m);
            FleetModel {
                name: v.name.clone(),
                node_type: v.node_type.clone(),
                group: view
                    .models
                    .get(v.group)
                    .map_or_else(|| v.name.clone(), |g| g.name.clone()),
                controlled: seen.is_some(),
                replicas: ReplicaCounts {
                    desired: v.desired,
                    ready: v.ready,
                    starting: v.provisioning + v.loading,
                    provisioning: v.provisioning,
                    loading: v.loading,
                    draining: v.draining,
                },
                cost_usd: v.cost_usd,
                sla: SlaCounts {
                    met: v.sla_met,
                    missed: v.sla_missed,
                },
                metrics: seen
                    .and_then(|o| o.metrics.as_ref())
                    .map(|m| MonitoredMetrics {
                        arrival_rate: m.arrival_rate,
                        utilization: m.utilization,
                        in_flight: m.in_flight,
                        latest: scrape(&m.latest),
                    }),
                forecast: seen
                    .and_then(|o| o.forecast)
                    .map(|(at, peak)| ForecastView {
                        horizon_s,
                        at_horizon_per_s: at,
                        peak_per_s: peak,
                    }),
            }
        })
        .collect();
    FleetView {
        version: PROTOCOL_VERSION,
        time_s: view.now.as_secs_f64(),
        interval_s: view.interval.as_secs_f64(),
        cost_usd: view.cost_usd,
        models,
    }
}

/// The cluster's actions for `answer`, checked against the view: every model named
/// exists, each once, with exactly one of a count or a delta. A model whose count does
/// not change is left out, unless the answer names another model of its group too
/// (capacity moving between node types: the executor needs every count of the move
/// to start the new replicas before it drains the old).
pub fn resolve(
    view: &ClusterView,
    observed: &[Observed],
    answer: &FleetAnswer,
) -> Result<Vec<ScaleAction>, String> {
    if let Some(v) = answer.version
        && v != PROTOCOL_VERSION
    {
        return Err(format!(
            "the answer is for protocol version {v}; this inferscale speaks version {PROTOCOL_VERSION}"
        ));
    }
    let names = || {
        view.models
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut wanted: Vec<(usize, u32, String)> = Vec::with_capacity(answer.actions.len());
    for action in &answer.actions {
        let named = view
            .models
            .iter()
            .position(|m| m.name == action.model)
            .ok_or_else(|| {
                format!(
                    "an action names the model `{}`; the models are {}",
                    action.model,
                    names()
                )
            })?;
        let model = match &action.node_type {
            None => named,
            Some(node_type) if view.models[named].node_type == *node_type => named,
            Some(node_type) => {
                let group = view.models[named].group;
                view.models
                    .iter()
                    .position(|m| m.group == group && m.node_type == *node_type)
                    .ok_or_else(|| {
                        let on: Vec<String> = view
                            .models
                            .iter()
                            .filter(|m| m.group == group)
                            .map(|m| format!("`{}` on `{}`", m.name, m.node_type))
                            .collect();
                        format!(
                            "an action names the model `{}` on the node type `{node_type}`; its group runs {}",
                            action.model,
                            on.join(", ")
                        )
                    })?
            }
        };
        let current = view.models[model].desired;
        let replicas = match (action.replicas, action.delta) {
            (Some(r), None) => r,
            (None, Some(d)) => {
                u32::try_from((i64::from(current) + d).max(0)).unwrap_or(MAX_REPLICAS + 1)
            }
            _ => {
                return Err(format!(
                    "the action for `{}` must give exactly one of `replicas` and `delta`",
                    view.models[model].name
                ));
            }
        };
        if replicas > MAX_REPLICAS {
            return Err(format!(
                "the action for `{}` asks for {replicas} replicas; at most {MAX_REPLICAS}",
                view.models[model].name
            ));
        }
        if wanted.iter().any(|w| w.0 == model) {
            return Err(format!(
                "the answer names `{}` twice",
                view.models[model].name
            ));
        }
        let reason = action.reason.clone().unwrap_or_else(|| "external".into());
        wanted.push((model, replicas, reason));
    }
    let group_size = |group: usize| {
        wanted
            .iter()
            .filter(|w| view.models[w.0].group == group)
            .count()
    };
    Ok(wanted
        .iter()
        .filter(|(model, replicas, _)| {
            group_size(view.models[*model].group) > 1 || *replicas != view.models[*model].desired
        })
        .map(|(model, replicas, reason)| ScaleAction {
            model: *model,
            replicas: *replicas,
            reason: reason.clone(),
            forecast_per_s: observed
                .iter()
                .find(|o| o.model == *model)
                .and_then(|o| o.forecast)
                .map(|f| f.0),
        })
        .collect())
}

/// The JSON Schema of both messages: `{"view": ..., "answer": ...}` under `$defs`,
/// what `docs/decider-protocol.schema.json` holds.
pub fn protocol_schema() -> serde_json::Value {
    #[derive(JsonSchema)]
    #[allow(dead_code)]
    /// The external decider protocol of inferscale: each tick the simulator writes a
    /// `FleetView` line and reads a `FleetAnswer` line.
    struct DeciderProtocol {
        view: FleetView,
        answer: FleetAnswer,
    }
    serde_json::to_value(schemars::schema_for!(DeciderProtocol)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use inferscale_cluster::ModelView;
    use inferscale_engine::{SimDuration, SimTime};

    use super::*;

    fn model(name: &str, node_type: &str, group: usize, desired: u32) -> ModelView {
        ModelView {
            name: name.into(),
            node_type: node_type.into(),
            group,
            cost_usd: 1.5,
            arrivals: 10,
            completions: 10,
            sla_met: 0,
            sla_missed: 0,
            desired,
            ready: desired,
            provisioning: 1,
            loading: 0,
            draining: 0,
            router_queue: 0,
            in_flight: 3,
            kv_utilization: 0.25,
            cache_hit_rate: f64::NAN,
            ttft_p99_s: f64::NAN,
            output_tokens_per_s: 100.0,
            replicas: Vec::new(),
        }
    }

    fn cluster() -> ClusterView {
        ClusterView {
            now: SimTime::from_secs(900),
            interval: SimDuration::from_secs(15),
            models: vec![
                model("chat", "gpu", 0, 2),
                model("chat-cpu", "cpu", 0, 1),
                model("embed", "gpu", 2, 1),
            ],
            cost_usd: 4.0,
        }
    }

    fn action(model: &str) -> FleetAction {
        FleetAction {
            model: model.into(),
            ..FleetAction::default()
        }
    }

    fn answer(actions: Vec<FleetAction>) -> FleetAnswer {
        FleetAnswer {
            version: None,
            actions,
        }
    }

    #[test]
    fn the_view_names_groups_and_turns_no_signal_into_null() {
        let v = fleet_view(
            &cluster(),
            &[Observed {
                model: 1,
                metrics: None,
                forecast: Some((3.0, None)),
            }],
            60.0,
        );
        assert_eq!(
            (v.version, v.time_s, v.interval_s, v.cost_usd),
            (1, 900.0, 15.0, 4.0)
        );
        assert_eq!(v.models[1].group, "chat");
        assert_eq!(v.models[2].group, "embed");
        assert_eq!(v.models[0].replicas.starting, 1);
        assert!(v.models[1].controlled && !v.models[0].controlled);
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["models"][0]["forecast"], serde_json::Value::Null);
        assert_eq!(json["models"][1]["forecast"]["at_horizon_per_s"], 3.0);
        assert_eq!(json["models"][1]["forecast"]["horizon_s"], 60.0);
    }

    #[test]
    fn counts_deltas_and_variants_resolve_to_actions() {
        let view = cluster();
        let a = resolve(
            &view,
            &[],
            &answer(vec![FleetAction {
                replicas: Some(4),
                reason: Some("busy".into()),
                ..action("embed")
            }]),
        )
        .unwrap();
        assert_eq!((a.len(), a[0].model, a[0].replicas), (1, 2, 4));
        assert_eq!(a[0].reason, "busy");
        // A delta below zero stops at zero; an unchanged count is left out.
        let a = resolve(
            &view,
            &[],
            &answer(vec![
                FleetAction {
                    delta: Some(-5),
                    ..action("embed")
                },
                FleetAction {
                    delta: Some(0),
                    ..action("chat")
                },
            ]),
        )
        .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].model, a[0].replicas, a[0].reason.as_str()),
            (2, 0, "external")
        );
        // The group's name and a node type name its variant; a move names both.
        let a = resolve(
            &view,
            &[],
            &answer(vec![
                FleetAction {
                    node_type: Some("cpu".into()),
                    replicas: Some(3),
                    ..action("chat")
                },
                FleetAction {
                    replicas: Some(2),
                    ..action("chat")
                },
            ]),
        )
        .unwrap();
        assert_eq!(
            a.iter().map(|a| (a.model, a.replicas)).collect::<Vec<_>>(),
            [(1, 3), (0, 2)]
        );
    }

    #[test]
    fn a_wrong_answer_is_an_error_that_says_what_is_accepted() {
        let view = cluster();
        let err =
            |actions, version| resolve(&view, &[], &FleetAnswer { version, actions }).unwrap_err();
        let e = err(
            vec![FleetAction {
                replicas: Some(1),
                ..action("chta")
            }],
            None,
        );
        assert!(
            e.contains("`chta`") && e.contains("chat, chat-cpu, embed"),
            "{e}"
        );
        let e = err(vec![action("chat")], None);
        assert!(e.contains("exactly one of `replicas` and `delta`"), "{e}");
        let e = err(
            vec![FleetAction {
                node_type: Some("tpu".into()),
                replicas: Some(1),
                ..action("chat")
            }],
            None,
        );
        assert!(e.contains("`chat-cpu` on `cpu`"), "{e}");
        let e = err(
            vec![FleetAction {
                replicas: Some(MAX_REPLICAS + 1),
                ..action("chat")
            }],
            None,
        );
        assert!(e.contains("at most"), "{e}");
        let twice = FleetAction {
            replicas: Some(1),
            ..action("chat")
        };
        let e = err(vec![twice.clone(), twice], None);
        assert!(e.contains("twice"), "{e}");
        let e = err(Vec::new(), Some(2));
        assert!(e.contains("version 2"), "{e}");
    }

    #[test]
    fn an_answer_with_an_unknown_field_does_not_parse() {
        assert!(serde_json::from_str::<FleetAnswer>(r#"{"actions": [], "extra": 1}"#).is_err());
        assert!(
            serde_json::from_str::<FleetAnswer>(r#"{"actions": [{"model": "a", "replica": 1}]}"#)
                .is_err()
        );
        let a: FleetAnswer =
            serde_json::from_str(r#"{"actions": [{"model": "a", "delta": -1}]}"#).unwrap();
        assert_eq!(a.actions[0].delta, Some(-1));
    }
}
