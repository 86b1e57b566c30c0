//! A seeded property test of the scenario loader: every example scenario, mutated the
//! way hands and tools break files (a byte changed, a line lost, doubled or moved, a
//! number made absurd, a unit or key misspelt, the file cut short), must load or fail
//! with a located error — never panic. Those that load and are short to simulate are
//! run, and every request must be accounted for exactly once. The fuzz targets in
//! `fuzz/` search the same space without a seed or a bound.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Mutations per example scenario (the default test run stays within seconds).
const MUTATIONS_PER_FILE: usize = 60;
/// Wall-clock time spent simulating mutants, at most.
const SIMULATION_BUDGET: std::time::Duration = std::time::Duration::from_secs(4);

const ABSURD_NUMBERS: [&str; 10] = [
    "0",
    "-1",
    "1e308",
    "-0.0",
    "18446744073709551616",
    "NaN",
    ".inf",
    "4294967295",
    "0.0000001",
    "999999999999",
];
const WORDS: [&str; 10] = ["s", "ms", "/s", "null", "~", "[]", "{}", "&a", "*a", "\"\""];

fn mutate(text: &str, rng: &mut impl Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        return String::new();
    }
    let pick = |rng: &mut dyn Rng, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    for _ in 0..1 + pick(rng, 3) {
        let i = pick(rng, lines.len());
        match pick(rng, 9) {
            0 => {
                lines.remove(i);
                if lines.is_empty() {
                    break;
                }
            }
            1 => {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
            2 => {
                let j = pick(rng, lines.len());
                lines.swap(i, j);
            }
            3 => {
                // A number made absurd.
                let line = &lines[i];
                if let Some(at) = line.find(|c: char| c.is_ascii_digit()) {
                    let end = line[at..]
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .map_or(line.len(), |e| at + e);
                    let n = ABSURD_NUMBERS[pick(rng, ABSURD_NUMBERS.len())];
                    lines[i] = format!("{}{n}{}", &line[..at], &line[end..]);
                }
            }
            4 => {
                // A byte changed (kept ASCII so the text stays UTF-8 here; the
                // loader's own UTF-8 check has a bad scenario).
                let mut bytes = lines[i].clone().into_bytes();
                if !bytes.is_empty() {
                    let at = pick(rng, bytes.len());
                    const BYTES: &[u8] = b" :-[]{},#&*!|>0123456789aeiouxyz\t";
                    bytes[at] = BYTES[pick(rng, BYTES.len())];
                }
                lines[i] = String::from_utf8(bytes).unwrap_or_default();
            }
            5 => {
                // A word or unit where a value was.
                let line = &lines[i];
                if let Some(at) = line.find(": ") {
                    let w = WORDS[pick(rng, WORDS.len())];
                    lines[i] = format!("{}: {w}", &line[..at]);
                }
            }
            6 => {
                // A misspelt key.
                let line = lines[i].clone();
                if let Some(at) = line.find(':') {
                    let key_start = line[..at].rfind([' ', '{', ',']).map_or(0, |s| s + 1);
                    if at > key_start {
                        lines[i] = format!("{}x{}", &line[..key_start], &line[key_start + 1..]);
                    }
                }
            }
            7 => {
                // Cut short.
                lines.truncate(i + 1);
                let keep = pick(rng, lines[i].len() + 1);
                let mut cut = lines[i].clone();
                while !cut.is_char_boundary(keep.min(cut.len())) {
                    cut.pop();
                }
                cut.truncate(keep.min(cut.len()));
                lines[i] = cut;
            }
            _ => {
                // Indentation changed.
                lines[i] = if pick(rng, 2) == 0 {
                    format!("  {}", lines[i])
                } else {
                    lines[i].trim_start().to_owned()
                };
            }
        }
    }
    lines.join("\n") + "\n"
}

