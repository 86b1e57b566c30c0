//! The replay of the real vLLM measurements on H100 (`vllm_h100/experiments/` under
//! the reference directory): every folder whose model the catalog has is replayed
//! — no list of names here — and sends exactly what the load generator sent, stage
//! by stage, as inference-perf's `constant` load counts it; on the `vllm` serving
//! stack the simulated latencies stay within the fidelity bounds of the stages the
//! real server kept up with.

use inferscale::calibrate::{self, METRICS};
use inferscale::scenario::experiment::Experiment;

use crate::support::reference_dir;

#[test]
fn every_measured_experiment_replays_what_the_load_generator_sent() {
    let dir = reference_dir().join("vllm_h100/experiments");
    let folders = Experiment::folders(&dir).unwrap();
    assert!(!folders.is_empty(), "no experiment under {}", dir.display());
    let (checks, skipped) = calibrate::check_all(&dir, "").unwrap();
    assert_eq!(checks.len() + skipped.len(), folders.len());
    for (name, why) in &skipped {
        // Only a model the catalog lacks is passed over.
        assert!(why.contains("not in the model catalog"), "{name}: {why}");
    }
    for c in &checks {
        for (k, stage) in c.stages.iter().enumerate() {
            assert_eq!(
                stage.simulated.sent, stage.measured.sent,
                "{} stage {k}: requests sent",
                c.experiment
            );
            // A stage the server kept up with has every latency on both sides.
            if stage.measured.kept_up() {
                for metric in METRICS {
                    let (m, s) = stage.values(metric, c.output_len);
                    assert!(m.is_some() && s.is_some(), "{} {k} {metric}", c.experiment);
                }
            }
        }
    }
    let rows = calibrate::rows(&checks);
    assert_eq!(
        rows.len(),
        checks.iter().map(|c| c.stages.len()).sum::<usize>() * METRICS.len()
    );
    let report = calibrate::format_report(&checks, &skipped);
    for c in &checks {
        assert!(report.contains(&c.experiment), "{report}");
    }
}

