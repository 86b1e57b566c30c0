//! Checking and converting the LLM parts of a scenario into a cluster configuration.

use inferscale_cluster::{
    ClassicServerConfig, ClusterConfig, Deployment, Efficiency, LlmServerConfig, NodePool,
    ProfileTable, Roofline, RoutingPolicy, Serving, Sla,
};
use inferscale_engine::SimTime;
use inferscale_workload::{
    EmpiricalPairs, ReplayOptions, TokenDist, TraceFormat, summarize_window,
};
pub use inferscale_workload::{RequestSource, Sizes};
use serde_saphyr::Location;

use crate::ScenarioError;
use crate::catalog;
use crate::llm_schema::RoutingSpec;
use crate::schema::ScenarioSpec;

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
    base: &std::path::Path,
    at: At,
) -> Result<LlmSystem, ScenarioError> {
    let hardware = catalog::hardware()?;
    let presets = || list(hardware.iter().map(|h| h.name.clone()));

    let mut pools = Vec::new();
    let mut preset_of_pool = Vec::new();
    for (i, h) in spec.hardware.iter().enumerate() {
        let Some(entry) = hardware.iter().find(|e| e.name == h.preset.value) else {
            return Err(at(
                h.preset.referenced,
                &format!("hardware[{i}].preset"),
                format!(
                    "no hardware preset `{}`; the presets are: {}",
                    h.preset.value,
                    presets()
                ),
            ));
        };
        if spec.hardware[..i].iter().any(|o| o.name == h.name) {
            return Err(at(
                h.preset.referenced,
                &format!("hardware[{i}].name"),
                format!("`{}` is defined twice", h.name),
            ));
        }
        let mut node_type = entry.node_type();
        node_type.name = h.name.clone();
        node_type.max_count = h.max_count;
        let a = &mut node_type.accelerator;
        let positive = |field: &str, v: f64| -> Result<f64, ScenarioError> {
            if v.is_finite() && v > 0.0 {
                Ok(v)
            } else {
                Err(at(
                    h.preset.referenced,
                    &format!("hardware[{i}].{field}"),
                    format!("must be greater than zero, got {v}"),
                ))
            }
        };
        if let Some(v) = h.memory_gb {
            a.memory_bytes = positive("memory_gb", v)? * 1e9;
        }
        if let Some(v) = h.memory_bandwidth_gb_s {
            a.memory_bandwidth = positive("memory_bandwidth_gb_s", v)? * 1e9;
        }
        if let Some(v) = h.bf16_tflops {
            a.peak_flops = positive("bf16_tflops", v)? * 1e12;
        }
        if let Some(v) = h.price_per_hour {
            node_type.price_per_hour = if v == 0.0 {
                0.0
            } else {
                positive("price_per_hour", v)?
            };
        }
        if let Some(v) = h.accelerators_per_node {
            node_type.accelerators_per_node =
                positive("accelerators_per_node", f64::from(v))? as u32;
        }
        if let Some(v) = &h.boot_time {
            node_type.boot_time = v.0.clone();
        }
        if let Some(v) = h.spot_price_per_hour {
            node_type.spot_price_per_hour = Some(positive("spot_price_per_hour", v)?);
        }
        if let Some(v) = h.int8_tops {
            node_type.accelerator.peak_int8_ops = Some(positive("int8_tops", v)? * 1e12);
        }
        if let Some(v) = h.interconnect_gb_s {
            node_type.accelerator.interconnect_bandwidth = positive("interconnect_gb_s", v)? * 1e9;
        }
        if let Some(v) = h.load_bandwidth_gb_s {
            node_type.load_bandwidth = positive("load_bandwidth_gb_s", v)? * 1e9;
        }
        let spot = match &h.spot {
            None => None,
            Some(terms) => {
                if h.price_per_hour.is_none() {
                    node_type.price_per_hour = node_type.spot_price_per_hour.ok_or_else(|| {
                        at(
                            h.preset.referenced,
                            &format!("hardware[{i}].spot"),
                            format!(
                                "`{}` has no spot price in the catalog; give `price_per_hour`",
                                h.preset.value
                            ),
                        )
                    })?;
                }
                if terms.mean_lifetime.0.is_zero() {
                    return Err(at(
                        h.preset.referenced,
                        &format!("hardware[{i}].spot.mean_lifetime"),
                        "must be longer than 0 s".into(),
                    ));
                }
                Some(inferscale_cluster::SpotTerms {
                    mean_lifetime: terms.mean_lifetime.0,
                    notice: terms.notice.0,
                })
            }
        };
        preset_of_pool.push(h.preset.value.clone());
        pools.push(NodePool {
            node_type,
            billing_granularity: h.billing.granularity.0,
            billing_minimum: h.billing.minimum.0,
            spot,
        });
    }

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
                &pools,
                &preset_of_pool,
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
        if let Some(p) = llm.params {
            model.params = p;
        }
        if let Some(d) = llm.dtype_bytes {
            model.dtype_bytes = d;
        }
        for (value, slot) in [
            (llm.layers, &mut model.layers),
            (llm.hidden, &mut model.hidden),
            (llm.heads, &mut model.heads),
            (llm.kv_heads, &mut model.kv_heads),
            (llm.intermediate, &mut model.intermediate),
            (llm.vocab, &mut model.vocab),
            (llm.max_context, &mut model.max_context),
        ] {
            if let Some(v) = value {
                *slot = v;
            }
        }
        let sane = model.params.is_finite()
            && model.params > 0.0
            && model.dtype_bytes > 0.0
            && model.layers > 0
            && model.kv_heads > 0
            && model.heads >= model.kv_heads
            && model.heads % model.kv_heads == 0
            && model.hidden % model.heads == 0;
        if !sane {
            return Err(at(
                llm.preset.referenced,
                &field("llm"),
                format!(
                    "the overridden architecture of `{}` is inconsistent: params and dtype_bytes must be positive, \
                     heads a multiple of kv_heads, hidden a multiple of heads",
                    model.name
                ),
            ));
        }
        let (pool, _) = placement(m, &field, spanned.referenced, &pools, at)?;
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
        let efficiency = Efficiency {
            compute: share("compute", e.compute, Efficiency::CALIBRATED.compute)?,
            memory: share("memory", e.memory, Efficiency::CALIBRATED.memory)?,
            iteration_overhead_s: e
                .iteration_overhead
                .map_or(Efficiency::CALIBRATED.iteration_overhead_s, |d| {
                    d.0.as_secs_f64()
                }),
            layer_overhead_s: e
                .layer_overhead
                .map_or(Efficiency::CALIBRATED.layer_overhead_s, |d| {
                    d.0.as_secs_f64()
                }),
            ..Efficiency::CALIBRATED
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
            routing: routing(m.routing),
            max_queue: m.max_queue,
            initial_ready: initial_ready(m),
        });
    }

    let router_groups = variant_groups(spec, &models, at)?;
    let mut workloads = Vec::new();
    for (i, w) in spec.workload.value.iter().enumerate() {
        let Some(model) = models.iter().position(|m| m.name == w.model.value) else {
            return Err(at(
                w.model.referenced,
                &format!("workload[{i}].model"),
                format!(
                    "no model named `{}`; the models are: {}",
                    w.model.value,
                    list(models.iter().map(|m| m.name.clone()))
                ),
            ));
        };
        let tokens = |t: &Option<crate::llm_schema::TokenCounts>, name: &str| {
            t.as_ref().map(|t| t.0.clone()).ok_or_else(|| {
                at(
                    w.model.referenced,
                    &format!("workload[{i}].{name}"),
                    format!("`{name}:` is required for LLM workloads, e.g. `{name}: {{lognormal: {{median: 512, sigma: 1.0, max: 8192}}}}` or `{name}: 128`"),
                )
            })
        };
        let source = match (&w.arrivals, &w.trace) {
            (Some(_), Some(trace)) => {
                return Err(at(
                    trace.referenced,
                    &format!("workload[{i}].trace"),
                    "give either `arrivals:` or `trace:`, not both".into(),
                ));
            }
            (None, Some(trace)) => trace_source(&trace.value, trace.referenced, base, i, at)?,
            (Some(arrivals), None) => {
                let sizes = match (&models[model].serving, &w.sizes) {
                    // A classic request has no tokens: one input, one result.
                    (Serving::Classic { .. }, _) => Sizes::Independent {
                        input: TokenDist::fixed(1),
                        output: TokenDist::fixed(1),
                    },
                    (Serving::Llm { .. }, Some(sizes)) => {
                        if w.input_tokens.is_some() || w.output_tokens.is_some() {
                            return Err(at(
                                sizes.referenced,
                                &format!("workload[{i}].sizes"),
                                "give either `sizes:` or `input_tokens:` and `output_tokens:`, not both".into(),
                            ));
                        }
                        let crate::schema::SizesSpec::Empirical(e) = &sizes.value;
                        let pairs = EmpiricalPairs::from_csv(
                            &base.join(&e.path),
                            &e.input_column,
                            &e.output_column,
                        )
                        .map_err(|m| at(sizes.referenced, &format!("workload[{i}].sizes"), m))?;
                        Sizes::Joint(pairs)
                    }
                    // A scenario builds no custom replica kind; one that did would
                    // read token counts as an LLM does.
                    (Serving::Llm { .. } | Serving::Custom(_), None) => Sizes::Independent {
                        input: tokens(&w.input_tokens, "input_tokens")?,
                        output: tokens(&w.output_tokens, "output_tokens")?,
                    },
                    (Serving::Custom(_), Some(sizes)) => {
                        return Err(at(
                            sizes.referenced,
                            &format!("workload[{i}].sizes"),
                            "joint sizes are for LLM models".into(),
                        ));
                    }
                };
                RequestSource::Synthetic {
                    arrivals: arrivals.0.clone(),
                    sizes,
                }
            }
            (None, None) => {
                return Err(at(
                    w.model.referenced,
                    &format!("workload[{i}]"),
                    "a workload needs `arrivals:` (with token distributions) or `trace:`".into(),
                ));
            }
        };
        workloads.push(LlmWorkload { model, source });
    }

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

