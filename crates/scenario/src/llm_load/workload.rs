//! `workload:` entries → request sources: synthetic processes with their sizes, or
//! traces checked by reading them through once.

use super::*;

/// The `workload:` entries as request sources for `models`: synthetic processes
/// with their sizes, or traces checked by reading them through once (every file
/// read through `files`, relative to the scenario file's directory). An error in what
/// a file holds is located at the field that names the file.
pub(super) fn workloads(
    spec: &ScenarioSpec,
    models: &[Deployment],
    files: &crate::files::Files,
    at: At,
) -> Result<Vec<LlmWorkload>, ScenarioError> {
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
            let field = format!("workload[{i}].{name}");
            let Some(t) = t else {
                return Err(at(
                    w.model.referenced,
                    &field,
                    format!(
                        "`{name}:` is required for LLM workloads, e.g. `{name}: {{lognormal: {{median: 512, sigma: 1.0, max: 8192}}}}` or `{name}: 128`"
                    ),
                ));
            };
            t.build(files).map_err(|m| at(Location::UNKNOWN, &field, m))
        };
        let source = match (&w.arrivals, &w.trace) {
            (Some(_), Some(trace)) => {
                return Err(at(
                    trace.referenced,
                    &format!("workload[{i}].trace"),
                    "give either `arrivals:` or `trace:`, not both".into(),
                ));
            }
            (None, Some(trace)) => trace_source(&trace.value, trace.referenced, files, i, at)?,
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
                        let field = format!("workload[{i}].sizes");
                        match &sizes.value {
                            crate::schema::SizesSpec::Empirical(e) => {
                                let pairs = files
                                    .size_pairs(&e.path, &e.input_column, &e.output_column)
                                    .map_err(|m| at(sizes.referenced, &field, m))?;
                                Sizes::Joint(pairs)
                            }
                            crate::schema::SizesSpec::SharedPrefix(p) => {
                                shared_prefix(p, files, sizes.referenced, &field, at)?
                            }
                            crate::schema::SizesSpec::Conversation(c) => {
                                let field = format!("{field}.conversation");
                                let tokens = |t: &crate::llm_schema::TokenCounts, name: &str| {
                                    t.build(files).map_err(|m| {
                                        at(Location::UNKNOWN, &format!("{field}.{name}"), m)
                                    })
                                };
                                let turns = tokens(&c.turns, "turns")?;
                                if turns.max() > inferscale_workload::MAX_TURNS {
                                    return Err(at(
                                        sizes.referenced,
                                        &format!("{field}.turns"),
                                        format!(
                                            "a conversation has at most {} turns; this distribution reaches {} (give it `max: {}`)",
                                            inferscale_workload::MAX_TURNS,
                                            turns.max(),
                                            inferscale_workload::MAX_TURNS
                                        ),
                                    ));
                                }
                                Sizes::Conversation(Box::new(inferscale_workload::Conversations {
                                    turns,
                                    input: tokens(&c.input_tokens, "input_tokens")?,
                                    output: tokens(&c.output_tokens, "output_tokens")?,
                                    think: c.think_time.0.clone(),
                                    system_tokens: c.system_prompt_len,
                                }))
                            }
                        }
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
                let field = format!("workload[{i}].arrivals");
                RequestSource::Synthetic {
                    arrivals: arrivals
                        .build(files)
                        .map_err(|m| at(Location::UNKNOWN, &field, m))?,
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
    Ok(workloads)
}

/// Checks a trace by reading it through once, and describes it.
pub(super) fn trace_source(
    trace: &crate::schema::TraceSpec,
    location: Location,
    files: &crate::files::Files,
    i: usize,
    at: At,
) -> Result<RequestSource, ScenarioError> {
    let field = format!("workload[{i}].trace");
    let path = files.resolve(&trace.path);
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
    let window = files
        .trace_window(&trace.path, format, &options)
        .map_err(|e| at(location, &field, e))?
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

/// A `sizes: {shared_prefix: ...}` section, checked.
fn shared_prefix(
    p: &crate::schema::SharedPrefixSpec,
    files: &crate::files::Files,
    loc: Location,
    field: &str,
    at: At,
) -> Result<Sizes, ScenarioError> {
    let field = format!("{field}.shared_prefix");
    if p.num_unique_system_prompts == 0 || p.num_users_per_system_prompt == 0 {
        return Err(at(
            loc,
            &field,
            "`num_unique_system_prompts` and `num_users_per_system_prompt` must be at least 1"
                .into(),
        ));
    }
    if u64::from(p.num_unique_system_prompts) * u64::from(p.num_users_per_system_prompt)
        > 10_000_000
    {
        return Err(at(
            loc,
            &field,
            "at most 10,000,000 prompts (system prompts × users per system prompt)".into(),
        ));
    }
    let tokens = |t: &crate::llm_schema::TokenCounts, name: &str| {
        t.build(files)
            .map_err(|m| at(Location::UNKNOWN, &format!("{field}.{name}"), m))
    };
    Ok(Sizes::SharedPrefix(inferscale_workload::SharedPrefix {
        groups: p.num_unique_system_prompts,
        users: p.num_users_per_system_prompt,
        system_tokens: p.system_prompt_len,
        question: tokens(&p.question_len, "question_len")?,
        output: tokens(&p.output_len, "output_len")?,
        multi_turn: p.enable_multi_turn_chat,
    }))
}
