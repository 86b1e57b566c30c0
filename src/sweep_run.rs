//! Running a sweep: every run of every point (or of one shard of them) in parallel,
//! each written to the results directory as soon as it finishes.
//!
//! Invariants:
//! - a run's results depend only on its point and replication (its random streams
//!   derive from the scenario seed and the replication index), never on the thread
//!   that ran it, the order runs finished in, or the shard it fell in;
//! - a run is on disk completely or not at all (atomic part files, `runs` last), so a
//!   stop at any moment — Ctrl-C, SIGTERM from a scheduler, SIGKILL, power loss —
//!   loses only the runs in flight, and `--resume` runs exactly the missing ones;
//! - shard `I/N` takes the runs whose position in the sweep is `I` modulo `N`, so
//!   every run belongs to exactly one shard and each shard gets a share of every
//!   point (the expensive ones too).

use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use inferscale_report::{
    Manifest, Provenance, ResultsDir, RunKeys, actions_batch, fleet_batch, latency_batch,
    models_batch, runs_batch, timeseries_batch,
};
use inferscale_scenario::Sweep;
use rayon::prelude::*;

/// One of `count` parts of a sweep, 0-based like Slurm's `SLURM_ARRAY_TASK_ID` and
/// Kubernetes' `JOB_COMPLETION_INDEX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 0.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage = || format!("`{s}` is not a shard; write I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(usage)?;
        let index: usize = i.trim().parse().map_err(|_| usage())?;
        let count: usize = n.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How a sweep runs.
pub struct SweepOptions<'a> {
    /// Worker threads; `None`: one per core.
    pub threads: Option<usize>,
    /// Run only this part of the sweep.
    pub shard: Option<Shard>,
    /// Keep the runs already complete in the directory and run only the others.
    pub resume: bool,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
    /// Write 0 in wall-clock columns.
    pub reproducible: bool,
    /// Set (by a signal handler) to stop starting runs.
    pub stop: &'a AtomicBool,
    /// Wall-clock limit per run: a run that exceeds it is recorded as failed (not
    /// complete, so `--resume` retries it) and the sweep goes on.
    pub run_timeout: Option<Duration>,
    /// Write into a directory that holds other files or another scenario's results
    /// (only the files inferscale writes are removed).
    pub force: bool,
    /// Stages from a binding (a Python object) that replace the scenario's own in
    /// every run (runs with a `policy:` only; not with `run_timeout`).
    pub plugins: crate::runner::Plugins<'a>,
}

/// A directory the sweep refused to write into, or a resume refused: bad input
/// (exit 2), not a failure of the program.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// A run that failed: the sweep recorded it and went on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRun {
    /// Its id.
    pub run_id: String,
    /// Its point's label.
    pub point: String,
    /// Why.
    pub error: String,
}

/// One run of the sweep: a point and a replication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRun {
    /// Index into [`Sweep::points`].
    pub point: usize,
    /// Replication index.
    pub replication: u64,
    /// `<point id>-r<replication>`.
    pub run_id: String,
}

/// Every run of `sweep` in sweep order (point-major), or of one shard of it.
pub fn plan(sweep: &Sweep, shard: Option<Shard>) -> Vec<PlannedRun> {
    let reps = u64::from(sweep.replications);
    sweep
        .points
        .iter()
        .enumerate()
        // The position in `points`, not the point's index in the whole sweep: a pilot
        // (`--only`) keeps some points, with their indices.
        .flat_map(|(position, p)| {
            (0..reps).map(move |r| PlannedRun {
                point: position,
                replication: r,
                run_id: format!("{}-r{r}", p.id),
            })
        })
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index))
        .map(|(_, r)| r)
        .collect()
}

/// What a sweep execution did.
#[derive(Clone, Debug, Default)]
pub struct SweepOutcome {
    /// Runs this invocation was responsible for (the shard's, or all).
    pub planned: usize,
    /// Of those, runs already complete and skipped (`--resume`).
    pub skipped: usize,
    /// Runs completed now.
    pub ran: usize,
    /// Events simulated by the runs completed now.
    pub events: u64,
    /// Whether a stop request ended it before every run was done.
    pub interrupted: bool,
    /// Runs that failed (a stalled clock, an external program, `--run-timeout`),
    /// in sweep order; recorded in the directory, retried by `--resume`.
    pub failed: Vec<FailedRun>,
    /// Wall-clock seconds.
    pub wall_s: f64,
}

