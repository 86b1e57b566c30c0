//! Sweeps end to end: determinism across threads and shards, resume after SIGINT
//! and SIGKILL, growing a sweep, and refusing to mix sweeps.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use inferscale::report::{WALL_TIME_COLUMN, read_parquet};

use crate::support::{TempDir, example_variant, inferscale, inferscale_ok, repo, stderr, stdout};

/// The quickstart sweep (4 points) with `replications` per point, written into
/// `dir`; its runs take tens of milliseconds each, so a kill can land half-way.
fn sweep_file(dir: &TempDir, replications: u32) -> String {
    let replications = format!("replications: {replications}");
    example_variant(
        dir,
        "quickstart-sweep",
        &[("replications: 3", &replications)],
    )
}

/// Every batch of a table, concatenated, without the wall-time column.
fn content(path: &Path) -> RecordBatch {
    let table = read_parquet(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let all = arrow_select::concat::concat_batches(&table.schema, &table.batches).unwrap();
    match all.schema().index_of(WALL_TIME_COLUMN) {
        Ok(i) => {
            let mut all = all;
            all.remove_column(i);
            all
        }
        Err(_) => all,
    }
}

fn run_ids(dir: &Path) -> Vec<String> {
    read_parquet(&dir.join("runs.parquet"))
        .unwrap()
        .string_column("run_id")
        .unwrap()
}

#[test]
fn one_thread_two_threads_and_three_shards_merged_agree() {
    let tmp = TempDir::new("sweep-determinism");
    let file = sweep_file(&tmp, 2);
    let one = tmp.join("one");
    let two = tmp.join("two");
    inferscale_ok(&[
        "run",
        &file,
        "-q",
        "--threads",
        "1",
        "--out",
        one.to_str().unwrap(),
    ]);
    inferscale_ok(&[
        "run",
        &file,
        "-q",
        "--threads",
        "2",
        "--out",
        two.to_str().unwrap(),
    ]);
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let d = tmp.join(&format!("shard{i}"));
        let out = inferscale_ok(&[
            "run",
            &file,
            "--shard",
            &format!("{i}/3"),
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(
            stderr(&out).contains("inferscale merge"),
            "{}",
            stderr(&out)
        );
        assert!(!d.join("runs.parquet").exists(), "a shard does not merge");
        shard_dirs.push(d.to_str().unwrap().to_owned());
    }
    let merged = tmp.join("merged");
    let mut args = vec!["merge"];
    args.extend(shard_dirs.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let out = inferscale_ok(&args);
    assert!(stdout(&out).contains("Pareto front"), "{}", stdout(&out));

    assert_eq!(run_ids(&one).len(), 8, "4 points x 2 replications");
    for table in [
        "runs",
        "models",
        "timeseries",
        "actions",
        "latency",
        "summary",
    ] {
        let file = format!("{table}.parquet");
        let reference = content(&one.join(&file));
        assert!(reference.num_rows() > 0, "{table} is empty");
        for other in [&two, &merged] {
            assert_eq!(
                content(&other.join(&file)),
                reference,
                "{table} differs in {}",
                other.display()
            );
        }
    }
    // The parameter columns are typed, and the point order is the sweep's.
    let runs = read_parquet(&one.join("runs.parquet")).unwrap();
    assert_eq!(
        runs.string_column("variant").unwrap(),
        [
            "fixed-1",
            "fixed-1",
            "fixed-2",
            "fixed-2",
            "hpa",
            "hpa",
            "threshold",
            "threshold"
        ]
    );
    // Common random numbers: replication r of every point saw the same arrivals
    // (fixed-1 drops some, but arrivals are counted at the door).
    let arrivals = runs.f64_column("arrivals").unwrap();
    for p in 1..4 {
        assert_eq!(arrivals[2 * p], arrivals[0]);
        assert_eq!(arrivals[2 * p + 1], arrivals[1]);
    }
    assert_ne!(arrivals[0], arrivals[1]);
}

/// Starts a sweep, waits until some runs are complete, stops it with `signal`, and
/// returns how many were complete when it stopped.
fn interrupt(file: &str, out: &Path, signal: &str) -> usize {
    let child = Command::new(env!("CARGO_BIN_EXE_inferscale"))
        .args([
            "run",
            file,
            "-q",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let parts = out.join("parts/runs");
    // Complete runs only: a hidden temporary is a run still being written.
    let count = || {
        std::fs::read_dir(&parts).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| !e.file_name().to_string_lossy().starts_with('.'))
            })
            .count()
        })
    };
    let started = Instant::now();
    while count() < 3 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    if signal == "-INT" {
        assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
        assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    }
    count()
}