#[test]
fn mutated_examples_load_or_fail_located_and_runs_conserve_requests() {
    let files = crate::support::example_scenarios();
    assert!(files.len() >= 15, "{} example scenarios", files.len());
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_261_201);
    let (mut loaded, mut refused, mut simulated) = (0, 0, 0);
    let started = std::time::Instant::now();
    let mut simulating = std::time::Duration::ZERO;
    let mut problems = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file = path.to_str().unwrap();
        for k in 0..MUTATIONS_PER_FILE {
            let mutated = mutate(&text, &mut rng);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                inferscale::scenario::parse_sweep(&mutated, file)
            }));
            let what = format!(
                "{} mutation {k}",
                path.file_name().unwrap().to_string_lossy()
            );
            match outcome {
                Err(_) => problems.push(format!("{what}: the loader panicked\n{mutated}")),
                Ok(Err(e)) => {
                    refused += 1;
                    let located = e
                        .invalid()
                        .is_some_and(|i| i.line > 0 || i.message.contains("the scenario is empty"));
                    if !located {
                        problems.push(format!("{what}: error without a location: {e}"));
                    }
                }
                Ok(Ok(sweep)) => {
                    loaded += 1;
                    let scenario = &sweep.points[0].scenario;
                    // A mutant every few is simulated, within a time budget.
                    if !short_enough(scenario) || k % 3 != 0 || simulating > SIMULATION_BUDGET {
                        continue;
                    }
                    simulated += 1;
                    let begun = std::time::Instant::now();
                    let watchdog = inferscale::engine::Watchdog {
                        deadline: Some(begun + std::time::Duration::from_millis(300)),
                        ..Default::default()
                    };
                    let run = catch_unwind(AssertUnwindSafe(|| {
                        inferscale::runner::run_one_watched(scenario, 0, watchdog)
                    }));
                    simulating += begun.elapsed();
                    match run {
                        Err(_) => problems.push(format!("{what}: the run panicked\n{mutated}")),
                        Ok(Err(inferscale::cluster::RunError::TimedOut { .. })) => {}
                        Ok(Err(e)) => problems.push(format!("{what}: the run failed: {e}")),
                        Ok(Ok(one)) => {
                            let r = &one.run;
                            let (dropped, rejected) =
                                r.llm.as_ref().map_or((0, 0), |l| (l.dropped, l.rejected));
                            if r.arrivals != r.completed + dropped + rejected + r.in_flight_at_end {
                                problems.push(format!(
                                    "{what}: arrivals {} ≠ completed {} + dropped {dropped} + \
                                     rejected {rejected} + in flight {}",
                                    r.arrivals, r.completed, r.in_flight_at_end
                                ));
                            }
                            for m in &one.models {
                                if m.arrivals
                                    != m.completed + m.dropped + m.rejected + m.in_flight_at_end
                                {
                                    problems.push(format!("{what}: model {} miscounted", m.model));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} mutations broke an invariant:\n{}",
        problems.len(),
        files.len() * MUTATIONS_PER_FILE,
        problems.join("\n---\n")
    );
    eprintln!(
        "{loaded} loaded, {refused} refused, {simulated} simulated ({:.1} s of {:.1} s)",
        simulating.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    // The mutations exercise both sides.
    assert!(
        refused > 100 && loaded > 50,
        "{loaded} loaded, {refused} refused"
    );
    assert!(simulated > 10, "{simulated} simulated");
}

/// Whether a loaded mutant is cheap enough to simulate here: no external program, a
/// short horizon and few replicas (the watchdog's deadline bounds the rest).
fn short_enough(s: &inferscale::scenario::Scenario) -> bool {
    let external = s.policy.as_ref().is_some_and(|p| {
        matches!(
            p.config.predictor,
            inferscale::policy::PredictorConfig::External(_)
        )
    });
    let replicas_ok = match &s.system {
        inferscale::scenario::System::Llm(l) => {
            l.cluster.models.iter().map(|m| m.replicas).sum::<u32>() <= 64
        }
        inferscale::scenario::System::Generic(g) => g.model.servers <= 1_000,
    };
    !external && replicas_ok && s.duration.as_secs_f64() <= 4.0 * 3600.0
}