/// Runs `sweep` into `dir` (the runs of `opts.shard` only, if given).
///
/// Without `resume`, an unsharded sweep starts from an empty directory; a shard
/// overwrites its own runs and leaves the rest (other shards may be writing there).
/// With `resume`, runs already complete are skipped, after checking the directory
/// holds results of this same sweep.
pub fn execute(
    sweep: &Sweep,
    dir: &ResultsDir,
    opts: &SweepOptions<'_>,
) -> anyhow::Result<SweepOutcome> {
    let started = Instant::now();
    let manifest = Manifest {
        scenario: sweep.name.clone(),
        fingerprint: sweep.fingerprint.clone(),
        runs: sweep.run_count(),
    };
    match dir.manifest() {
        Some(old)
            if old.fingerprint != manifest.fingerprint && (opts.resume || opts.shard.is_some()) =>
        {
            return Err(Refused(format!(
                "`{}` holds results of another scenario (`{}`, fingerprint {}; this one is {}); \
                 resume and shards only add to results of the same scenario and sweep base — \
                 write elsewhere with --out, or rerun without --resume/--shard to start over",
                dir.root().display(),
                old.scenario,
                old.fingerprint,
                manifest.fingerprint
            ))
            .into());
        }
        _ => {}
    }
    let writing = || format!("writing results of `{}`", sweep.name);
    if !opts.resume && opts.shard.is_none() {
        dir.check_clearable(&sweep.name, opts.force)
            .map_err(|e| Refused(e.to_string()))?;
        dir.clear().with_context(writing)?;
    } else if dir.manifest().is_none() {
        // Adding to a directory: it must be new, empty or inferscale's own.
        dir.check_clearable(&sweep.name, opts.force)
            .map_err(|e| Refused(e.to_string()))?;
    }
    dir.remove_temporaries();
    dir.write_manifest(&manifest).with_context(writing)?;

    let all = plan(sweep, opts.shard);
    let done = if opts.resume {
        dir.completed_runs()
    } else {
        Default::default()
    };
    let pending: Vec<&PlannedRun> = all.iter().filter(|r| !done.contains(&r.run_id)).collect();
    let mut outcome = SweepOutcome {
        planned: all.len(),
        skipped: all.len() - pending.len(),
        ..SweepOutcome::default()
    };

    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = opts.threads {
        builder = builder.num_threads(t);
    }
    let pool = builder.build().context("starting worker threads")?;
    let bar = progress_bar(pending.len(), opts.progress);
    let provenance = provenance(sweep);
    let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let failed: Mutex<Vec<(usize, FailedRun)>> = Mutex::new(Vec::new());
    let ran = AtomicU64::new(0);
    let events = AtomicU64::new(0);
    pool.install(|| {
        pending.par_iter().enumerate().for_each(|(position, run)| {
            if opts.stop.load(Ordering::Relaxed) {
                return;
            }
            let result = match simulate(sweep, dir, run, opts.run_timeout, opts.plugins) {
                Ok(one) => write_run(sweep, dir, run, one, &provenance, opts.reproducible),
                Err(error) => {
                    let point = sweep.points[run.point].label.clone();
                    let recorded = dir
                        .record_failure(&run.run_id, &format!("{point}: {error}"))
                        .with_context(|| format!("recording the failure of run {}", run.run_id));
                    let mut list = failed.lock().unwrap_or_else(|p| p.into_inner());
                    list.push((
                        position,
                        FailedRun {
                            run_id: run.run_id.clone(),
                            point,
                            error,
                        },
                    ));
                    bar.inc(1);
                    recorded.map(|()| None)
                }
            };
            match result {
                Ok(Some(e)) => {
                    events.fetch_add(e, Ordering::Relaxed);
                    ran.fetch_add(1, Ordering::Relaxed);
                    bar.inc(1);
                }
                Ok(None) => {}
                Err(e) => {
                    opts.stop.store(true, Ordering::Relaxed);
                    let mut slot = failure.lock().unwrap_or_else(|p| p.into_inner());
                    slot.get_or_insert(e);
                }
            }
        });
    });
    bar.finish_and_clear();
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    failed.sort_by_key(|(position, _)| *position);
    outcome.failed = failed.into_iter().map(|(_, f)| f).collect();
    outcome.ran = ran.into_inner() as usize;
    outcome.events = events.into_inner();
    outcome.interrupted = outcome.ran + outcome.failed.len() < pending.len();
    outcome.wall_s = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// What every table of `sweep` carries in its metadata: the scenario text, the
/// program version and the parameter columns.
pub fn provenance(sweep: &Sweep) -> Provenance {
    Provenance {
        scenario_text: sweep.source_text.clone(),
        version: crate::version_string(),
        params: sweep.params.iter().map(|c| c.name.clone()).collect(),
        baseline: sweep.baseline.clone(),
        group_by: sweep.group_by.clone(),
        pilot: sweep.pilot.clone(),
    }
}

/// Time a run that passed its deadline gets to notice it (the engine looks at the
/// clock every few thousand events) before its thread is abandoned.
const ABANDON_AFTER: Duration = Duration::from_secs(5);

/// Simulates one run, under `timeout` if given; the error says why it failed.
///
/// With a timeout the run goes on its own thread: the engine stops it at the deadline
/// (between two events), and should one event never end, the thread is left behind
/// (it dies with the process) and the sweep goes on.
fn simulate(
    sweep: &Sweep,
    dir: &ResultsDir,
    run: &PlannedRun,
    timeout: Option<Duration>,
    plugins: crate::runner::Plugins<'_>,
) -> Result<crate::runner::OneRun, String> {
    let scenario = &sweep.points[run.point].scenario;
    let spool = scenario
        .output_requests
        .is_some()
        .then(|| dir.spool(&run.run_id));
    if !plugins.is_empty() && timeout.is_some() {
        return Err(
            "a run with a decider or predictor from a binding cannot have a timeout".into(),
        );
    }
    let Some(limit) = timeout else {
        return crate::runner::run_one_decided(
            scenario,
            run.replication,
            inferscale_engine::Watchdog::default(),
            spool.as_deref(),
            plugins,
        )
        .map_err(|e| {
            if let Some(s) = &spool {
                let _ = std::fs::remove_file(s);
            }
            e.to_string()
        });
    };
    let watchdog = inferscale_engine::Watchdog {
        deadline: Some(Instant::now() + limit),
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let scenario = scenario.clone();
    let replication = run.replication;
    let spawned = std::thread::Builder::new()
        .name(format!("run {}", run.run_id))
        .spawn(move || {
            let _ = tx.send(crate::runner::run_one_logged(
                &scenario,
                replication,
                watchdog,
                spool.as_deref(),
            ));
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start a thread for it: {e}"));
    }
    let over = |at: Option<f64>| {
        format!(
            "exceeded --run-timeout {}{}",
            humanize(limit),
            at.map(|t| format!(" (simulated time reached {t:.1} s)"))
                .unwrap_or_else(|| " and did not stop; its thread was abandoned".into())
        )
    };
    match rx.recv_timeout(limit + ABANDON_AFTER) {
        Ok(Ok(one)) => Ok(one),
        Ok(Err(inferscale_cluster::RunError::TimedOut { at_s })) => Err(over(Some(at_s))),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(over(None)),
    }
}

fn humanize(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Writes one simulated run's parts; returns the events it simulated.
fn write_run(
    sweep: &Sweep,
    dir: &ResultsDir,
    run: &PlannedRun,
    mut one: crate::runner::OneRun,
    provenance: &Provenance,
    reproducible: bool,
) -> anyhow::Result<Option<u64>> {
    let point = &sweep.points[run.point];
    if reproducible {
        one.run.wall_time_s = 0.0;
    }
    one.run.requests_id = point.requests_id.clone();
    let keys = RunKeys {
        run_id: &run.run_id,
        point_index: point.index as u64,
        point: &point.label,
        params: &sweep.params,
        values: &point.values,
    };
    let mut tables = vec![
        ("runs", runs_batch(std::slice::from_ref(&one.run))),
        ("latency", latency_batch(&one.latency)),
    ];
    let mut streamed = None;
    if let inferscale_scenario::System::Llm(system) = &point.scenario.system {
        if let Some(spooled) = &one.requests {
            let models: Vec<String> = system
                .cluster
                .models
                .iter()
                .map(|m| m.name.clone())
                .collect();
            let pools: Vec<String> = system
                .cluster
                .pools
                .iter()
                .map(|p| p.node_type.name.clone())
                .collect();
            let of = inferscale_report::RunOf {
                scenario: point.scenario.name.clone(),
                replication: run.replication,
            };
            let batches = spooled
                .batches(of, models.into(), pools.into())
                .with_context(|| format!("reading the requests of run {}", run.run_id))?;
            streamed = Some(inferscale_report::StreamedTable {
                table: "requests",
                empty: inferscale_report::requests_batch(&Default::default(), &[], &[], &[]),
                batches: Box::new(batches),
            });
        }
        tables.push(("models", models_batch(&one.models)));
        if !one.timeseries.is_empty() {
            tables.push(("timeseries", timeseries_batch(&one.timeseries)));
            tables.push(("fleet", fleet_batch(&one.fleet)));
        }
        if point.scenario.policy.is_some() {
            tables.push(("actions", actions_batch(&one.actions)));
        }
    }
    let written = dir
        .write_run_streamed(&keys, &tables, streamed, provenance)
        .with_context(|| format!("writing run {} ({})", run.run_id, point.label));
    if let Some(spooled) = &one.requests {
        spooled.remove();
    }
    written?;
    Ok(Some(one.run.events))
}

fn progress_bar(len: usize, show: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal as _;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{bar:32}] {pos}/{len} runs  {rate}  ETA {eta}",
    )
    .map(|s| {
        s.progress_chars("=> ").with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} runs/s", state.per_sec());
            },
        )
    });
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// The runs `sweep` plans, keyed as the merge checks the parts against them, with the
/// sweep's provenance.
pub fn current_sweep(sweep: &Sweep) -> inferscale_report::CurrentSweep {
    inferscale_report::CurrentSweep {
        runs: plan(sweep, None)
            .into_iter()
            .map(|r| inferscale_report::PlannedKey {
                run_id: r.run_id,
                // The point's index in the whole sweep (a pilot keeps some points).
                point_index: sweep.points[r.point].index as u64,
                point: sweep.points[r.point].label.clone(),
            })
            .collect(),
        provenance: provenance(sweep),
    }
}