#[test]
fn a_sweep_stopped_by_sigint_or_sigkill_resumes_with_every_run_once() {
    let tmp = TempDir::new("sweep-resume");
    let file = sweep_file(&tmp, 6);
    let reference = tmp.join("reference");
    inferscale_ok(&["run", &file, "-q", "--out", reference.to_str().unwrap()]);
    for signal in ["-INT", "-KILL"] {
        let dir = tmp.join(&format!("stopped{signal}"));
        let done = interrupt(&file, &dir, signal);
        assert!(
            (3..24).contains(&done),
            "{signal}: {done} of 24 runs were done when it stopped"
        );
        let out = inferscale_ok(&["run", &file, "--resume", "--out", dir.to_str().unwrap()]);
        assert!(
            stderr(&out).contains(&format!("Ran {} runs", 24 - done)),
            "{signal}: {}",
            stderr(&out)
        );
        // Every run exactly once, and the same results as an uninterrupted sweep.
        let ids = run_ids(&dir);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!((ids.len(), unique.len()), (24, 24), "{signal}");
        assert_eq!(ids, run_ids(&reference));
        for table in ["runs", "timeseries", "latency"] {
            let file = format!("{table}.parquet");
            assert_eq!(
                content(&dir.join(&file)),
                content(&reference.join(&file)),
                "{signal}: {table}"
            );
        }
        // No temporary file is left anywhere.
        for sub in ["", "parts/runs", "parts/timeseries", "parts/models"] {
            for e in std::fs::read_dir(dir.join(sub)).unwrap() {
                let name = e.unwrap().file_name().into_string().unwrap();
                assert!(
                    !name.contains(".tmp-"),
                    "{signal}: {sub}/{name} left behind"
                );
            }
        }
    }
}

#[test]
fn a_grown_sweep_resumes_only_its_new_runs_and_other_sweeps_are_refused() {
    let tmp = TempDir::new("sweep-grow");
    let file = sweep_file(&tmp, 1);
    let dir = tmp.join("out");
    let dir = dir.to_str().unwrap();
    inferscale_ok(&["run", &file, "-q", "--out", dir]);
    // One more replication per point: 4 new runs, the first 4 kept.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("replications: 1", "replications: 2")).unwrap();
    let out = inferscale_ok(&["run", &file, "--resume", "--out", dir]);
    assert!(
        stderr(&out).contains("Ran 4 runs") && stderr(&out).contains("4 already complete"),
        "{}",
        stderr(&out)
    );
    assert_eq!(run_ids(Path::new(dir)).len(), 8);
    // A different base (another seed) is not resumed into the same directory: bad
    // input, exit 2.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("seed: 5", "seed: 6")).unwrap();
    let out = inferscale(&["run", &file, "--resume", "--out", dir]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another scenario"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_edited_sweep_keeps_its_unchanged_points_and_renumbers_them() {
    let tmp = TempDir::new("sweep-edit");
    let file = sweep_file(&tmp, 1);
    let dir = tmp.join("out");
    let dir = dir.to_str().unwrap();
    inferscale_ok(&["run", &file, "-q", "--out", dir]);
    // Drop fixed-1 and threshold, add fixed-3 between fixed-2 and hpa.
    let text = std::fs::read_to_string(&file).unwrap();
    let start = text.find("  variants:").unwrap();
    let edited = format!(
        "{}  variants:\n    fixed-2: {{policy: null, models.0.replicas: 2}}\n    \
         fixed-3: {{policy: null, models.0.replicas: 3}}\n    hpa: {{}}\n",
        &text[..start]
    );
    std::fs::write(&file, &edited).unwrap();
    let out = inferscale_ok(&["run", &file, "--resume", "--out", dir]);
    let err = stderr(&out);
    assert!(
        err.contains("Ran 1 run ") && err.contains("2 already complete"),
        "{err}"
    );
    assert!(
        err.contains("2 runs in parts/ belong to points no longer"),
        "{err}"
    );
    let runs = read_parquet(&Path::new(dir).join("runs.parquet")).unwrap();
    assert_eq!(
        runs.string_column("variant").unwrap(),
        ["fixed-2", "fixed-3", "hpa"]
    );
    assert_eq!(
        runs.f64_column("point_index").unwrap(),
        [Some(0.0), Some(1.0), Some(2.0)]
    );
    // The same tables as the edited sweep run from scratch.
    let fresh = tmp.join("fresh");
    inferscale_ok(&["run", &file, "-q", "--out", fresh.to_str().unwrap()]);
    for table in ["runs", "timeseries", "summary"] {
        let file = format!("{table}.parquet");
        assert_eq!(
            content(&Path::new(dir).join(&file)),
            content(&fresh.join(&file)),
            "{table}"
        );
    }
}
