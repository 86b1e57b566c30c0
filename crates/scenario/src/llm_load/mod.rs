//! Checking and converting the LLM parts of a scenario into a cluster configuration.

use inferscale_cluster::{
    ClassicServerConfig, ClusterConfig, Deployment, Efficiency, LlmServerConfig, NodePool,
    ProfileTable, Roofline, RoutingPolicy, Serving, Sla,
};
use inferscale_engine::SimTime;
use inferscale_workload::{ReplayOptions, TokenDist, TraceFormat};
pub use inferscale_workload::{RequestSource, Sizes};
use serde_saphyr::Location;

use crate::ScenarioError;
use crate::catalog;
use crate::llm_schema::RoutingSpec;
use crate::schema::ScenarioSpec;

mod hardware;
mod models;
mod workload;

use hardware::node_pools;
use models::deployments;
use workload::workloads;

/// LLM models on a cluster, and the request streams that feed them.
#[derive(Clone, Debug)]
pub struct LlmSystem {
    /// Node types, deployments, warm-up and horizon.
    pub cluster: ClusterConfig,
    /// One entry per `workload:` item.
    pub workloads: Vec<LlmWorkload>,
}

/// Requests for one LLM model.
#[derive(Clone, Debug)]
pub struct LlmWorkload {
    /// Index into `cluster.models`.
    pub model: usize,
    /// Where the requests come from.
    pub source: RequestSource,
}

type At<'a> = &'a dyn Fn(Location, &str, String) -> ScenarioError;