/// Merges the part files of `sources` into one file per table in `out` and writes
/// its `summary.parquet`: what `inferscale run` does after the runs (and `merge`).
/// Fails when no complete run is found.
pub fn merge_results(
    sources: &[std::path::PathBuf],
    out: &std::path::Path,
    current: Option<&inferscale_report::CurrentSweep>,
) -> anyhow::Result<inferscale_report::MergeSummary> {
    use anyhow::Context as _;
    let merged = inferscale_report::merge(sources, out, current)
        .with_context(|| format!("merging results into `{}`", out.display()))?;
    if merged.runs == 0 {
        anyhow::bail!(
            "no complete runs found in {}",
            sources
                .iter()
                .map(|s| format!("`{}`", s.display()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let dir = ResultsDir::new(out);
    let runs = inferscale_report::read_parquet(&dir.merged("runs"))?;
    let (_, summary) = inferscale_report::summarize_points(&runs)?;
    let provenance = inferscale_report::Provenance::of_schema(&runs.schema);
    inferscale_report::write_parquet_atomic(&dir.merged("summary"), &summary, &provenance)
        .with_context(|| format!("writing the summary in `{}`", out.display()))?;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        let text = "name: s\nreplications: 3\nduration: 1m\nmodels:\n  - {name: m, generic: {service_time: {exponential: {mean: 1s}}}}\nworkload:\n  - {model: m, arrivals: {poisson: {rate: 0.5/s}}}\nsweep:\n  models.0.generic.servers: [1, 2, 3, 4, 5]\n";
        let sweep = inferscale_scenario::parse_sweep(text, "s.yaml").unwrap();
        let all = plan(&sweep, None);
        assert_eq!(all.len(), 15);
        let mut union: Vec<PlannedRun> = (0..4)
            .flat_map(|i| plan(&sweep, Some(Shard { index: i, count: 4 })))
            .collect();
        assert_eq!(union.len(), 15);
        union.sort_by_key(|r| (r.point, r.replication));
        assert_eq!(union, all);
        let ids: std::collections::BTreeSet<_> = all.iter().map(|r| &r.run_id).collect();
        assert_eq!(ids.len(), 15, "run ids are distinct");
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("2/8".parse(), Ok(Shard { index: 2, count: 8 }));
        assert!("8/8".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
    }
}
