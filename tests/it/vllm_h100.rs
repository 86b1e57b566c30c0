//! The replay of the real vLLM measurements on H100 (`vllm_h100/experiments/` under
//! the reference directory): every folder whose model the catalog has is replayed
//! — no list of names here — and sends exactly what the load generator sent, stage
//! by stage, as inference-perf's `constant` load counts it.

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