fn list(names: impl Iterator<Item = String>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds the LLM system of `spec`, whose models are all `llm:`.
pub(crate) fn build(
    spec: &ScenarioSpec,
    files: &crate::files::Files,
    at: At,
) -> Result<LlmSystem, ScenarioError> {
    let (pools, preset_of_pool) = node_pools(spec, at)?;
    let models = deployments(spec, &pools, &preset_of_pool, files, at)?;
    let router_groups = variant_groups(spec, &models, at)?;
    let workloads = workloads(spec, &models, files, at)?;
    Ok(LlmSystem {
        cluster: ClusterConfig {
            pools,
            models,
            warmup: SimTime::ZERO + spec.warmup.value.0,
            horizon: SimTime::ZERO + spec.duration.value.0,
            sample_interval: Some(spec.output.timeseries_interval.0).filter(|i| !i.is_zero()),
            replica_changes: Vec::new(),
            router_groups,
            watchdog: Default::default(),
        },
        workloads,
    })
}

/// Each model's router: its own, or that of the model it is a `variant_of:`.
fn variant_groups(
    spec: &ScenarioSpec,
    models: &[Deployment],
    at: At,
) -> Result<Vec<usize>, ScenarioError> {
    let mut groups: Vec<usize> = (0..models.len()).collect();
    for (i, m) in spec.models.value.iter().enumerate() {
        let Some(of) = &m.value.variant_of else {
            continue;
        };
        let field = format!("models[{i}].variant_of");
        let Some(owner) = spec
            .models
            .value
            .iter()
            .position(|o| o.value.name == of.value)
        else {
            return Err(at(
                of.referenced,
                &field,
                format!(
                    "no model named `{}`; the models are: {}",
                    of.value,
                    list(models.iter().map(|m| m.name.clone()))
                ),
            ));
        };
        let owner_spec = &spec.models.value[owner].value;
        if owner == i || owner_spec.variant_of.is_some() {
            return Err(at(
                of.referenced,
                &field,
                format!(
                    "`{}` must name a model that is not itself a variant",
                    of.value
                ),
            ));
        }
        if owner_spec.llm.is_some() != m.value.llm.is_some() {
            return Err(at(
                of.referenced,
                &field,
                "a variant serves the same kind of model (`llm:` or `classic:`) as the model it joins"
                    .into(),
            ));
        }
        groups[i] = owner;
    }
    for (i, w) in spec.workload.value.iter().enumerate() {
        if let Some(m) = spec
            .models
            .value
            .iter()
            .find(|m| m.value.name == w.model.value)
            && let Some(of) = &m.value.variant_of
        {
            return Err(at(
                w.model.referenced,
                &format!("workload[{i}].model"),
                format!(
                    "`{}` is a variant of `{}`; send the requests to `{}`",
                    w.model.value, of.value, of.value
                ),
            ));
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use crate::{System, parse};
    use inferscale_cluster::BatchWork;

    const BASE: &str = "
name: t
duration: 10m
hardware:
  - {name: gpu, preset: h100-sxm, max_count: 1, price_per_hour: 80}
models:
  - name: chat
    llm: {preset: llama-3.1-70b}
    placement: gpu
    tp: 4
    replicas: 2
    serving:
      max_batched_tokens: 4096
      profile:
        prefill: [[128, 20ms], [4096, 300ms]]
        decode: [[1, 25ms], [64, 40ms]]
        decode_per_context_token: 10ns
    sla: {ttft_p99: 1s}
workload:
  - model: chat
    arrivals: {poisson: {rate: 3/s}}
    input_tokens: {uniform: [100, 2000]}
    output_tokens: 200
";

    #[test]
    fn catalog_fields_are_overridden_and_checked_where_written() {
        let text = BASE
            .replace(
                "price_per_hour: 80}",
                "price_per_hour: 80, memory_gb: 40, kind: cpu}",
            )
            .replace(
                "{preset: llama-3.1-70b}",
                "{preset: llama-3.1-70b, max_context: 4096}",
            );
        let System::Llm(system) = parse(&text, "t.yaml").unwrap().system else {
            panic!("not an LLM system")
        };
        let node = &system.cluster.pools[0].node_type;
        assert_eq!(node.accelerator.memory_bytes, 40e9);
        assert_eq!(node.accelerator.kind, inferscale_cluster::DeviceKind::Cpu);
        let inferscale_cluster::Serving::Llm { roofline, .. } = &system.cluster.models[0].serving
        else {
            panic!("not an LLM")
        };
        assert_eq!(roofline.model().max_context, 4096);
        // A bad value is located at its own key, an unknown key at itself.
        let invalid = |text: &str| match parse(text, "t.yaml") {
            Err(e) => e.invalid().cloned().unwrap(),
            Ok(_) => panic!("accepted"),
        };
        let column = |e: &crate::Invalid, at: &str| {
            e.source_line.as_deref().and_then(|l| l.find(at)).unwrap() as u64 + 1
        };
        let e = invalid(&BASE.replace("price_per_hour: 80}", "price_per_hour: 80, memory_gb: -1}"));
        assert_eq!(
            (e.line, e.field.as_str()),
            (5, "hardware[0].memory_gb"),
            "{e:?}"
        );
        assert_eq!(e.column, column(&e, "-1}"), "{e:?}");
        let e = invalid(&BASE.replace(
            "{preset: llama-3.1-70b}",
            "{preset: llama-3.1-70b, layer: 2}",
        ));
        assert_eq!((e.line, e.column), (8, column(&e, "layer:")), "{e:?}");
        assert!(
            e.message.contains("`layer`") && e.message.contains("layers"),
            "{e:?}"
        );
    }

    #[test]
    fn an_llm_scenario_becomes_a_cluster_with_overrides_and_a_profile() {
        let scenario = parse(BASE, "t.yaml").unwrap();
        let System::Llm(system) = scenario.system else {
            panic!("not an LLM system")
        };
        let pool = &system.cluster.pools[0];
        assert_eq!(pool.node_type.price_per_hour, 80.0);
        assert_eq!(pool.node_type.max_count, Some(1));
        let d = &system.cluster.models[0];
        assert_eq!((d.replicas, d.tp()), (2, 4));
        let inferscale_cluster::Serving::Llm { roofline, server } = &d.serving else {
            panic!("not an LLM")
        };
        assert_eq!(
            d.sla.ttft,
            Some(inferscale_engine::SimDuration::from_secs(1))
        );
        // The profile, not the roofline, times iterations.
        let t = roofline.iteration_time(&BatchWork {
            prefill_tokens: 128.0,
            ..Default::default()
        });
        assert!((t - 0.020).abs() < 1e-12);
        let t = roofline.iteration_time(&BatchWork {
            decode_requests: 64.0,
            decode_context_tokens: 1e6,
            ..Default::default()
        });
        assert!((t - 0.050).abs() < 1e-12);
        // KV capacity from memory: 4 × 80 GB × 0.9 − 141.2 GB over 320 KiB per token.
        let tokens: f64 = (4.0 * 80e9 * 0.9 - 141.2e9) / 327_680.0;
        assert_eq!(server.kv_blocks, (tokens.floor() / 16.0) as u64);
    }

    #[test]
    fn routings_read_as_names_or_with_parameters_and_bad_ones_are_located() {
        use inferscale_cluster::RoutingPolicy;
        let routed = |routing: &str| {
            let text = BASE.replace(
                "    replicas: 2\n",
                &format!("    replicas: 2\n    routing: {routing}\n"),
            );
            parse(&text, "t.yaml").map(|s| match s.system {
                System::Llm(system) => system.cluster.models[0].routing,
                _ => panic!("not an LLM system"),
            })
        };
        assert_eq!(
            routed("kv_aware").unwrap(),
            RoutingPolicy::KvAware {
                prefix: 3.0,
                queue: 2.0,
                running: 0.0,
                kv_utilization: 2.0
            }
        );
        assert_eq!(
            routed("{kv_aware: {queue: 1}}").unwrap(),
            RoutingPolicy::KvAware {
                prefix: 3.0,
                queue: 1.0,
                running: 0.0,
                kv_utilization: 2.0
            }
        );
        assert_eq!(
            routed("{prefix_affinity: {prefix_blocks: 8}}").unwrap(),
            RoutingPolicy::PrefixAffinity {
                prefix_blocks: 8,
                load_factor: 1.25
            }
        );
        assert_eq!(
            routed("least_loaded_cache").unwrap(),
            RoutingPolicy::LeastLoadedCache { bonus: 4.0 }
        );
        assert_eq!(routed("power_of_two").unwrap(), RoutingPolicy::PowerOfTwo);
        let err = routed("kv_awre").unwrap_err().to_string();
        assert!(
            err.contains("kv_aware") && err.contains("least_loaded_cache"),
            "{err}"
        );
        let err = routed("{prefix_affinity: {load_factor: 0.5}}")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("models[0].routing") && err.contains("1 or more"),
            "{err}"
        );
        let err = routed("{kv_aware: {prefx: 1}}").unwrap_err().to_string();
        assert!(err.contains("prefx"), "{err}");
    }

    #[test]
    fn shared_prefix_sizes_read_as_inference_perf_writes_them() {
        let shared = "sizes: {shared_prefix: {num_unique_system_prompts: 9, num_users_per_system_prompt: 5, system_prompt_len: 100, question_len: 447, output_len: 248}}";
        let text = BASE.replace(
            "    input_tokens: {uniform: [100, 2000]}\n    output_tokens: 200",
            &format!("    {shared}"),
        );
        let scenario = parse(&text, "t.yaml").unwrap();
        let System::Llm(system) = scenario.system else {
            panic!("not an LLM system")
        };
        let crate::RequestSource::Synthetic {
            sizes: crate::Sizes::SharedPrefix(p),
            ..
        } = &system.workloads[0].source
        else {
            panic!("not shared-prefix sizes")
        };
        assert_eq!((p.groups, p.users, p.system_tokens), (9, 5, 100));
        let multi = text.replace(
            "output_len: 248}",
            "output_len: 248, enable_multi_turn_chat: true}",
        );
        let scenario = parse(&multi, "t.yaml").unwrap();
        let System::Llm(system) = scenario.system else {
            panic!("not an LLM system")
        };
        assert!(matches!(
            &system.workloads[0].source,
            crate::RequestSource::Synthetic {
                sizes: crate::Sizes::SharedPrefix(p),
                ..
            } if p.multi_turn
        ));
        let none = text.replace(
            "num_unique_system_prompts: 9",
            "num_unique_system_prompts: 0",
        );
        let err = parse(&none, "t.yaml").unwrap_err().to_string();
        assert!(err.contains("workload[0].sizes.shared_prefix"), "{err}");
    }

    #[test]
    fn a_serving_stack_sets_the_roofline_and_its_overrides_win() {
        let with = |serving: &str| {
            parse(
                &BASE.replace(
                    "      max_batched_tokens: 4096\n",
                    &format!("      max_batched_tokens: 4096\n{serving}"),
                ),
                "t.yaml",
            )
        };
        let server_of = |scenario: crate::Scenario| {
            let System::Llm(system) = scenario.system else {
                panic!("not an LLM system")
            };
            let inferscale_cluster::Serving::Llm { roofline, server } =
                system.cluster.models[0].serving.clone()
            else {
                panic!("not an LLM model")
            };
            (*roofline.efficiency(), server)
        };
        let vllm = crate::catalog::engine("vllm").unwrap();
        let (e, server) = server_of(with("      engine: vllm\n").unwrap());
        assert_eq!(e, vllm.efficiency());
        assert_eq!(server.client_latency, vllm.client_latency.0);
        assert!(server.deliver_after_next_step);
        let (e, server) = server_of(
            with("      engine: vllm\n      client_latency: 2ms\n      efficiency: {kv_memory: 0.5}\n")
                .unwrap(),
        );
        assert_eq!((e.kv_memory, e.memory), (0.5, vllm.memory));
        assert_eq!(server.client_latency.as_nanos(), 2_000_000);
        // No stack named: the default, vLLM.
        let (e, server) = server_of(with("").unwrap());
        assert_eq!(e, vllm.efficiency());
        assert!(server.deliver_after_next_step);
        // The original calibration still by name, engine times only.
        let (e, server) = server_of(with("      engine: tensorrt-llm\n").unwrap());
        assert_eq!(e, inferscale_cluster::Efficiency::CALIBRATED);
        assert!(server.client_latency.is_zero() && !server.deliver_after_next_step);
        let err = with("      engine: vlm\n").unwrap_err().to_string();
        assert!(
            err.contains("models[0].serving.engine") && err.contains("tensorrt-llm"),
            "{err}"
        );
    }

    #[test]
    fn inference_perf_stages_send_their_counts() {
        use inferscale_engine::{RngStreams, SimTime};
        let text = BASE.replace(
            "arrivals: {poisson: {rate: 3/s}}",
            "arrivals: {stages: [{rate: 8/s, duration: 2m}, {rate: 0/s, duration: 10s}, {rate: 20/s, duration: 1m}]}",
        );
        let scenario = parse(&text, "t.yaml").unwrap();
        let System::Llm(system) = scenario.system else {
            panic!("not an LLM system")
        };
        let crate::RequestSource::Synthetic { arrivals, .. } = &system.workloads[0].source else {
            panic!("not synthetic")
        };
        let mut process = arrivals.clone();
        let mut rng = RngStreams::new(1, 0).stream("arrivals");
        let (mut t, mut times) = (SimTime::ZERO, Vec::new());
        while let Some(next) = process.next_after(t, &mut rng) {
            times.push(next.as_secs_f64());
            t = next;
        }
        assert_eq!(times.len(), 960 + 1200);
        assert!((times[959] - 120.0).abs() < 1e-6 && times[960] > 130.0);
        let err = parse(
            &text.replace("{rate: 20/s, duration: 1m}", "{rate: 20/s}"),
            "t.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("duration"), "{err}");
    }

    #[test]
    fn a_decreasing_profile_is_refused_with_its_location() {
        let text = BASE.replace("[[1, 25ms], [64, 40ms]]", "[[64, 25ms], [1, 40ms]]");
        let err = parse(&text, "t.yaml").unwrap_err().to_string();
        assert!(err.contains("`models[0].serving.profile.decode`"), "{err}");
        assert!(err.starts_with("t.yaml:7:5"), "{err}");
    }

    #[test]
    fn heavy_tailed_and_normal_token_counts() {
        use inferscale_engine::RngStreams;
        let text = BASE
            .replace(
                "input_tokens: {uniform: [100, 2000]}",
                "input_tokens: {pareto: {min: 64, shape: 1.5, max: 32768}}",
            )
            .replace(
                "output_tokens: 200",
                "output_tokens: {normal: {mean: 200, sd: 50, min: 1}}",
            );
        let scenario = parse(&text, "t.yaml").unwrap();
        let System::Llm(system) = scenario.system else {
            panic!("not an LLM system")
        };
        let crate::RequestSource::Synthetic {
            sizes: crate::Sizes::Independent { input, output },
            ..
        } = &system.workloads[0].source
        else {
            panic!("not independent sizes")
        };
        let mut rng = RngStreams::new(1, 0).stream("tokens");
        let n = 200_000;
        let inputs: Vec<u32> = (0..n).map(|_| input.sample(&mut rng)).collect();
        assert!(inputs.iter().all(|&x| (64..=32_768).contains(&x)));
        // Pareto(64, 1.5): P(X > 640) = 10^-1.5 ≈ 3.16%.
        let tail = inputs.iter().filter(|&&x| x > 640).count() as f64 / n as f64;
        assert!((tail - 0.0316).abs() < 0.002, "{tail}");
        let mean = (0..n)
            .map(|_| f64::from(output.sample(&mut rng)))
            .sum::<f64>()
            / n as f64;
        assert!((mean - 200.0).abs() < 1.0, "{mean}");
    }
}
