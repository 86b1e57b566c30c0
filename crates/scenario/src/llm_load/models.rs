//! `models:` entries → deployments: LLMs with their roofline and scheduler limits,
//! classic models with their latency profile, their placement and routing.

use super::*;

/// The `models:` entries as deployments on `pools`: LLMs with their roofline and
/// scheduler limits, classic models with their latency profile.
pub(super) fn deployments(
    spec: &ScenarioSpec,
    pools: &[NodePool],
    preset_of_pool: &[String],
    files: &crate::files::Files,
    at: At,
) -> Result<Vec<Deployment>, ScenarioError> {
    let model_catalog = catalog::models()?;
    let classic_catalog = catalog::classic()?;
    let mut models = Vec::new();
    for (i, spanned) in spec.models.value.iter().enumerate() {
        let m = &spanned.value;
        let field = |f: &str| format!("models[{i}].{f}");
        if let Some(classic) = &m.classic {
            models.push(classic_deployment(
                m,
                classic,
                &field,
                spanned.referenced,
                pools,
                preset_of_pool,
                &classic_catalog,
                at,
            )?);
            continue;
        }
        let Some(llm) = &m.llm else {
            unreachable!("checked: every model here is llm or classic")
        };
        let Some(entry) = model_catalog.iter().find(|e| e.name == llm.preset.value) else {
            return Err(at(
                llm.preset.referenced,
                &field("llm.preset"),
                format!(
                    "no model preset `{}`; the presets are: {}",
                    llm.preset.value,
                    list(model_catalog.iter().map(|e| e.name.clone()))
                ),
            ));
        };
        let mut model = entry.spec();
        llm.overrides.apply(&mut model);
        let sane = model.params.is_finite()
            && model.params > 0.0
            && model.dtype_bytes > 0.0
            && model.layers > 0
            && model.kv_heads > 0
            && model.heads >= model.kv_heads
            && model.heads % model.kv_heads == 0
            && model.hidden % model.heads == 0
            && model.experts >= 1
            && (1..=model.experts).contains(&model.experts_per_token)
            && model.shared_params() > 0.0;
        if !sane {
            return Err(at(
                llm.preset.referenced,
                &field("llm"),
                format!(
                    "the overridden architecture of `{}` is inconsistent: params and dtype_bytes must be positive, \
                     heads a multiple of kv_heads, hidden a multiple of heads, \
                     experts at least 1, experts_per_token between 1 and experts, and params more than the experts' \
                     (experts × 3 · layers · hidden · intermediate)",
                    model.name
                ),
            ));
        }
        let (pool, _) = placement(m, &field, spanned.referenced, pools, at)?;
        let node_type = &pools[pool].node_type;
        if m.tp == 0 || m.tp > node_type.accelerators_per_node {
            return Err(at(
                spanned.referenced,
                &field("tp"),
                format!(
                    "tp must be between 1 and the {} accelerators of a `{}` node, got {}",
                    node_type.accelerators_per_node, node_type.name, m.tp
                ),
            ));
        }
        if m.replicas == 0 && m.variant_of.is_none() {
            return Err(at(
                spanned.referenced,
                &field("replicas"),
                "must be at least 1 (only a `variant_of:` entry may start at 0)".into(),
            ));
        }
        let engine_name = m
            .serving
            .engine
            .as_deref()
            .unwrap_or(crate::catalog::DEFAULT_ENGINE);
        let engine = if crate::catalog::is_profile_file(engine_name) {
            files
                .engine_profile(std::path::Path::new(engine_name))
                .map_err(|e| at(spanned.referenced, &field("serving.engine"), e))?
        } else {
            crate::catalog::engine(engine_name).ok_or_else(|| {
                let known: Vec<String> = crate::catalog::engines()
                    .map(|all| all.into_iter().map(|e| e.name).collect())
                    .unwrap_or_default();
                at(
                    spanned.referenced,
                    &field("serving.engine"),
                    format!(
                        "unknown serving stack `{engine_name}`; the catalog has: {} (or name a profile file, `*.yaml`)",
                        known.join(", ")
                    ),
                )
            })?
        };
        let base = engine.efficiency();
        let e = &m.serving.efficiency;
        let share = |name: &str, v: Option<f64>, default: f64| -> Result<f64, ScenarioError> {
            match v {
                None => Ok(default),
                Some(v) if v > 0.0 && v <= 1.0 => Ok(v),
                Some(v) => Err(at(
                    spanned.referenced,
                    &field(&format!("serving.efficiency.{name}")),
                    format!("must be in (0, 1], got {v}"),
                )),
            }
        };
        let seconds = |d: Option<crate::units::Duration>, default: f64| {
            d.map_or(default, |d| d.0.as_secs_f64())
        };
        let efficiency = Efficiency {
            compute: share("compute", e.compute, base.compute)?,
            memory: share("memory", e.memory, base.memory)?,
            kv_memory: share("kv_memory", e.kv_memory.or(e.memory), base.kv_memory)?,
            iteration_overhead_s: seconds(e.iteration_overhead, base.iteration_overhead_s),
            layer_overhead_s: seconds(e.layer_overhead, base.layer_overhead_s),
            prefill_layer_overhead_s: seconds(
                e.prefill_layer_overhead,
                base.prefill_layer_overhead_s,
            ),
            allreduce_latency_s: seconds(e.allreduce_latency, base.allreduce_latency_s),
            allreduce_step_latency_s: seconds(
                e.allreduce_step_latency,
                base.allreduce_step_latency_s,
            ),
            gemm_half_width: match e.gemm_half_width {
                None => base.gemm_half_width,
                Some(v) if v.is_finite() && v >= 0.0 => v,
                Some(v) => {
                    return Err(at(
                        spanned.referenced,
                        &field("serving.efficiency.gemm_half_width"),
                        format!("must be a width of 0 columns or more, got {v}"),
                    ));
                }
            },
            overlap_loss: match e.overlap_loss {
                None => base.overlap_loss,
                Some(v) if (0.0..=1.0).contains(&v) => v,
                Some(v) => {
                    return Err(at(
                        spanned.referenced,
                        &field("serving.efficiency.overlap_loss"),
                        format!("must be in [0, 1], got {v}"),
                    ));
                }
            },
        };
        let serving = &m.serving;
        if !(0.0..1.0).contains(&serving.memory_margin) {
            return Err(at(
                spanned.referenced,
                &field("serving.memory_margin"),
                format!("must be in [0, 1), got {}", serving.memory_margin),
            ));
        }
        if serving.block_size == 0 || serving.max_batch == 0 || serving.max_batched_tokens == 0 {
            return Err(at(
                spanned.referenced,
                &field("serving"),
                "max_batch, max_batched_tokens and block_size must be at least 1".into(),
            ));
        }
        let mut roofline = Roofline::new(
            model.clone(),
            node_type.accelerator.clone(),
            m.tp,
            efficiency,
        );
        if let Some(profile) = &serving.profile {
            let points = |name: &str,
                          pts: &[(f64, crate::units::Duration)]|
             -> Result<Vec<(f64, f64)>, ScenarioError> {
                let out: Vec<(f64, f64)> =
                    pts.iter().map(|(x, t)| (*x, t.0.as_secs_f64())).collect();
                let increasing = out.windows(2).all(|w| w[0].0 < w[1].0);
                if out.is_empty()
                    || !increasing
                    || out.iter().any(|(x, _)| !x.is_finite() || *x < 0.0)
                {
                    return Err(at(
                        spanned.referenced,
                        &field(&format!("serving.profile.{name}")),
                        "needs at least one [count, time] point, with counts increasing and not negative"
                            .into(),
                    ));
                }
                Ok(out)
            };
            roofline = roofline.with_profile(ProfileTable {
                prefill: points("prefill", &profile.prefill)?,
                decode: points("decode", &profile.decode)?,
                decode_per_context_token_s: profile.decode_per_context_token.0.as_secs_f64(),
            });
        }
        let kv_tokens = roofline.kv_capacity_tokens(serving.memory_margin);
        let kv_blocks = (kv_tokens / f64::from(serving.block_size)) as u64;
        if kv_blocks == 0 {
            let need_gb = model.weight_bytes() / 1e9;
            let have_gb = node_type.accelerator.memory_bytes
                * f64::from(m.tp)
                * (1.0 - serving.memory_margin)
                / 1e9;
            return Err(at(
                spanned.referenced,
                &field("tp"),
                format!(
                    "`{}` needs {need_gb:.0} GB for its weights but {} × `{}` leaves {have_gb:.0} GB after the memory margin; raise `tp` or choose larger accelerators",
                    model.name, m.tp, node_type.name
                ),
            ));
        }
        let kv_blocks = match serving.num_gpu_blocks_override {
            None => kv_blocks,
            Some(n) if n >= 1 && n <= kv_blocks => n,
            Some(n) => {
                return Err(at(
                    spanned.referenced,
                    &field("serving.num_gpu_blocks_override"),
                    format!(
                        "`num_gpu_blocks_override: {n}` must be from 1 to the {kv_blocks} blocks of {} tokens that {} × `{}` holds for `{}`",
                        serving.block_size, m.tp, node_type.name, model.name
                    ),
                ));
            }
        };
        let max_model_len = match serving.max_model_len {
            None => model.max_context,
            Some(len) if len >= 2 && len <= model.max_context => len,
            Some(len) => {
                return Err(at(
                    spanned.referenced,
                    &field("serving.max_model_len"),
                    format!(
                        "`max_model_len: {len}` must be from 2 to the model's context ({} tokens for `{}`)",
                        model.max_context, model.name
                    ),
                ));
            }
        };
        let server = LlmServerConfig {
            max_batch: serving.max_batch,
            max_batched_tokens: serving.max_batched_tokens,
            block_size: serving.block_size,
            kv_blocks,
            watermark_blocks: kv_blocks / 100,
            chunked_prefill: serving.chunked_prefill,
            timeout: m.timeout.map(|d| d.0),
            max_model_len: Some(max_model_len),
            prefix_caching: serving.prefix_caching,
            client_latency: serving
                .client_latency
                .map_or(engine.client_latency.0, |d| d.0),
            deliver_after_next_step: serving
                .deliver_after_next_step
                .unwrap_or(engine.deliver_after_next_step),
            client_timeout: serving.client_timeout.map(|d| d.0),
        };
        models.push(Deployment {
            name: m.name.clone(),
            serving: Serving::Llm { roofline, server },
            pool,
            replicas: m.replicas,
            container_start: serving.container_start.0,
            sla: Sla {
                ttft: m.sla.ttft_p99.map(|d| d.0),
                tpot: m.sla.tpot_p99.map(|d| d.0),
                e2e: m.sla.e2e_p99.map(|d| d.0),
            },
            routing: routing(m.routing)
                .map_err(|e| at(spanned.referenced, &field("routing"), e))?,
            max_queue: m.max_queue,
            initial_ready: initial_ready(m),
        });
    }
    Ok(models)
}

