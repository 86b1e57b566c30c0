//! Every case of `data/reference/policies_hpa.yaml` and `policies_kpa.yaml` (taken
//! from the Kubernetes and Knative unit tests) run against the built-in HPA and KPA.
//! The files are read at run time and every case is checked, so cases added later are
//! covered with no code change; a failure names the case.

use inferscale::policy::hpa::{
    self, Behavior, ControllerConfig, Hpa, MetricObservation, MetricTarget, Pod, PodPhase,
    RatePolicy, RatePolicyKind, ReadyCondition, Recommendation, Sample, ScaleEvent, ScalingRules,
    SelectPolicy, Tolerance,
};
use inferscale::policy::kpa::{DeciderSpec, Kpa};
use serde::Deserialize;

use crate::support::reference_dir;

/// The clock of every HPA case ("now").
const NOW: f64 = 10_000.0;

#[derive(Deserialize)]
struct HpaFile {
    defaults: HpaDefaults,
    cases: Vec<HpaCase>,
}

#[derive(Deserialize)]
struct HpaDefaults {
    tolerance: TolYaml,
    test_cpu_initialization_period_s: f64,
    test_initial_readiness_delay_s: f64,
    test_scale_up_limit_factor: f64,
    scale_up_limit_minimum: f64,
    downscale_stabilization_window_s: f64,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
struct TolYaml {
    scale_down: f64,
    scale_up: f64,
}

#[derive(Deserialize)]
struct HpaCase {
    id: String,
    kind: String,
    inputs: HpaInputs,
    expected: HpaExpected,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct HpaInputs {
    current_replicas: Option<i64>,
    target_utilization_pct: Option<i64>,
    target_average_value_m: Option<i64>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    select_policy: Option<String>,
    stabilization_window_s: Option<f64>,
    policies: Option<Vec<PolicyYaml>>,
    tolerance: Option<f64>,
}

#[derive(Deserialize)]
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
    desired_replicas: Option<i64>,
    utilization_pct: Option<i64>,
    raw_usage_m: Option<i64>,
    usage_m: Option<i64>,
    condition: Option<String>,
    stored_after: Option<Vec<i64>>,
    stored_count_after: Option<usize>,
}

fn rules(yaml: Option<&RulesYaml>, up: bool, id: &str) -> ScalingRules {
    let default = if up {
        ScalingRules::default_scale_up()
    } else {
        ScalingRules::default_scale_down()
    };
    match yaml {
        None => default,
        Some(RulesYaml::Default(s)) => {
            assert_eq!(s, "default", "{id}: unknown rules `{s}`");
            default
        }
        Some(RulesYaml::Rules(b)) => ScalingRules {
            stabilization_window_s: b.stabilization_window_s.or(default.stabilization_window_s),
            select: match b.select_policy.as_deref() {
                None | Some("Max") => SelectPolicy::Max,
                Some("Min") => SelectPolicy::Min,
                Some("Disabled") => SelectPolicy::Disabled,
                Some(other) => panic!("{id}: unknown selectPolicy {other}"),
            },
            policies: match &b.policies {
                None => default.policies,
                Some(ps) => ps
                    .iter()
                    .map(|p| RatePolicy {
                        kind: match p.kind.as_str() {
                            "Pods" => RatePolicyKind::Pods,
                            "Percent" => RatePolicyKind::Percent,
                            other => panic!("{id}: unknown policy type {other}"),
                        },
                        value: p.value,
                        period_s: p.period_s,
                    })
                    .collect(),
            },
            tolerance: b.tolerance,
        },
    }
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

fn check(id: &str, what: &str, got: Option<i64>, want: Option<i64>) {
    if let Some(w) = want {
        assert_eq!(got, Some(w), "{id}: {what}");
    }
}

fn run_hpa_case(case: &HpaCase, d: &HpaDefaults) {
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
        scale_up_limit_minimum: d.scale_up_limit_minimum,
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
    let need = |v: Option<i64>, name: &str| v.unwrap_or_else(|| panic!("{id}: no `{name}`"));
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
        "replica_calc_external_average" => {
            let p = hpa::external_average_replicas(
                need(i.status_replicas, "status_replicas"),
                need(i.target_average_value_m, "target_average_value_m"),
                i.metric_values_m.as_deref().unwrap_or_default(),
                tolerance,
            );
            check(id, "replicas", Some(p.replicas), e.replicas);
            check(id, "usage", Some(p.usage), e.usage_m);
        }
        "replica_calc_external_value" => {
            let current = need(i.current_replicas, "current_replicas");
            let ready = pods()
                .iter()
                .filter(|p| p.phase == PodPhase::Running)
                .count() as i64;
            let p = hpa::external_value_replicas(
                current,
                need(
                    i.target_average_value_m.or(i.target_utilization_pct),
                    "target",
                ),
                i.metric_values_m.as_deref().unwrap_or_default(),
                if i.pods.is_some() { ready } else { current },
                tolerance,
            );
            check(id, "replicas", Some(p.replicas), e.replicas);
            check(id, "usage", Some(p.usage), e.usage_m);
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
        "stabilize_with_behavior" => {
            let mut h = history(i.recommendations.as_deref().unwrap_or_default());
            let stab = hpa::stabilize_with_behavior(
                need(i.current_replicas, "current_replicas"),
                need(i.desired_replicas, "desired_replicas"),
                i.scale_up_window_s.unwrap_or(0.0),
                i.scale_down_window_s
                    .unwrap_or(d.downscale_stabilization_window_s),
                &mut h,
                NOW,
            );
            check(id, "replicas", Some(stab), e.replicas);
            if let Some(after) = &e.stored_after {
                let got: Vec<i64> = h.iter().map(|r| r.replicas).collect();
                assert_eq!(&got, after, "{id}: stored recommendations");
            }
        }
        "stabilize_legacy" => {
            let mut h = history(i.recommendations.as_deref().unwrap_or_default());
            let stab = hpa::stabilize_legacy(
                need(i.desired_replicas, "desired_replicas"),
                i.downscale_stabilization_window_s
                    .unwrap_or(d.downscale_stabilization_window_s),
                &mut h,
                NOW,
            );
            check(id, "replicas", Some(stab), e.replicas);
            if let Some(n) = e.stored_count_after {
                assert_eq!(h.len(), n, "{id}: stored count");
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
        other => panic!("{id}: no runner for case kind `{other}`"),
    }
}

#[test]
fn every_hpa_case_gets_the_kubernetes_result() {
    let path = reference_dir().join("policies_hpa.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: HpaFile =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(file.cases.len() >= 20, "{} cases", file.cases.len());
    for case in &file.cases {
        run_hpa_case(case, &file.defaults);
    }
    eprintln!("{} HPA cases passed", file.cases.len());
}

#[derive(Deserialize)]
struct KpaFile {
    cases: Vec<KpaCase>,
}

#[derive(Deserialize)]
struct KpaCase {
    id: String,
    spec: KpaSpecYaml,
    created_with_ready_pods: i64,
    initial_state: Option<KpaState>,
    steps: Vec<KpaStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KpaSpecYaml {
    scaling_metric: String,
    target_value: f64,
    total_value: f64,
    target_burst_capacity: f64,
    panic_threshold: f64,
    max_scale_up_rate: f64,
    max_scale_down_rate: f64,
    activator_capacity: f64,
    stable_window_s: f64,
    scale_down_delay_s: f64,
    reachable: bool,
    activation_scale: i64,
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
    for case in &file.cases {
        let s = &case.spec;
        assert!(
            matches!(s.scaling_metric.as_str(), "concurrency" | "rps"),
            "{}: metric {}",
            case.id,
            s.scaling_metric
        );
        let spec = DeciderSpec {
            target_value: s.target_value,
            total_value: s.total_value,
            target_burst_capacity: s.target_burst_capacity,
            panic_threshold: s.panic_threshold,
            max_scale_up_rate: s.max_scale_up_rate,
            max_scale_down_rate: s.max_scale_down_rate,
            activator_capacity: s.activator_capacity,
            stable_window_s: s.stable_window_s,
            scale_down_delay_s: s.scale_down_delay_s,
            reachable: s.reachable,
            activation_scale: s.activation_scale,
        };
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
    eprintln!("{} KPA cases passed", file.cases.len());
}