/// Checks a trace by reading it through once, and describes it.
fn trace_source(
    trace: &crate::schema::TraceSpec,
    location: Location,
    base: &std::path::Path,
    i: usize,
    at: At,
) -> Result<RequestSource, ScenarioError> {
    let field = format!("workload[{i}].trace");
    let path = base.join(&trace.path);
    let format = match trace.format {
        crate::schema::TraceFormatSpec::AzureLlm => TraceFormat::AzureLlm,
        crate::schema::TraceFormatSpec::Mooncake => TraceFormat::Mooncake,
        crate::schema::TraceFormatSpec::Burstgpt => TraceFormat::BurstGpt,
        crate::schema::TraceFormatSpec::Generic => TraceFormat::Generic,
    };
    if !(trace.speedup.is_finite() && trace.speedup > 0.0) {
        return Err(at(
            location,
            &field,
            format!("`speedup` must be greater than zero, got {}", trace.speedup),
        ));
    }
    if !(trace.rate_scale.is_finite() && trace.rate_scale > 0.0) {
        return Err(at(
            location,
            &field,
            format!(
                "`rate_scale` must be greater than zero, got {}",
                trace.rate_scale
            ),
        ));
    }
    let options = ReplayOptions {
        start_s: trace.start.0.as_secs_f64(),
        end_s: trace.end.map_or(f64::INFINITY, |e| e.0.as_secs_f64()),
        speedup: trace.speedup,
        rate_scale: trace.rate_scale,
        looped: trace.looped,
        model: trace.model.clone(),
    };
    if options.end_s <= options.start_s {
        return Err(at(location, &field, "`end` must be after `start`".into()));
    }
    let window = summarize_window(&path, format, &options)
        .map_err(|e| at(location, &field, e.to_string()))?
        .ok_or_else(|| {
            at(
                location,
                &field,
                format!(
                    "no request of `{}` falls in the chosen window{}",
                    path.display(),
                    trace
                        .model
                        .as_ref()
                        .map(|m| format!(" for model `{m}`"))
                        .unwrap_or_default()
                ),
            )
        })?;
    Ok(RequestSource::Trace {
        path,
        format,
        options,
        window,
    })
}

/// The pool a model is placed on: its `placement:` must name a `hardware:` entry.
fn placement<'m>(
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

fn routing(spec: RoutingSpec) -> RoutingPolicy {
    match spec {
        RoutingSpec::RoundRobin => RoutingPolicy::RoundRobin,
        RoutingSpec::Random => RoutingPolicy::Random,
        RoutingSpec::LeastOutstanding => RoutingPolicy::LeastOutstanding,
        RoutingSpec::ShortestQueue => RoutingPolicy::ShortestQueue,
        RoutingSpec::PowerOfTwo => RoutingPolicy::PowerOfTwo,
    }
}

/// A `classic:` model: its measured latencies on the placement's hardware preset.
#[allow(clippy::too_many_arguments)]
fn classic_deployment(
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
        routing: routing(m.routing),
        max_queue: m.max_queue,
        initial_ready: initial_ready(m),
    })
}

/// Whether the model's initial replicas start booted and loaded (`initial: ready`).
fn initial_ready(m: &crate::schema::ModelSpec) -> bool {
    m.initial
        .as_ref()
        .is_some_and(|i| i.value == crate::llm_schema::InitialSpec::Ready)
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