/// The pool a model is placed on: its `placement:` must name a `hardware:` entry.
pub(super) fn placement<'m>(
    m: &'m crate::schema::ModelSpec,
    field: &dyn Fn(&str) -> String,
    model_at: Location,
    pools: &[NodePool],
    at: At,
) -> Result<(usize, &'m serde_saphyr::Spanned<String>), ScenarioError> {
    let names = || list(pools.iter().map(|p| p.node_type.name.clone()));
    let Some(placement) = &m.placement else {
        return Err(at(
            model_at,
            &field("placement"),
            format!(
                "model `{}` needs `placement:`, the hardware entry it runs on; the entries are: {}",
                m.name,
                names()
            ),
        ));
    };
    let Some(pool) = pools
        .iter()
        .position(|p| p.node_type.name == placement.value)
    else {
        return Err(at(
            placement.referenced,
            &field("placement"),
            format!(
                "no hardware entry named `{}`; the entries are: {}",
                placement.value,
                names()
            ),
        ));
    };
    Ok((pool, placement))
}

/// The cluster's routing for `spec`, its parameters checked; the error says what a
/// parameter accepts.
pub(super) fn routing(spec: RoutingSpec) -> Result<RoutingPolicy, String> {
    let weight = |name: &str, w: f64| {
        if w.is_finite() && w >= 0.0 {
            Ok(w)
        } else {
            Err(format!("`{name}: {w}` must be a weight of 0 or more"))
        }
    };
    Ok(match spec {
        RoutingSpec::RoundRobin => RoutingPolicy::RoundRobin,
        RoutingSpec::Random => RoutingPolicy::Random,
        RoutingSpec::LeastOutstanding => RoutingPolicy::LeastOutstanding,
        RoutingSpec::ShortestQueue => RoutingPolicy::ShortestQueue,
        RoutingSpec::PowerOfTwo => RoutingPolicy::PowerOfTwo,
        RoutingSpec::PrefixAffinity(p) => {
            if p.prefix_blocks == 0 {
                return Err("`prefix_affinity.prefix_blocks` must be at least 1".into());
            }
            if !(p.load_factor.is_finite() && p.load_factor >= 1.0) {
                return Err(format!(
                    "`prefix_affinity.load_factor: {}` must be 1 or more (1: no replica above the mean)",
                    p.load_factor
                ));
            }
            RoutingPolicy::PrefixAffinity {
                prefix_blocks: p.prefix_blocks,
                load_factor: p.load_factor,
            }
        }
        RoutingSpec::KvAware(k) => RoutingPolicy::KvAware {
            prefix: weight("kv_aware.prefix", k.prefix)?,
            queue: weight("kv_aware.queue", k.queue)?,
            running: weight("kv_aware.running", k.running)?,
            kv_utilization: weight("kv_aware.kv_utilization", k.kv_utilization)?,
        },
        RoutingSpec::LeastLoadedCache(l) => RoutingPolicy::LeastLoadedCache {
            bonus: weight("least_loaded_cache.bonus", l.bonus)?,
        },
    })
}

