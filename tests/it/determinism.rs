//! Same scenario and seed, same results: across repeated runs and thread counts.

use arrow_array::RecordBatch;
use inferscale::report::{WALL_TIME_COLUMN, read_parquet};

use crate::support::{TempDir, inferscale, stderr};

const SCENARIO: &str = "scenarios/mmc.yaml";

fn run(dir: &TempDir, name: &str, threads: &str, extra: &[&str]) -> std::path::PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "run",
        SCENARIO,
        "-q",
        "--threads",
        threads,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let status = inferscale(&args);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    out.join("runs.parquet")
}

/// The table without its wall-clock column.
fn content(path: &std::path::Path) -> Vec<RecordBatch> {
    read_parquet(path)
        .unwrap()
        .batches
        .into_iter()
        .map(|b| {
            let keep: Vec<usize> = (0..b.num_columns())
                .filter(|&i| b.schema().field(i).name() != WALL_TIME_COLUMN)
                .collect();
            b.project(&keep).unwrap()
        })
        .collect()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = TempDir::new("determinism");
    let one = run(&dir, "t1", "1", &[]);
    let two = run(&dir, "t2", "2", &[]);
    let again = run(&dir, "t2-again", "2", &[]);
    let reference = content(&one);
    assert_eq!(reference[0].num_rows(), 10);
    assert_eq!(reference, content(&two), "1 thread vs 2 threads");
    assert_eq!(reference, content(&again), "repeated run");
}

#[test]
fn reproducible_runs_are_byte_identical() {
    let dir = TempDir::new("bytes");
    let one = run(&dir, "t1", "1", &["--reproducible"]);
    let two = run(&dir, "t2", "2", &["--reproducible"]);
    let a = std::fs::read(&one).unwrap();
    let b = std::fs::read(&two).unwrap();
    assert!(
        a == b,
        "runs.parquet differs between 1 and 2 threads ({} vs {} bytes)",
        a.len(),
        b.len()
    );
}