/// The command prints the report, writes the table and the replay scenarios, and
/// refuses a folder that breaks the layout with its file named.
#[test]
fn the_calibrate_command_reports_writes_and_refuses() {
    use crate::support::{TempDir, inferscale, inferscale_ok, stderr, stdout};
    let dir = reference_dir().join("vllm_h100/experiments");
    let first = Experiment::folders(&dir).unwrap().remove(0);
    let tmp = TempDir::new("calibrate");
    let table = tmp.join("calibration.parquet");
    let scenarios = tmp.join("replays");
    let out = inferscale_ok(&[
        "calibrate",
        "--check",
        first.to_str().unwrap(),
        "--out",
        table.to_str().unwrap(),
        "--write-scenarios",
        scenarios.to_str().unwrap(),
    ]);
    let name = first.file_name().unwrap().to_str().unwrap();
    assert!(stdout(&out).contains(name), "{}", stdout(&out));
    let parquet = inferscale::report::read_parquet(&table).unwrap();
    let metrics = parquet.string_column("metric").unwrap();
    assert!(metrics.iter().any(|m| m == "ttft_p50_s"), "{metrics:?}");
    // The replay written is a scenario the reader takes.
    let replay = scenarios.join(format!("{name}.yaml"));
    inferscale_ok(&["validate", replay.to_str().unwrap()]);
    // A broken folder: its file and what is wrong.
    let broken = tmp.join("broken");
    std::fs::create_dir_all(broken.join("results")).unwrap();
    std::fs::write(broken.join("exp-config.yaml"), "model: x\n").unwrap();
    let out = inferscale(&["calibrate", "--check", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("exp-config.yaml") && stderr(&out).contains("tensor_parallelism"),
        "{}",
        stderr(&out)
    );
}

/// Fidelity on the `vllm` stack (what a replay runs on), over every stage the real
/// server kept up with: the median absolute error of TTFT p50, TPOT and end-to-end
/// p50 each at most 10%, no stage worse than 25%, and where the server kept up at
/// its highest rate, the simulated throughput within 10% of the measured one (a
/// simulated server that saturated there would fall behind).
#[test]
fn the_vllm_stack_reproduces_every_stage_the_server_kept_up_with() {
    let dir = reference_dir().join("vllm_h100/experiments");
    let (checks, _) = calibrate::check_all(&dir, "").unwrap();
    let rows = calibrate::rows(&checks);
    let mut report = String::new();
    for (metric, median, worst, n) in calibrate::error_summary(&rows) {
        report.push_str(&format!(
            "{metric}: median {median:.3}, worst {worst:.3} over {n}\n"
        ));
    }
    for metric in calibrate::FITTED {
        let mut errors: Vec<f64> = rows
            .iter()
            .filter(|r| r.kept_up && r.metric == metric)
            .map(|r| {
                r.relative_error
                    .expect("a kept-up stage has both values")
                    .abs()
            })
            .collect();
        assert!(!errors.is_empty(), "no kept-up stage");
        errors.sort_by(f64::total_cmp);
        let median = calibrate::percentile(&errors, 0.5);
        assert!(
            median <= 0.10,
            "{metric}: median error {median:.3}\n{report}"
        );
        let worst = errors[errors.len() - 1];
        assert!(worst <= 0.25, "{metric}: worst stage {worst:.3}\n{report}");
    }
    for c in &checks {
        let top = c
            .stages
            .iter()
            .filter(|s| s.measured.kept_up())
            .max_by(|a, b| a.rate_per_s.total_cmp(&b.rate_per_s));
        if let Some(stage) = top {
            let (m, s) = stage.values("throughput_rps", c.output_len);
            let err = calibrate::relative_error(m, s).unwrap().abs();
            assert!(
                err <= 0.10,
                "{} at {}/s: throughput {m:?} measured, {s:?} simulated",
                c.experiment,
                stage.rate_per_s
            );
        }
    }
}

/// The client latency is a constant in every request's TTFT and end-to-end time,
/// and nothing else: the engine does the same work later, so each stage's TTFT and
/// e2e quantiles move by exactly that much and its TPOT does not.
#[test]
fn the_client_latency_adds_to_ttft_and_e2e_and_nothing_else() {
    let dir = reference_dir().join("vllm_h100/experiments");
    let first = Experiment::folders(&dir)
        .unwrap()
        .into_iter()
        .find(|f| Experiment::read(f).unwrap().catalog_model().is_some())
        .expect("an experiment whose model the catalog has");
    let e = Experiment::read(&first).unwrap();
    let with = calibrate::check(&e, "client_latency: 7ms").unwrap();
    let without = calibrate::check(&e, "client_latency: 0s").unwrap();
    for (a, b) in with.stages.iter().zip(&without.stages) {
        let (ta, tb) = (a.simulated.ttft.unwrap(), b.simulated.ttft.unwrap());
        let (ea, eb) = (a.simulated.e2e.unwrap(), b.simulated.e2e.unwrap());
        for (x, y) in [(ta.0, tb.0), (ta.1, tb.1), (ea.0, eb.0), (ea.1, eb.1)] {
            assert!((x - y - 0.007).abs() < 1e-6, "{x} vs {y}");
        }
        assert_eq!(a.simulated.successes, b.simulated.successes);
    }
}

/// What `calibrate --fit` scores a profile with — the profile written out as
/// `serving:` overrides of every term — replays exactly as the catalog stack it came
/// from: the fit's objective at its start is the objective `--check` prints.
#[test]
fn a_profile_as_overrides_replays_as_the_stack_itself() {
    use inferscale::calibrate::fit;
    let dir = reference_dir().join("vllm_h100/experiments");
    let experiments = calibrate::read_all(&dir).unwrap();
    let (checks, _) = calibrate::check_experiments(&experiments, "").unwrap();
    let direct = calibrate::fit_objective(&calibrate::rows(&checks)).0;
    // Against another stack, so every override must land for the two to agree.
    let vllm = inferscale::scenario::catalog::engine("vllm").unwrap();
    let serving = format!("engine: tensorrt-llm\n{}", fit::serving_yaml(&vllm));
    let (checks, _) = calibrate::check_experiments(&experiments, &serving).unwrap();
    let overridden = calibrate::fit_objective(&calibrate::rows(&checks)).0;
    assert!(direct > 0.0);
    assert_eq!(direct, overridden);
    let m = fit::Measurements {
        experiments: &experiments,
        tables: &[],
    };
    assert_eq!(fit::score(&vllm, &m).unwrap(), direct);
}