/// A `classic:` model: its measured latencies on the placement's hardware preset.
#[allow(clippy::too_many_arguments)]
pub(super) fn classic_deployment(
    m: &crate::schema::ModelSpec,
    classic: &crate::llm_schema::ClassicModelSpec,
    field: &dyn Fn(&str) -> String,
    model_at: Location,
    pools: &[NodePool],
    presets: &[String],
    catalog: &[catalog::ClassicEntry],
    at: At,
) -> Result<Deployment, ScenarioError> {
    let Some(entry) = catalog.iter().find(|e| e.name == classic.preset.value) else {
        return Err(at(
            classic.preset.referenced,
            &field("classic.preset"),
            format!(
                "no classic-model preset `{}`; the presets are: {}",
                classic.preset.value,
                list(catalog.iter().map(|e| e.name.clone()))
            ),
        ));
    };
    let (pool, placement) = placement(m, field, model_at, pools, at)?;
    let Some(profile) = entry.profile(&presets[pool]) else {
        return Err(at(
            placement.referenced,
            &field("placement"),
            format!(
                "`{}` has no measured latencies on `{}`; it has them on: {}",
                entry.name,
                presets[pool],
                list(entry.latency.keys().cloned())
            ),
        ));
    };
    if (m.replicas == 0 && m.variant_of.is_none()) || m.serving.max_batch == 0 {
        return Err(at(
            model_at,
            &field("replicas"),
            "replicas and serving.max_batch must be at least 1".into(),
        ));
    }
    Ok(Deployment {
        name: m.name.clone(),
        serving: Serving::Classic {
            profile,
            server: ClassicServerConfig {
                max_batch: m.serving.max_batch,
                max_queue_delay: m.serving.max_queue_delay.0,
            },
        },
        pool,
        replicas: m.replicas,
        container_start: m.serving.container_start.0,
        sla: Sla {
            ttft: None,
            tpot: None,
            e2e: m.sla.e2e_p99.or(m.sla.ttft_p99).map(|d| d.0),
        },
        routing: match routing(m.routing).map_err(|e| at(model_at, &field("routing"), e))? {
            RoutingPolicy::PrefixAffinity { .. }
            | RoutingPolicy::KvAware { .. }
            | RoutingPolicy::LeastLoadedCache { .. } => {
                return Err(at(
                    model_at,
                    &field("routing"),
                    "cache-aware routing weighs replicas' prefix caches, and classic models have none; use round_robin, random, least_outstanding, shortest_queue or power_of_two".into(),
                ));
            }
            plain => plain,
        },
        max_queue: m.max_queue,
        initial_ready: initial_ready(m),
    })
}

/// Whether the model's initial replicas start booted and loaded (`initial: ready`).
pub(super) fn initial_ready(m: &crate::schema::ModelSpec) -> bool {
    m.initial
        .as_ref()
        .is_some_and(|i| i.value == crate::llm_schema::InitialSpec::Ready)
}
