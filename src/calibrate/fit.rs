//! `inferscale calibrate --fit`: a serving profile's free terms fitted to
//! measurements, and the fitted profile written as a YAML file a scenario names
//! (`serving: {engine: my-stack.yaml}`).
//!
//! The method is a compass search (a derivative-free pattern search, deterministic):
//! from the starting profile, each free term in turn is moved by its step up and
//! down within its bounds and the move kept if the objective falls; after a pass
//! with no move kept every step halves, until the steps are below 1/1000 of their
//! ranges or 400 evaluations are spent. The objective adds, with equal weight, the
//! experiments' least-squares objective (the root mean square of
//! ln(simulated/measured) over TTFT p50, TPOT and end-to-end p50 of every stage the
//! server kept up with, [`super::fit_objective`]) and the iteration tables' least
//! absolute deviations ([`super::iterations::objective`]).
//!
//! Terms have physical meanings and bounds ([`TERMS`]); fit few. `kv_memory`, when
//! not free itself, follows `memory`.

use inferscale_scenario::catalog::EngineEntry;

use super::iterations::{self, IterationTable};

/// A term of a serving profile the fit may move: its name (the profile field), its
/// bounds and its starting step, in the field's unit (seconds for times).
#[derive(Clone, Copy, Debug)]
pub struct Term {
    /// The profile field.
    pub name: &'static str,
    /// Smallest value.
    pub low: f64,
    /// Largest value.
    pub high: f64,
    /// First step.
    pub step: f64,
    /// Whether the term is a time (written as one: `62.5us`), else a number.
    pub seconds: bool,
}

/// Every term a fit may free.
pub const TERMS: [Term; 11] = [
    Term::number("compute", 0.05, 1.0, 0.05),
    Term::number("memory", 0.05, 1.0, 0.05),
    Term::number("kv_memory", 0.05, 1.0, 0.05),
    Term::number("overlap_loss", 0.0, 1.0, 0.1),
    Term::time("iteration_overhead", 20e-3, 0.5e-3),
    Term::time("layer_overhead", 1e-3, 20e-6),
    Term::time("prefill_layer_overhead", 1e-3, 50e-6),
    Term::time("allreduce_latency", 500e-6, 10e-6),
    Term::time("allreduce_step_latency", 500e-6, 10e-6),
    Term::number("gemm_half_width", 0.0, 20_000.0, 200.0),
    Term::time("client_latency", 100e-3, 1e-3),
];

impl Term {
    const fn number(name: &'static str, low: f64, high: f64, step: f64) -> Term {
        Term {
            name,
            low,
            high,
            step,
            seconds: false,
        }
    }

    /// A time from 0 to `high` seconds.
    const fn time(name: &'static str, high: f64, step: f64) -> Term {
        Term {
            name,
            low: 0.0,
            high,
            step,
            seconds: true,
        }
    }
}

/// The terms freed when none are named: what experiments constrain (per-request
/// and per-iteration fixed costs, weight and KV bandwidth, overlap) and, with an
/// iteration table, what static batches over several TPs constrain (compute, weight
/// bandwidth, overlap, the GEMM half width, the all-reduce's growth with TP).
pub fn default_terms(experiments: bool, tables: bool) -> Vec<&'static str> {
    let mut names = Vec::new();
    if experiments {
        names.extend([
            "client_latency",
            "iteration_overhead",
            "memory",
            "kv_memory",
            "overlap_loss",
        ]);
    }
    if tables {
        for n in [
            "compute",
            "memory",
            "overlap_loss",
            "gemm_half_width",
            "allreduce_step_latency",
        ] {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
}

/// The term called `name`, or an error listing them.
pub fn term(name: &str) -> Result<Term, String> {
    TERMS
        .iter()
        .copied()
        .find(|t| t.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = TERMS.iter().map(|t| t.name).collect();
            format!(
                "no fittable term `{name}`; the terms are: {}",
                names.join(", ")
            )
        })
}

fn secs(d: &inferscale_scenario::units::Duration) -> f64 {
    d.0.as_secs_f64()
}

fn duration(s: f64) -> inferscale_scenario::units::Duration {
    inferscale_scenario::units::Duration(inferscale_engine::SimDuration::from_secs_f64(s))
}

/// The value of `name` in `profile`.
pub fn get(profile: &EngineEntry, name: &str) -> f64 {
    match name {
        "compute" => profile.compute,
        "memory" => profile.memory,
        "kv_memory" => profile.kv_memory,
        "overlap_loss" => profile.overlap_loss,
        "iteration_overhead" => secs(&profile.iteration_overhead),
        "layer_overhead" => secs(&profile.layer_overhead),
        "prefill_layer_overhead" => secs(&profile.prefill_layer_overhead),
        "allreduce_latency" => secs(&profile.allreduce_latency),
        "allreduce_step_latency" => secs(&profile.allreduce_step_latency),
        "gemm_half_width" => profile.gemm_half_width,
        "client_latency" => secs(&profile.client_latency),
        other => unreachable!("not a term: {other}"),
    }
}

