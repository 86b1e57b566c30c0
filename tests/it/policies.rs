//! Every case of `data/reference/policies_hpa.yaml` and `policies_kpa.yaml` (taken
//! from the Kubernetes and Knative unit tests) run against the built-in HPA and KPA.
//! The files are read at run time and every case is checked, so cases added later are
//! covered with no code change; a failure names the case.
//!
//! The harness reads every case kind and field that the files' conventions and
//! `POLICIES.md` describe — including those no case uses today (External and Object
//! metrics with a `Value` target, the scale-up limits, KPA specs that leave a field to
//! the test helper's default) — and fails loudly, naming the case, on a kind or a field
//! it does not know.

use inferscale::policy::hpa::{
    self, Behavior, ControllerConfig, Hpa, MetricObservation, MetricTarget, Pod, PodPhase,
    RatePolicy, RatePolicyKind, ReadyCondition, Recommendation, Sample, ScaleEvent, ScalingRules,
    SelectPolicy, Tolerance,
};
use inferscale::policy::kpa::{DeciderSpec, Kpa};
use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::support::reference_dir;

/// The clock of every HPA case ("now").
const NOW: f64 = 10_000.0;

#[derive(Deserialize)]
struct HpaFile {
    defaults: HpaDefaults,
    cases: Vec<HpaCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HpaDefaults {
    tolerance: TolYaml,
    test_cpu_initialization_period_s: f64,
    test_initial_readiness_delay_s: f64,
    test_scale_up_limit_factor: f64,
    scale_up_limit_minimum: f64,
    downscale_stabilization_window_s: f64,
    /// The API defaults `scale_up: default` stands for.
    default_scale_up_rules: RulesBody,
    /// The API defaults `scale_down: default` (or null) stands for.
    default_scale_down_rules: RulesBody,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct TolYaml {
    scale_down: f64,
    scale_up: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HpaCase {
    id: String,
    kind: String,
    /// Where the case comes from (not read).
    #[allow(dead_code)]
    source_test: Option<String>,
    /// The test's name in older releases (not read).
    #[allow(dead_code)]
    legacy_name: Option<String>,
    /// Why the expected value is what it is (not read).
    #[allow(dead_code)]
    note: Option<String>,
    /// Which upstream code path pins the behaviour (not read).
    #[allow(dead_code)]
    evidence: Option<String>,
    inputs: HpaInputs,
    expected: HpaExpected,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HpaInputs {
    current_replicas: Option<i64>,
    target_utilization_pct: Option<i64>,
    target_average_value_m: Option<i64>,
    target_value_m: Option<i64>,
    pods: Option<Vec<PodYaml>>,
    extra_metrics_m: Option<Vec<i64>>,
    tolerance: Option<TolYaml>,
    status_replicas: Option<i64>,
    metric_values_m: Option<Vec<i64>>,
    desired_replicas: Option<i64>,
    min_replicas: Option<i64>,
    max_replicas: Option<i64>,
    scale_up: Option<RulesYaml>,
    scale_down: Option<RulesYaml>,
    scale_up_events: Option<Vec<EventYaml>>,
    scale_down_events: Option<Vec<EventYaml>>,
    scale_up_window_s: Option<f64>,
    scale_down_window_s: Option<f64>,
    recommendations: Option<Vec<RecYaml>>,
    downscale_stabilization_window_s: Option<f64>,
    spec_replicas: Option<i64>,
    behavior: Option<BehaviorYaml>,
    metrics: Option<Vec<MetricYaml>>,
    scale_up_limit_factor: Option<f64>,
    scale_up_limit_minimum: Option<f64>,
    resource: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PodYaml {
    request_m: Option<i64>,
    usage_m: Option<i64>,
    value_m: Option<i64>,
    state: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RulesYaml {
    Default(String),
    Rules(RulesBody),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    select_policy: Option<String>,
    stabilization_window_s: Option<f64>,
    policies: Option<Vec<PolicyYaml>>,
    tolerance: Option<f64>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PolicyYaml {
    #[serde(rename = "type")]
    kind: String,
    value: i64,
    period_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventYaml {
    change: i64,
    age_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecYaml {
    value: i64,
    age_s: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviorYaml {
    scale_up: Option<RulesYaml>,
    scale_down: Option<RulesYaml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricYaml {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    target_utilization_pct: Option<i64>,
    target_average_value_m: Option<i64>,
    target_value_m: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HpaExpected {
    replicas: Option<i64>,
    scale_up_limit: Option<i64>,
    scale_down_limit: Option<i64>,
    desired_replicas: Option<i64>,
    utilization_pct: Option<i64>,
    raw_usage_m: Option<i64>,
    usage_m: Option<i64>,
    condition: Option<String>,
    stored_after: Option<Vec<i64>>,
    stored_count_after: Option<usize>,
}

/// `body` as scaling rules, each field it leaves out taken from `base`.
fn rules_from(body: &RulesBody, base: &ScalingRules, id: &str) -> ScalingRules {
    ScalingRules {
        stabilization_window_s: body.stabilization_window_s.or(base.stabilization_window_s),
        select: match body.select_policy.as_deref() {
            None => base.select,
            Some("Max") => SelectPolicy::Max,
            Some("Min") => SelectPolicy::Min,
            Some("Disabled") => SelectPolicy::Disabled,
            Some(other) => panic!("{id}: unknown selectPolicy `{other}` (Max, Min, Disabled)"),
        },
        policies: match &body.policies {
            None => base.policies.clone(),
            Some(ps) => ps
                .iter()
                .map(|p| RatePolicy {
                    kind: match p.kind.as_str() {
                        "Pods" => RatePolicyKind::Pods,
                        "Percent" => RatePolicyKind::Percent,
                        other => panic!("{id}: unknown policy type `{other}` (Pods, Percent)"),
                    },
                    value: p.value,
                    period_s: p.period_s,
                })
                .collect(),
        },
        tolerance: body.tolerance.or(base.tolerance),
    }
}

/// The API defaults of one direction, as the file's `defaults` state them.
fn default_rules(d: &HpaDefaults, up: bool) -> ScalingRules {
    if up {
        rules_from(
            &d.default_scale_up_rules,
            &ScalingRules::default_scale_up(),
            "defaults",
        )
    } else {
        rules_from(
            &d.default_scale_down_rules,
            &ScalingRules::default_scale_down(),
            "defaults",
        )
    }
}

/// A case's rules for one direction, through the scenario's own `behavior:` parser
/// (`policy_build::hpa_behavior`): the case's fields are written as a user writes
/// them in a scenario (`scaleUp: {selectPolicy, stabilizationWindowSeconds, policies:
/// [{type, value, periodSeconds}], tolerance}`), so the golden cases test the YAML path
/// and the API defaults it fills in. `default` (or absent, or null) leaves the
/// direction out, as a user who sets only the other one does.
fn rules(yaml: Option<&RulesYaml>, up: bool, id: &str) -> ScalingRules {
    let direction = if up { "scaleUp" } else { "scaleDown" };
    let text = match yaml {
        None => "{}".to_string(),
        Some(RulesYaml::Default(s)) => {
            assert_eq!(
                s, "default",
                "{id}: unknown rules `{s}` (`default` or a body)"
            );
            "{}".to_string()
        }
        Some(RulesYaml::Rules(b)) => format!("{{{direction}: {}}}", kubernetes_rules(b, id)),
    };
    let behavior = inferscale::scenario::policy_build::hpa_behavior(&text)
        .unwrap_or_else(|e| panic!("{id}: the scenario refuses `behavior: {text}`: {e}"));
    if up {
        behavior.scale_up
    } else {
        behavior.scale_down
    }
}

/// Whole seconds of `s`, as the Kubernetes fields take them; a case that needs a
/// fraction cannot be written in a scenario and fails loudly.
fn whole_seconds(s: f64, field: &str, id: &str) -> u64 {
    assert!(
        s >= 0.0 && s.fract() == 0.0,
        "{id}: `{field}` of {s} s is not whole seconds, which a scenario's `behavior:` needs"
    );
    s as u64
}

/// One direction's rules of a case in a scenario's `behavior:` syntax.
fn kubernetes_rules(b: &RulesBody, id: &str) -> String {
    let mut fields = Vec::new();
    if let Some(select) = &b.select_policy {
        fields.push(format!("selectPolicy: {select}"));
    }
    if let Some(w) = b.stabilization_window_s {
        fields.push(format!(
            "stabilizationWindowSeconds: {}",
            whole_seconds(w, "stabilization_window_s", id)
        ));
    }
    if let Some(policies) = &b.policies {
        let list: Vec<String> = policies
            .iter()
            .map(|p| {
                format!(
                    "{{type: {}, value: {}, periodSeconds: {}}}",
                    p.kind,
                    p.value,
                    whole_seconds(p.period_s, "period_s", id)
                )
            })
            .collect();
        fields.push(format!("policies: [{}]", list.join(", ")));
    }
    if let Some(t) = b.tolerance {
        fields.push(format!("tolerance: {t}"));
    }
    format!("{{{}}}", fields.join(", "))
}

/// A pod in the named state, as the conventions at the top of the file define them.
fn pod(p: &PodYaml, cpu_init_s: f64, id: &str) -> Pod {
    let value = p.usage_m.or(p.value_m);
    let sample = value.map(|v| Sample {
        value_m: v,
        timestamp_s: NOW,
        window_s: 60.0,
    });
    let long_ago = NOW - 10.0 * cpu_init_s;
    let (phase, deleting, start, ready) = match p.state.as_str() {
        "ready" => (PodPhase::Running, false, long_ago, (true, long_ago + 5.0)),
        "unready" => (PodPhase::Running, false, long_ago, (false, long_ago + 5.0)),
        // Inside the initialisation period, the sample taken less than a window after
        // becoming ready.
        "hot" => (PodPhase::Running, false, NOW - 60.0, (true, NOW - 30.0)),
        "pending" => (PodPhase::Pending, false, long_ago, (false, long_ago)),
        "failed" => (PodPhase::Failed, false, long_ago, (false, long_ago)),
        "deleting" => (PodPhase::Running, true, long_ago, (true, long_ago + 5.0)),
        other => panic!("{id}: unknown pod state `{other}`"),
    };
    Pod {
        phase,
        deleting,
        start_s: Some(start),
        ready: Some(ReadyCondition {
            ready: ready.0,
            last_transition_s: ready.1,
        }),
        request_m: p.request_m.unwrap_or(0),
        sample,
    }
}

fn history(recs: &[RecYaml]) -> Vec<Recommendation> {
    recs.iter()
        .map(|r| Recommendation {
            replicas: r.value,
            at_s: NOW - r.age_s,
        })
        .collect()
}

fn events(list: Option<&Vec<EventYaml>>) -> Vec<ScaleEvent> {
    list.map(|l| {
        l.iter()
            .map(|e| ScaleEvent {
                change: e.change,
                at_s: NOW - e.age_s,
                outdated: false,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// `value`, or a failure naming the case and the missing field.
fn required<T>(id: &str, value: Option<T>, name: &str) -> T {
    value.unwrap_or_else(|| panic!("{id}: no `{name}`"))
}

/// The names of the fields each case sets, from a second reading of the same text
/// (so no list of the structs' fields has to be kept by hand).
#[derive(Deserialize)]
struct HpaKeysFile {
    cases: Vec<CaseKeys>,
}

#[derive(Deserialize)]
struct CaseKeys {
    inputs: BTreeMap<String, IgnoredAny>,
    expected: BTreeMap<String, IgnoredAny>,
}

/// An HPA golden-case file, with the field names each case sets.
fn read_hpa(text: &str) -> Result<(HpaFile, Vec<CaseKeys>), String> {
    let file: HpaFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let keys: HpaKeysFile = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    Ok((file, keys.cases))
}

/// The input and expected fields each case kind reads; a case that sets another
/// would have it silently ignored, so it fails instead.
fn fields_of_kind(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match kind {
        "replica_calc_resource" => (
            &[
                "current_replicas",
                "target_utilization_pct",
                "pods",
                "extra_metrics_m",
                "tolerance",
                "resource",
            ],
            &["replicas", "utilization_pct", "raw_usage_m"],
        ),
        "replica_calc_pods_metric" => (
            &[
                "current_replicas",
                "target_average_value_m",
                "pods",
                "extra_metrics_m",
                "tolerance",
            ],
            &["replicas", "usage_m"],
        ),
        "replica_calc_external_average" | "replica_calc_object_average" => (
            &[
                "status_replicas",
                "target_average_value_m",
                "metric_values_m",
                "tolerance",
            ],
            &["replicas", "usage_m"],
        ),
        "replica_calc_external_value" | "replica_calc_object_value" => (
            &[
                "current_replicas",
                "target_value_m",
                "metric_values_m",
                "pods",
                "tolerance",
            ],
            &["replicas", "usage_m"],
        ),
        "behavior_rate_limit" => (
            &[
                "current_replicas",
                "desired_replicas",
                "min_replicas",
                "max_replicas",
                "scale_up",
                "scale_down",
                "scale_up_events",
                "scale_down_events",
            ],
            &["replicas", "condition"],
        ),
        "scale_up_limit" => (
            &[
                "current_replicas",
                "scale_up_limit_factor",
                "scale_up_limit_minimum",
                "scale_up",
                "scale_up_events",
                "scale_down_events",
                "desired_replicas",
                "min_replicas",
                "max_replicas",
            ],
            &["scale_up_limit", "replicas", "condition"],
        ),
        "scale_down_limit" => (
            &[
                "current_replicas",
                "scale_down",
                "scale_up_events",
                "scale_down_events",
            ],
            &["scale_down_limit", "replicas"],
        ),
        "stabilize_with_behavior" => (
            &[
                "current_replicas",
                "desired_replicas",
                "scale_up_window_s",
                "scale_down_window_s",
                "recommendations",
                "min_replicas",
                "max_replicas",
                "scale_up",
                "scale_down",
                "scale_up_events",
                "scale_down_events",
            ],
            &["replicas", "stored_after", "condition"],
        ),
        "stabilize_legacy" => (
            &[
                "desired_replicas",
                "downscale_stabilization_window_s",
                "recommendations",
                "current_replicas",
                "min_replicas",
                "max_replicas",
                "scale_up_limit_factor",
                "scale_up_limit_minimum",
            ],
            &["replicas", "stored_count_after", "condition"],
        ),
        "controller_reconcile" => (
            &[
                "min_replicas",
                "max_replicas",
                "spec_replicas",
                "current_replicas",
                "status_replicas",
                "behavior",
                "recommendations",
                "metrics",
                "pods",
                "extra_metrics_m",
                "metric_values_m",
                "scale_up_limit_factor",
                "tolerance",
            ],
            &["desired_replicas", "replicas", "condition"],
        ),
        _ => return None,
    })
}

fn check(id: &str, what: &str, got: Option<i64>, want: Option<i64>) {
    if let Some(w) = want {
        assert_eq!(got, Some(w), "{id}: {what}");
    }
}

fn run_hpa_case(case: &HpaCase, keys: &CaseKeys, d: &HpaDefaults) {
    let id = case.id.as_str();
    let i = &case.inputs;
    let e = &case.expected;
    let config = ControllerConfig {
        cpu_initialization_period_s: d.test_cpu_initialization_period_s,
        initial_readiness_delay_s: d.test_initial_readiness_delay_s,
        downscale_stabilization_s: d.downscale_stabilization_window_s,
        tolerance: Tolerance {
            scale_down: d.tolerance.scale_down,
            scale_up: d.tolerance.scale_up,
        },
        scale_up_limit_factor: i
            .scale_up_limit_factor
            .unwrap_or(d.test_scale_up_limit_factor),
        scale_up_limit_minimum: i.scale_up_limit_minimum.unwrap_or(d.scale_up_limit_minimum),
    };
    let tolerance = i.tolerance.map_or(config.tolerance, |t| Tolerance {
        scale_down: t.scale_down,
        scale_up: t.scale_up,
    });
    let pods = || -> Vec<Pod> {
        i.pods
            .as_ref()
            .map(|ps| {
                ps.iter()
                    .map(|p| pod(p, config.cpu_initialization_period_s, id))
                    .collect()
            })
            .unwrap_or_default()
    };
    let extra = i.extra_metrics_m.clone().unwrap_or_default();
    let need = |v: Option<i64>, name: &str| required(id, v, name);
    let Some((inputs, outputs)) = fields_of_kind(&case.kind) else {
        panic!("{id}: no runner for case kind `{}`", case.kind);
    };
    for field in keys.inputs.keys() {
        assert!(
            inputs.contains(&field.as_str()),
            "{id}: a `{}` case does not read the input `{field}` (it reads {inputs:?})",
            case.kind
        );
    }
    for field in keys.expected.keys() {
        assert!(
            outputs.contains(&field.as_str()),
            "{id}: a `{}` case does not check the expected `{field}` (it checks {outputs:?})",
            case.kind
        );
    }
    match case.kind.as_str() {
        "replica_calc_resource" => {
            let cpu = i.resource.as_deref().is_none_or(|r| r == "cpu");
            let p = hpa::resource_utilization_replicas(
                need(i.current_replicas, "current_replicas"),
                need(i.target_utilization_pct, "target_utilization_pct"),
                &pods(),
                &extra,
                cpu,
                NOW,
                tolerance,
                &config,
            )
            .unwrap_or_else(|| panic!("{id}: no proposal"));
            check(id, "replicas", Some(p.replicas), e.replicas);
            check(id, "utilization", Some(p.usage), e.utilization_pct);
            check(id, "raw usage", Some(p.raw_usage_m), e.raw_usage_m);
        }
        "replica_calc_pods_metric" => {
            let p = hpa::average_value_replicas(
                need(i.current_replicas, "current_replicas"),
                need(i.target_average_value_m, "target_average_value_m"),
                &pods(),
                &extra,
                NOW,
                tolerance,
                &config,
            )
            .unwrap_or_else(|| panic!("{id}: no proposal"));
            check(id, "replicas", Some(p.replicas), e.replicas);
            check(id, "usage", Some(p.usage), e.usage_m);
        }
        // External and Object metrics, AverageValue target (KEDA's default): the
        // usage over the scale's status replicas.
        "replica_calc_external_average" | "replica_calc_object_average" => {
            let p = hpa::external_average_replicas(
                need(i.status_replicas, "status_replicas"),
                need(i.target_average_value_m, "target_average_value_m"),
                &required(id, i.metric_values_m.clone(), "metric_values_m"),
                tolerance,
            );
            check(id, "replicas", Some(p.replicas), e.replicas);
            check(id, "usage", Some(p.usage), e.usage_m);
        }
        // External metrics (the sum of the samples) and Object metrics (the object's
        // value), Value target: the ratio times the Running and Ready pods, or
        // `current` when no pods are given.
        "replica_calc_external_value" | "replica_calc_object_value" => {
            let current = need(i.current_replicas, "current_replicas");
            let ready = pods()
                .iter()
                .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.ready))
                .count() as i64;
            let p = hpa::external_value_replicas(
                current,
                need(i.target_value_m, "target_value_m"),
                &required(id, i.metric_values_m.clone(), "metric_values_m"),
                if i.pods.is_some() { ready } else { current },
                tolerance,
            );
            check(id, "replicas", Some(p.replicas), e.replicas);
            check(id, "usage", Some(p.usage), e.usage_m);
        }
        // The scale-up limit: with `scale_up` rules, the behavior path's
        // (`calculateScaleUpLimitWithScalingRules`, given the recent events); without,
        // the legacy `max(factor · current, minimum)`. With a desired count as well,
        // the legacy clamp `convertDesiredReplicasWithRules` and its condition.
        "scale_up_limit" => {
            let current = need(i.current_replicas, "current_replicas");
            let limit = match &i.scale_up {
                Some(_) => hpa::scale_up_limit_with_rules(
                    current,
                    &rules(i.scale_up.as_ref(), true, id),
                    &events(i.scale_up_events.as_ref()),
                    &events(i.scale_down_events.as_ref()),
                    NOW,
                ),
                None => hpa::scale_up_limit_legacy(current, &config),
            };
            check(id, "scale-up limit", Some(limit), e.scale_up_limit);
            match i.desired_replicas {
                Some(desired) => {
                    assert!(
                        i.scale_up.is_none(),
                        "{id}: a desired count is clamped by the legacy rules only"
                    );
                    let (replicas, condition) = hpa::rate_limit_legacy(
                        current,
                        desired,
                        i.min_replicas.unwrap_or(1),
                        need(i.max_replicas, "max_replicas"),
                        &config,
                    );
                    check(id, "replicas", Some(replicas), e.replicas);
                    if let Some(c) = &e.condition {
                        assert_eq!(condition.name(), c, "{id}: condition");
                    }
                }
                None => check(id, "scale-up limit", Some(limit), e.replicas),
            }
        }
        // The behavior path's scale-down limit
        // (`calculateScaleDownLimitWithBehaviors`).
        "scale_down_limit" => {
            let current = need(i.current_replicas, "current_replicas");
            let limit = hpa::scale_down_limit_with_rules(
                current,
                &rules(i.scale_down.as_ref(), false, id),
                &events(i.scale_up_events.as_ref()),
                &events(i.scale_down_events.as_ref()),
                NOW,
            );
            check(id, "scale-down limit", Some(limit), e.scale_down_limit);
            check(id, "scale-down limit", Some(limit), e.replicas);
        }
        "behavior_rate_limit" => {
            let behavior = Behavior {
                scale_up: rules(i.scale_up.as_ref(), true, id),
                scale_down: rules(i.scale_down.as_ref(), false, id),
            };
            let (replicas, condition) = hpa::rate_limit_with_behavior(
                need(i.current_replicas, "current_replicas"),
                need(i.desired_replicas, "desired_replicas"),
                need(i.min_replicas, "min_replicas"),
                need(i.max_replicas, "max_replicas"),
                &behavior,
                &events(i.scale_up_events.as_ref()),
                &events(i.scale_down_events.as_ref()),
                NOW,
            );
            check(id, "replicas", Some(replicas), e.replicas);
            if let Some(c) = &e.condition {
                assert_eq!(condition.name(), c, "{id}: condition");
            }
        }
        // `stabilizeRecommendationWithBehaviors`; with `min_replicas` and
        // `max_replicas` as well, the whole `normalizeDesiredReplicasWithBehaviors`
        // (then the rate limit of the rules, given the recent events).
        "stabilize_with_behavior" => {
            let current = need(i.current_replicas, "current_replicas");
            let mut h = history(i.recommendations.as_deref().unwrap_or_default());
            let stab = hpa::stabilize_with_behavior(
                current,
                need(i.desired_replicas, "desired_replicas"),
                i.scale_up_window_s.unwrap_or(0.0),
                i.scale_down_window_s
                    .unwrap_or(d.downscale_stabilization_window_s),
                &mut h,
                NOW,
            );
            if let Some(after) = &e.stored_after {
                let got: Vec<i64> = h.iter().map(|r| r.replicas).collect();
                assert_eq!(&got, after, "{id}: stored recommendations");
            }
            match (i.min_replicas, i.max_replicas) {
                (None, None) => check(id, "replicas", Some(stab), e.replicas),
                (min, max) => {
                    let behavior = Behavior {
                        scale_up: rules(i.scale_up.as_ref(), true, id),
                        scale_down: rules(i.scale_down.as_ref(), false, id),
                    };
                    let (replicas, condition) = hpa::rate_limit_with_behavior(
                        current,
                        stab,
                        min.unwrap_or(1),
                        need(max, "max_replicas"),
                        &behavior,
                        &events(i.scale_up_events.as_ref()),
                        &events(i.scale_down_events.as_ref()),
                        NOW,
                    );
                    check(id, "replicas", Some(replicas), e.replicas);
                    if let Some(c) = &e.condition {
                        assert_eq!(condition.name(), c, "{id}: condition");
                    }
                }
            }
        }
        // `stabilizeRecommendation`; with `current_replicas` and the bounds as well,
        // the whole `normalizeDesiredReplicas` (then the legacy clamp).
        "stabilize_legacy" => {
            let mut h = history(i.recommendations.as_deref().unwrap_or_default());
            let stab = hpa::stabilize_legacy(
                need(i.desired_replicas, "desired_replicas"),
                i.downscale_stabilization_window_s
                    .unwrap_or(d.downscale_stabilization_window_s),
                &mut h,
                NOW,
            );
            if let Some(n) = e.stored_count_after {
                assert_eq!(h.len(), n, "{id}: stored count");
            }
            match i.current_replicas {
                None => check(id, "replicas", Some(stab), e.replicas),
                Some(current) => {
                    let (replicas, condition) = hpa::rate_limit_legacy(
                        current,
                        stab,
                        i.min_replicas.unwrap_or(1),
                        need(i.max_replicas, "max_replicas"),
                        &config,
                    );
                    check(id, "replicas", Some(replicas), e.replicas);
                    if let Some(c) = &e.condition {
                        assert_eq!(condition.name(), c, "{id}: condition");
                    }
                }
            }
        }
        "controller_reconcile" => {
            let behavior = i.behavior.as_ref().map(|b| Behavior {
                scale_up: rules(b.scale_up.as_ref(), true, id),
                scale_down: rules(b.scale_down.as_ref(), false, id),
            });
            let metrics: Vec<MetricTarget> = i
                .metrics
                .as_ref()
                .unwrap_or_else(|| panic!("{id}: no metrics"))
                .iter()
                .map(|m| {
                    match (
                        m.kind.as_str(),
                        m.target_utilization_pct,
                        m.target_average_value_m,
                        m.target_value_m,
                    ) {
                        ("Resource", Some(pct), None, None) => MetricTarget::ResourceUtilization {
                            cpu: m.name.as_deref() == Some("cpu"),
                            target_pct: pct,
                        },
                        ("Resource" | "Pods", None, Some(avg), None) => {
                            MetricTarget::AverageValue { target_m: avg }
                        }
                        ("External" | "Object", None, None, Some(v)) => {
                            MetricTarget::ExternalValue { target_m: v }
                        }
                        ("External" | "Object", None, Some(avg), None) => {
                            MetricTarget::ExternalAverageValue { target_m: avg }
                        }
                        (kind, ..) => panic!("{id}: unsupported metric {kind}"),
                    }
                })
                .collect();
            let mut h = Hpa::new(
                i.min_replicas.unwrap_or(1),
                need(i.max_replicas, "max_replicas"),
                metrics,
                behavior,
            );
            h.config = config;
            h.recommendations = i.recommendations.as_deref().map(history);
            let pods = pods();
            let ready = pods
                .iter()
                .filter(|p| p.phase == PodPhase::Running && p.ready.is_some_and(|r| r.ready))
                .count() as i64;
            let observations: Vec<MetricObservation> = h
                .metrics
                .iter()
                .map(|m| match m {
                    MetricTarget::ExternalValue { .. }
                    | MetricTarget::ExternalAverageValue { .. } => {
                        MetricObservation::Values(i.metric_values_m.clone().unwrap_or_default())
                    }
                    _ => MetricObservation::PerPod {
                        pods: pods.clone(),
                        extra_m: extra.clone(),
                    },
                })
                .collect();
            let spec = need(i.spec_replicas.or(i.current_replicas), "spec_replicas");
            let out = h.reconcile(
                NOW,
                spec,
                i.status_replicas.unwrap_or(spec),
                ready,
                &observations,
            );
            check(
                id,
                "desired replicas",
                out.desired,
                e.desired_replicas.or(e.replicas),
            );
            if let Some(c) = &e.condition {
                assert_eq!(out.condition.name(), c, "{id}: condition");
            }
        }
        other => unreachable!("{id}: `{other}` has fields but no runner"),
    }
}

#[test]
fn every_hpa_case_gets_the_kubernetes_result() {
    let path = reference_dir().join("policies_hpa.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (file, keys) = read_hpa(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(file.cases.len() >= 20, "{} cases", file.cases.len());
    for (case, keys) in file.cases.iter().zip(&keys) {
        run_hpa_case(case, keys, &file.defaults);
    }
    eprintln!("{} HPA cases passed", file.cases.len());
}

#[derive(Deserialize)]
struct KpaFile {
    cases: Vec<KpaCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpaCase {
    id: String,
    /// Where the case comes from (not read).
    #[allow(dead_code)]
    source_test: Option<String>,
    /// Why the expected value is what it is (not read).
    #[allow(dead_code)]
    note: Option<String>,
    /// Which upstream code path pins the behaviour (not read).
    #[allow(dead_code)]
    evidence: Option<String>,
    spec: KpaSpecYaml,
    created_with_ready_pods: i64,
    initial_state: Option<KpaState>,
    steps: Vec<KpaStep>,
}

/// A `DeciderSpec`. The file's conventions give the test helper's value
/// (`newTestAutoscaler`) for every field but the target and the burst capacity, which
/// the helper takes as arguments; a case may leave those others out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpaSpecYaml {
    scaling_metric: Option<String>,
    target_value: Option<f64>,
    total_value: Option<f64>,
    target_burst_capacity: Option<f64>,
    panic_threshold: Option<f64>,
    max_scale_up_rate: Option<f64>,
    max_scale_down_rate: Option<f64>,
    activator_capacity: Option<f64>,
    stable_window_s: Option<f64>,
    scale_down_delay_s: Option<f64>,
    reachable: Option<bool>,
    activation_scale: Option<i64>,
}

/// The helper's `TotalValue = TargetValue / targetUtilization` (0.75).
const KPA_TEST_TARGET_UTILIZATION: f64 = 0.75;

impl KpaSpecYaml {
    /// The spec, with the test helper's defaults for what the case leaves out.
    fn spec(&self, id: &str) -> DeciderSpec {
        let metric = self.scaling_metric.as_deref().unwrap_or("concurrency");
        assert!(
            matches!(metric, "concurrency" | "rps"),
            "{id}: unknown scaling_metric `{metric}` (concurrency, rps)"
        );
        let target_value = required(id, self.target_value, "spec.target_value");
        DeciderSpec {
            target_value,
            total_value: self
                .total_value
                .unwrap_or(target_value / KPA_TEST_TARGET_UTILIZATION),
            target_burst_capacity: required(
                id,
                self.target_burst_capacity,
                "spec.target_burst_capacity",
            ),
            panic_threshold: self.panic_threshold.unwrap_or(2.0),
            max_scale_up_rate: self.max_scale_up_rate.unwrap_or(10.0),
            max_scale_down_rate: self.max_scale_down_rate.unwrap_or(10.0),
            activator_capacity: self.activator_capacity.unwrap_or(150.0),
            stable_window_s: self.stable_window_s.unwrap_or(60.0),
            scale_down_delay_s: self.scale_down_delay_s.unwrap_or(0.0),
            reachable: self.reachable.unwrap_or(true),
            // The helper leaves it unset: Go's zero value (0 and 1 behave alike).
            activation_scale: self.activation_scale.unwrap_or(0),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpaState {
    panic_time_s: Option<f64>,
    max_panic_pods: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpaStep {
    t_s: f64,
    ready_pods: i64,
    stable: f64,
    panic: f64,
    expect: KpaExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpaExpect {
    desired: i64,
    ebc: i64,
    valid: bool,
}

#[test]
fn every_kpa_case_gets_the_knative_result() {
    let path = reference_dir().join("policies_kpa.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: KpaFile =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(file.cases.len() >= 10, "{} cases", file.cases.len());
    run_kpa_cases(&file);
    eprintln!("{} KPA cases passed", file.cases.len());
}

/// Every case of `file`, steps in order on one decider per case.
fn run_kpa_cases(file: &KpaFile) {
    for case in &file.cases {
        let spec = case.spec.spec(&case.id);
        let t0 = case.steps.first().map_or(0.0, |st| st.t_s);
        let mut kpa = Kpa::new(spec, case.created_with_ready_pods, t0);
        if let Some(state) = &case.initial_state {
            kpa.panic_time_s = state.panic_time_s.map(|t| t0 + t);
            kpa.max_panic_pods = state.max_panic_pods;
        }
        for (n, step) in case.steps.iter().enumerate() {
            let got = kpa.scale(step.t_s, step.ready_pods, step.stable, step.panic);
            let want = (step.expect.desired, step.expect.ebc, step.expect.valid);
            assert_eq!(
                (got.desired, got.excess_burst_capacity, got.valid),
                want,
                "{} step {n}",
                case.id
            );
        }
    }
}

/// The `defaults` of `policies_hpa.yaml`, for the harness's own cases below.
const HPA_DEFAULTS: &str = "defaults:
  tolerance: {scale_down: 0.1, scale_up: 0.1}
  test_cpu_initialization_period_s: 120
  test_initial_readiness_delay_s: 10
  test_scale_up_limit_factor: 8
  scale_up_limit_minimum: 4
  downscale_stabilization_window_s: 300
  default_scale_up_rules:   {stabilization_window_s: 0,   select_policy: Max, policies: [{type: Pods, value: 4, period_s: 15}, {type: Percent, value: 100, period_s: 15}]}
  default_scale_down_rules: {stabilization_window_s: 300, select_policy: Max, policies: [{type: Percent, value: 100, period_s: 15}]}
";

/// Runs HPA cases written in the file's format (after the shared defaults); returns
/// the panic message of the first failure, if any.
fn run_hpa_text(cases: &str) -> Result<(), String> {
    let text = format!("{HPA_DEFAULTS}cases:\n{cases}");
    let (file, keys) = read_hpa(&text)?;
    std::panic::catch_unwind(|| {
        for (case, keys) in file.cases.iter().zip(&keys) {
            run_hpa_case(case, keys, &file.defaults);
        }
    })
    .map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// Case kinds and fields that the conventions and POLICIES.md describe but no case of
/// today's file uses, with expected values worked out by hand from POLICIES.md §1.4,
/// §1.6 and §1.7.
#[test]
fn hpa_harness_reads_every_described_kind_and_field() {
    // External, Value target: usage = Σ samples = 4000 m, ratio 4 → ceil(4 · 3).
    // Object, Value target: the object's value 500 m against 1000 m, within nothing:
    // ratio 0.5 → ceil(0.5 · 2 ready pods) = 1 (the third pod is pending).
    // Legacy limit: max(8 · 3, 4) = 24, then a desired 30 is clamped to it; with
    // max 20 the clamp is TooManyReplicas; from 0 replicas the minimum 4 holds.
    // Behavior limit: Min of (1 + 2, ceil(1 · 1.5)) = 2.
    // Scale-down limit: Max policy → the lowest of (10 − 3, trunc(10 · 0.5)) = 5.
    // Legacy normalization: nothing older holds the 40, and the clamp allows
    // max(8 · 2, 4) = 16. With behavior: 10 → 2 limited to 10 − 3 = 7 a minute.
    let cases = "
  - {id: ext-value, kind: replica_calc_external_value, inputs: {current_replicas: 3, target_value_m: 1000, metric_values_m: [2500, 1500]}, expected: {replicas: 12, usage_m: 4000}}
  - id: obj-value
    kind: replica_calc_object_value
    inputs:
      current_replicas: 3
      target_value_m: 1000
      metric_values_m: [500]
      pods: [{state: ready}, {state: ready}, {state: pending}]
    expected: {replicas: 1, usage_m: 500}
  - {id: ext-avg, kind: replica_calc_object_average, inputs: {status_replicas: 5, target_average_value_m: 2867, metric_values_m: [8600]}, expected: {replicas: 3, usage_m: 1720}}
  - {id: legacy-limit, kind: scale_up_limit, inputs: {current_replicas: 3}, expected: {scale_up_limit: 24}}
  - {id: legacy-limit-2, kind: scale_up_limit, inputs: {current_replicas: 0, scale_up_limit_factor: 2}, expected: {replicas: 4}}
  - {id: legacy-clamp, kind: scale_up_limit, inputs: {current_replicas: 3, desired_replicas: 30, min_replicas: 1, max_replicas: 100}, expected: {scale_up_limit: 24, replicas: 24, condition: ScaleUpLimit}}
  - {id: legacy-clamp-max, kind: scale_up_limit, inputs: {current_replicas: 3, desired_replicas: 30, min_replicas: 1, max_replicas: 20}, expected: {replicas: 20, condition: TooManyReplicas}}
  - id: rules-limit
    kind: scale_up_limit
    inputs:
      current_replicas: 1
      scale_up: {select_policy: Min, stabilization_window_s: 300, policies: [{type: Pods, value: 2, period_s: 60}, {type: Percent, value: 50, period_s: 60}]}
      scale_up_events: []
      scale_down_events: []
    expected: {scale_up_limit: 2}
  - id: down-limit
    kind: scale_down_limit
    inputs:
      current_replicas: 10
      scale_down: {policies: [{type: Pods, value: 3, period_s: 60}, {type: Percent, value: 50, period_s: 60}]}
    expected: {scale_down_limit: 5}
  - id: normalize-legacy
    kind: stabilize_legacy
    inputs:
      current_replicas: 2
      desired_replicas: 40
      min_replicas: 1
      max_replicas: 100
      recommendations: [{value: 3, age_s: 60}]
    expected: {replicas: 16, condition: ScaleUpLimit}
  - id: normalize-behavior
    kind: stabilize_with_behavior
    inputs:
      current_replicas: 10
      desired_replicas: 2
      scale_up_window_s: 0
      scale_down_window_s: 0
      recommendations: []
      min_replicas: 1
      max_replicas: 100
      scale_down: {policies: [{type: Pods, value: 3, period_s: 60}]}
    expected: {replicas: 7, condition: ScaleDownLimit}
  - id: ctl-external-value
    kind: controller_reconcile
    inputs:
      min_replicas: 1
      max_replicas: 100
      spec_replicas: 2
      behavior: null
      recommendations: []
      metrics: [{type: External, name: queue, target_value_m: 1000}]
      metric_values_m: [6000]
      pods: [{state: ready}, {state: ready}]
    expected: {desired_replicas: 12, condition: DesiredWithinRange}
";
    run_hpa_text(cases).unwrap();
    // A wrong expectation in such a case fails, so the checks above are real.
    let wrong = cases.replace("scale_up_limit: 24}", "scale_up_limit: 25}");
    let err = run_hpa_text(&wrong).unwrap_err();
    assert!(err.contains("legacy-limit"), "{err}");
}

#[test]
fn hpa_harness_fails_loudly_on_what_it_does_not_know() {
    let unknown_kind =
        "  - {id: k1, kind: replica_calc_quantum, inputs: {}, expected: {replicas: 1}}\n";
    let err = run_hpa_text(unknown_kind).unwrap_err();
    assert!(
        err.contains("k1") && err.contains("replica_calc_quantum"),
        "{err}"
    );

    let unknown_input = "  - {id: k2, kind: scale_up_limit, inputs: {current_replicas: 3, warp: 9}, expected: {replicas: 24}}\n";
    let err = run_hpa_text(unknown_input).unwrap_err();
    assert!(err.contains("warp"), "{err}");

    let unknown_case_field = "  - {id: k3, kind: scale_up_limit, flavour: x, inputs: {current_replicas: 3}, expected: {replicas: 24}}\n";
    let err = run_hpa_text(unknown_case_field).unwrap_err();
    assert!(err.contains("flavour"), "{err}");

    // A field the struct knows but the kind does not read would be ignored: it fails.
    let unread_input = "  - {id: k4, kind: scale_up_limit, inputs: {current_replicas: 3, pods: []}, expected: {replicas: 24}}\n";
    let err = run_hpa_text(unread_input).unwrap_err();
    assert!(err.contains("k4") && err.contains("pods"), "{err}");
    let unread_expected = "  - {id: k5, kind: scale_up_limit, inputs: {current_replicas: 3}, expected: {usage_m: 1}}\n";
    let err = run_hpa_text(unread_expected).unwrap_err();
    assert!(err.contains("k5") && err.contains("usage_m"), "{err}");

    let missing = "  - {id: k6, kind: replica_calc_external_value, inputs: {current_replicas: 3, metric_values_m: [1]}, expected: {replicas: 3}}\n";
    let err = run_hpa_text(missing).unwrap_err();
    assert!(
        err.contains("k6") && err.contains("target_value_m"),
        "{err}"
    );
}

/// The file's default rules are the API defaults the built-in HPA applies.
#[test]
fn hpa_default_rules_are_the_built_in_ones() {
    let file: HpaFile = serde_saphyr::from_str(&format!("{HPA_DEFAULTS}cases: []\n")).unwrap();
    assert_eq!(
        default_rules(&file.defaults, true),
        ScalingRules::default_scale_up()
    );
    let down = default_rules(&file.defaults, false);
    // The built-in leaves the window to the controller flag, which is 300 s.
    assert_eq!(down.stabilization_window_s, Some(300.0));
    assert_eq!(
        ScalingRules {
            stabilization_window_s: None,
            ..down
        },
        ScalingRules::default_scale_down()
    );
}

/// A KPA spec that leaves fields to the test helper gets the helper's values: the
/// same results as the spelled-out spec of kpa-03 (desired 5; EBC
/// floor(1 · 13.33 − 100 − 50) = −137).
#[test]
fn kpa_spec_defaults_are_the_test_helpers() {
    let case = |spec: &str| {
        format!(
            "cases:\n  - id: kpa-defaults\n    spec: {spec}\n    created_with_ready_pods: 1\n    steps:\n      - {{t_s: 0, ready_pods: 1, stable: 50.0, panic: 50.0, expect: {{desired: 5, ebc: -137, valid: true}}}}\n"
        )
    };
    let short: KpaFile =
        serde_saphyr::from_str(&case("{target_value: 10, target_burst_capacity: 100}")).unwrap();
    let full: KpaFile = serde_saphyr::from_str(&case(
        "{scaling_metric: concurrency, target_value: 10, total_value: 13.333333333333334, target_burst_capacity: 100, panic_threshold: 2.0, max_scale_up_rate: 10, max_scale_down_rate: 10, activator_capacity: 150, stable_window_s: 60, scale_down_delay_s: 0, reachable: true, activation_scale: 0}",
    ))
    .unwrap();
    let (a, b) = (
        short.cases[0].spec.spec("short"),
        full.cases[0].spec.spec("full"),
    );
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    run_kpa_cases(&short);
    let unknown: Result<KpaFile, _> = serde_saphyr::from_str(&case(
        "{target_value: 10, target_burst_capacity: 100, warp: 1}",
    ));
    assert!(unknown.is_err_and(|e| e.to_string().contains("warp")));
    let missing: KpaFile = serde_saphyr::from_str(&case("{target_value: 10}")).unwrap();
    let err = std::panic::catch_unwind(|| missing.cases[0].spec.spec("kpa-defaults")).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg.contains("kpa-defaults") && msg.contains("target_burst_capacity"),
        "{msg}"
    );
}