/// `profile` with `name` set to `value`.
pub fn set(profile: &mut EngineEntry, name: &str, value: f64) {
    match name {
        "compute" => profile.compute = value,
        "memory" => profile.memory = value,
        "kv_memory" => profile.kv_memory = value,
        "overlap_loss" => profile.overlap_loss = value,
        "iteration_overhead" => profile.iteration_overhead = duration(value),
        "layer_overhead" => profile.layer_overhead = duration(value),
        "prefill_layer_overhead" => profile.prefill_layer_overhead = duration(value),
        "allreduce_latency" => profile.allreduce_latency = duration(value),
        "allreduce_step_latency" => profile.allreduce_step_latency = duration(value),
        "gemm_half_width" => profile.gemm_half_width = value,
        "client_latency" => profile.client_latency = duration(value),
        other => unreachable!("not a term: {other}"),
    }
}

fn time(s: f64) -> String {
    // Microseconds with a thousandth: exact enough for every fitted term.
    format!("{:.3}us", s * 1e6)
}

/// Every term of `profile` as YAML scalars, in [`TERMS`] order.
fn term_values(profile: &EngineEntry) -> impl Iterator<Item = (&'static str, String)> + '_ {
    TERMS.iter().map(|t| {
        let v = get(profile, t.name);
        (t.name, if t.seconds { time(v) } else { v.to_string() })
    })
}

/// The profile as the `serving:` fields that set every one of its terms (for the
/// replays: whatever `engine:` they name, these override all of it).
pub fn serving_yaml(profile: &EngineEntry) -> String {
    let mut client = String::new();
    let mut efficiency = Vec::new();
    for (name, value) in term_values(profile) {
        if name == "client_latency" {
            client = value;
        } else {
            efficiency.push(format!("{name}: {value}"));
        }
    }
    format!(
        "client_latency: {client}\ndeliver_after_next_step: {}\nefficiency: {{{}}}",
        profile.deliver_after_next_step,
        efficiency.join(", ")
    )
}

/// The profile as a YAML file of its own, an `engines.yaml` entry.
pub fn profile_yaml(profile: &EngineEntry) -> String {
    let folded = |text: &str| {
        let mut out = String::new();
        let mut line = String::from("   ");
        for word in text.split_whitespace() {
            if line.len() + word.len() > 86 {
                out.push_str(&line);
                out.push('\n');
                line = String::from("   ");
            }
            line.push(' ');
            line.push_str(word);
        }
        out.push_str(&line);
        out
    };
    let mut out = format!(
        "# A serving profile: name it in a scenario as `serving: {{engine: <this file>}}`\n\
         # (a path relative to the scenario). Fields as in crates/scenario/catalog/engines.yaml.\n\
         name: {}\ndescription: >-\n{}\nfitted_on: >-\n{}\n",
        profile.name,
        folded(&profile.description),
        folded(&profile.fitted_on),
    );
    for (name, value) in term_values(profile) {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push_str(&format!(
        "deliver_after_next_step: {}\n",
        profile.deliver_after_next_step
    ));
    out
}

/// What a fit scores a profile on.
pub struct Measurements<'a> {
    /// Experiments, read ([`super::read_all`]).
    pub experiments: &'a [inferscale_scenario::experiment::Experiment],
    /// Iteration tables, read.
    pub tables: &'a [IterationTable],
}

/// The fit objective of `profile` (see the module docs).
pub fn score(profile: &EngineEntry, m: &Measurements) -> Result<f64, super::CalibrateError> {
    let mut total = 0.0;
    if !m.experiments.is_empty() {
        let serving = serving_yaml(profile);
        let (checks, _) = super::check_experiments(m.experiments, &serving)?;
        total += super::fit_objective(&super::rows(&checks)).0;
    }
    let efficiency = profile.efficiency();
    for table in m.tables {
        total += iterations::objective(&iterations::check(table, efficiency));
    }
    Ok(total)
}

/// A fit's outcome.
pub struct Fitted {
    /// The profile at the best point.
    pub profile: EngineEntry,
    /// Its objective, and the starting profile's.
    pub objective: f64,
    /// The starting profile's objective.
    pub start_objective: f64,
    /// Objective evaluations spent.
    pub evaluations: usize,
}

/// Fits `free` terms of `start` to `m` by compass search (module docs); `progress`
/// hears each kept move (evaluations so far, objective).
pub fn fit(
    start: &EngineEntry,
    free: &[Term],
    m: &Measurements,
    mut progress: impl FnMut(usize, f64),
) -> Result<Fitted, super::CalibrateError> {
    let tie_kv =
        free.iter().any(|t| t.name == "memory") && !free.iter().any(|t| t.name == "kv_memory");
    let apply = |p: &mut EngineEntry, name: &str, v: f64| {
        set(p, name, v);
        if tie_kv && name == "memory" {
            set(p, "kv_memory", v);
        }
    };
    let mut best = start.clone();
    for t in free {
        let v = get(&best, t.name).clamp(t.low, t.high);
        apply(&mut best, t.name, v);
    }
    let start_objective = score(&best, m)?;
    let mut objective = start_objective;
    let mut steps: Vec<f64> = free.iter().map(|t| t.step).collect();
    let mut evaluations = 1;
    const BUDGET: usize = 400;
    'search: loop {
        let mut moved = false;
        for (i, t) in free.iter().enumerate() {
            for sign in [1.0, -1.0] {
                let v = (get(&best, t.name) + sign * steps[i]).clamp(t.low, t.high);
                if v == get(&best, t.name) {
                    continue;
                }
                let mut trial = best.clone();
                apply(&mut trial, t.name, v);
                let s = score(&trial, m)?;
                evaluations += 1;
                if s < objective {
                    objective = s;
                    best = trial;
                    moved = true;
                    progress(evaluations, objective);
                    break;
                }
                if evaluations >= BUDGET {
                    break 'search;
                }
            }
        }
        if !moved {
            for s in &mut steps {
                *s /= 2.0;
            }
            if free
                .iter()
                .zip(&steps)
                .all(|(t, s)| *s < (t.high - t.low) / 1000.0)
            {
                break;
            }
        }
    }
    Ok(Fitted {
        profile: best,
        objective,
        start_objective,
        evaluations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The written profile reads back, field for field, as a profile file.
    #[test]
    fn a_written_profile_reads_back_as_it_was() {
        let mut p = inferscale_scenario::catalog::engine("vllm").unwrap();
        set(&mut p, "allreduce_step_latency", 66.9e-6);
        set(&mut p, "gemm_half_width", 459.0);
        p.name = "mine".into();
        let dir = std::env::temp_dir().join(format!("inferscale-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mine.yaml");
        std::fs::write(&file, profile_yaml(&p)).unwrap();
        let back = inferscale_scenario::catalog::read_engine_profile(&file).unwrap();
        for t in TERMS {
            assert!(
                (get(&back, t.name) - get(&p, t.name)).abs() < 1e-9,
                "{}",
                t.name
            );
        }
        assert_eq!(back.name, "mine");
        assert_eq!(back.fitted_on, p.fitted_on);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A compass search on a table the roofline itself wrote recovers the terms it
    /// was written with, from a start well away.
    #[test]
    fn the_fit_recovers_the_terms_that_made_a_table() {
        let truth = {
            let mut p = inferscale_scenario::catalog::engine("vllm").unwrap();
            set(&mut p, "compute", 0.6);
            set(&mut p, "allreduce_step_latency", 50e-6);
            p
        };
        let model = inferscale_scenario::catalog::model("llama-2-70b").unwrap();
        let gpu = inferscale_scenario::catalog::node_type("a100-80gb")
            .unwrap()
            .accelerator;
        let mut cases = Vec::new();
        for tp in [2, 4, 8] {
            for (prompt, batch) in [(128, 1), (2048, 1), (512, 8)] {
                let mut case = iterations::IterationCase {
                    model: "llama2-70b".into(),
                    hardware: "a100-80gb".into(),
                    tp,
                    prompt,
                    batch,
                    tokens: 16,
                    repetitions: 1,
                    prefill_s: 1.0,
                    decode_s: 1.0,
                };
                let (p, d) = iterations::simulate(&case, &model, &gpu, truth.efficiency());
                (case.prefill_s, case.decode_s) = (p, d);
                cases.push((case, model.clone(), gpu.clone()));
            }
        }
        let tables = [IterationTable {
            cases,
            skipped: Vec::new(),
        }];
        let free = [
            term("compute").unwrap(),
            term("allreduce_step_latency").unwrap(),
        ];
        let start = inferscale_scenario::catalog::engine("vllm").unwrap();
        let m = Measurements {
            experiments: &[],
            tables: &tables,
        };
        let fitted = fit(&start, &free, &m, |_, _| {}).unwrap();
        assert!(fitted.objective < 1e-3, "{}", fitted.objective);
        assert!(
            (fitted.profile.compute - 0.6).abs() < 0.01,
            "{}",
            fitted.profile.compute
        );
        let step = get(&fitted.profile, "allreduce_step_latency");
        assert!((step - 50e-6).abs() < 2e-6, "{step}");
    }
}
