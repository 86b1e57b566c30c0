//! The `inferscale` command.

mod calibrate_command;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use inferscale::cluster::Serving;
use inferscale::report::{
    CurrentSweep, ResultsDir, format_model_table_of, format_paired_table, format_points_table,
    format_summary_table, summarize_points, summarize_table,
};
use inferscale::scenario::{self, Scenario, ScenarioError, System};
use inferscale::sweep_run::{Refused, Shard, SweepOptions};

/// Simulate AI inference clusters and the autoscaling policies that run them.
#[derive(Parser)]
#[command(name = "inferscale", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every replication of every point of a scenario's sweep, print a summary
    /// and write results.
    ///
    /// Each run is written to DIR/parts/ as soon as it finishes; at the end the parts
    /// are merged into DIR/runs.parquet (one row per run), models, timeseries,
    /// actions and latency tables, and DIR/summary.parquet (one row per sweep point:
    /// mean and 95% CI of each metric, the cost–SLA Pareto front marked). Ctrl-C stops
    /// after the runs in flight; `--resume` continues.
    Run {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Output directory [default: the scenario's `output.dir`, else results/<name>/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Worker threads for replications [default: one per core]. Results do not
        /// depend on it.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        threads: Option<u16>,
        /// Print only errors.
        #[arg(long, short)]
        quiet: bool,
        /// Write 0 in wall-clock columns, so that two runs of the same scenario give
        /// byte-identical files (for checksums and artifact evaluation).
        #[arg(long)]
        reproducible: bool,
        /// Keep the runs already complete in the output directory and run only the
        /// missing ones (after an interruption, or when the sweep grew).
        #[arg(long)]
        resume: bool,
        /// Run only part I of N of the sweep (0 <= I < N; e.g. a Slurm array's
        /// $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT), without merging; gather the
        /// shards' directories with `inferscale merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        /// Draw the figures of `inferscale plot` into DIR/plots/ when done (also when
        /// the scenario says `output: {plots: true}`).
        #[arg(long)]
        plot: bool,
        /// Wall-clock limit per run (e.g. 10m, 90s): a run that exceeds it is recorded
        /// as failed — not complete, so `--resume` retries it — and the sweep goes on.
        #[arg(long, value_name = "DURATION", value_parser = parse_wall_clock)]
        run_timeout: Option<std::time::Duration>,
        /// Write into DIR even if it holds files inferscale did not write or another
        /// scenario's results. Only the files inferscale writes are ever removed.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        pilot: PilotArgs,
    },
    /// Merge the part files of one or more results directories (the shards of a
    /// sweep) into one dataset: runs, models, timeseries, actions and latency tables
    /// and the per-point summary, rows in sweep order.
    Merge {
        /// Results directories (each with parts/ from `inferscale run`).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write [default: the first directory].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Print only errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Show a scenario's load before simulating it: expected and sampled arrival rate
    /// over time and the token-count distributions, as a table and a figure.
    ///
    /// The requests are replication 0's, exactly those `run` would serve. Writes
    /// DIR/workload.png (or the file given with --plot; `.svg` also works).
    Workload {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Output directory [default: the scenario's `output.dir`, else results/<name>/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Where to draw the figure [default: DIR/workload.png].
        #[arg(long, value_name = "FILE")]
        plot: Option<PathBuf>,
        /// Number of time bins for the rate.
        #[arg(long, value_name = "N", default_value_t = 240, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        bins: u32,
        /// Print the table only; draw nothing.
        #[arg(long)]
        no_plot: bool,
    },
    /// Redraw the figures from results directories alone, comparing every sweep
    /// point of every directory: a timeline per model of selected runs (load and
    /// forecast, replicas, TTFT against the SLA), cost against SLA attainment with 95%
    /// CIs and the Pareto front, latency CDFs, and replicas over time. PNG and SVG.
    Plot {
        /// Results directories (of `inferscale run`, merged or not).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to draw [default: the first directory's plots/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Draw the timeline of this run (its `run_id` in runs.parquet); repeatable.
        /// Default: replication 0 of each point.
        #[arg(long = "run", value_name = "RUN_ID")]
        runs: Vec<String>,
        /// Size of each chart in inches, WIDTHxHEIGHT (e.g. `7x3` across a page);
        /// a timeline stacks its three. Default: 10x3.6.
        #[arg(long, value_name = "WxH")]
        size: Option<String>,
        /// Dots per inch of the PNGs (text and lines scale with it, so a figure keeps
        /// its look and prints sharp). Default: 100.
        #[arg(long, value_name = "N")]
        dpi: Option<f64>,
    },
    /// Compare two sets of results run with the same seed and replications: two
    /// results directories, or two points of one, pairing runs by replication (the
    /// same requests in each). Prints each metric of A and B and the paired
    /// difference B − A with its 95% CI; refuses runs that saw different requests.
    Compare {
        /// Results directory A (its runs.parquet).
        a: PathBuf,
        /// Results directory B [default: A, with two points named by --points].
        b: Option<PathBuf>,
        /// The point of A and the point of B, by label (needed where a directory
        /// holds several).
        #[arg(long, num_args = 2, value_names = ["A", "B"])]
        points: Vec<String>,
    },
    /// Check a scenario file without running it.
    ///
    /// Exits with 0 and a one-line description if the file is valid, or with 2 and an
    /// error that names the file, line, column and field otherwise.
    Validate {
        /// The scenario file (YAML).
        scenario: PathBuf,
        /// Print each point's label and the sections it resolves differently from
        /// the base, whole (so what a variant inherits from the base shows).
        #[arg(long)]
        points: bool,
        #[command(flatten)]
        pilot: PilotArgs,
    },
    /// Compare simulated latencies with measured ones, or fit a serving profile to
    /// them.
    ///
    /// Experiment folders are in inference-perf's layout (`exp-config.yaml` with the
    /// vLLM server's arguments, `results/config.yaml`, one
    /// `results/stage_<k>_lifecycle_metrics.json` per load stage), as
    /// `data/reference/vllm_h100/experiments/`: each is replayed on one replica of
    /// its model (found in the catalog by its repository) and reported stage by
    /// stage — TTFT p50/p90, TPOT, end-to-end p50 and throughput, measured /
    /// simulated (relative error), the median and worst error per metric, the fit
    /// objective. Iteration tables (`*.csv` in the layout of Splitwise's
    /// `perf_model.csv`: static batches' prefill and decode-iteration times) are
    /// compared configuration by configuration, with the decode's trend in TP. A
    /// folder or row whose model the catalog lacks is listed, not checked.
    ///
    ///   inferscale calibrate --check data/reference/vllm_h100/experiments
    ///   inferscale calibrate --check splitwise-2023 data/reference/splitwise/perf_model_a100.csv
    ///   inferscale calibrate --fit DIR --profile-out my-stack.yaml
    Calibrate {
        /// Compare measured with simulated latencies under one serving profile: the
        /// first input when it names one (a catalog stack such as `splitwise-2023`,
        /// or a profile file `*.yaml`), else `vllm`.
        #[arg(long, required_unless_present = "fit", conflicts_with = "fit")]
        check: bool,
        /// Fit a profile's free terms to the inputs (a compass search on
        /// ln(simulated/measured): least squares over the experiments' TTFT p50, TPOT
        /// and end-to-end p50, least absolute deviations over iteration tables),
        /// write it to --profile-out, then print its report.
        #[arg(long)]
        fit: bool,
        /// [PROFILE] then inputs: experiment folders (inference-perf's layout) or
        /// directories of them, and iteration tables (`*.csv`, Splitwise's layout).
        #[arg(required = true, value_name = "INPUT")]
        inputs: Vec<PathBuf>,
        /// Also write the experiments' comparison as a Parquet table (one row per
        /// experiment, stage and metric).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write each replay scenario into DIR (to read, or run with changes).
        #[arg(long, value_name = "DIR")]
        write_scenarios: Option<PathBuf>,
        /// Extra fields for every replay's `serving:` section, as YAML lines (e.g.
        /// `--serving 'prefix_caching: false'`; repeatable): to see what a setting
        /// does to the fit.
        #[arg(long, value_name = "YAML")]
        serving: Vec<String>,
        /// --fit: the profile to start from, a catalog stack or a file (default
        /// `vllm`); its terms that are not free stay as they are.
        #[arg(long, value_name = "PROFILE", requires = "fit")]
        from: Option<String>,
        /// --fit: the terms to fit, comma-separated (compute, memory, kv_memory,
        /// overlap_loss, iteration_overhead, layer_overhead, prefill_layer_overhead,
        /// allreduce_latency, allreduce_step_latency, gemm_half_width,
        /// client_latency). Default: those the inputs constrain.
        #[arg(long, value_name = "TERMS", value_delimiter = ',', requires = "fit")]
        free: Vec<String>,
        /// --fit: where to write the fitted profile (YAML; name it in a scenario as
        /// `serving: {engine: FILE}`).
        #[arg(long, value_name = "FILE", required_if_eq("fit", "true"))]
        profile_out: Option<PathBuf>,
        /// --fit: the fitted profile's name (default: the file's stem).
        #[arg(long, requires = "fit")]
        name: Option<String>,
    },
    /// Print the JSON Schema of the scenario format (draft 2020-12): every field with
    /// its documentation, units as patterns, kinds and catalog presets as enums.
    ///
    /// Save it and point a YAML language server at it (the README's modeline) to get
    /// completion and checking of scenario files in an editor.
    Schema {
        /// Write to this file (atomically) instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Print the external decider protocol's schema instead (the view inferscale
        /// writes each tick and the answer it reads; docs/decider-protocol.md).
        #[arg(long)]
        decider_protocol: bool,
    },
}

/// A pilot: the scenario changed from the command line, without editing its file.
/// Recorded in the results' provenance (`inferscale.pilot`).
#[derive(clap::Args, Debug, Default)]
struct PilotArgs {
    /// Replications of each point instead of the file's `replications`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    replications: Option<u32>,
    /// Run only the points whose label or variant matches PATTERN (`*` any text, `?`
    /// one character; repeatable). Kept points keep their ids, so `--resume` of the
    /// whole sweep reuses them.
    #[arg(long, value_name = "PATTERN")]
    only: Vec<String>,
    /// Set a field before checking, in the sweep's path syntax with a YAML value, e.g.
    /// `--set policy.decider.target=0.7`, `--set 'policy.predictor={kind: oracle}'`
    /// (repeatable, applied in order).
    #[arg(long, value_name = "PATH=VALUE")]
    set: Vec<String>,
}

impl PilotArgs {
    fn pilot(&self) -> scenario::Pilot {
        scenario::Pilot {
            set: self.set.clone(),
            replications: self.replications,
            only: self.only.clone(),
        }
    }
}

/// Exit status for a scenario or command line that is wrong (clap uses 2 as well).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit status for anything else that went wrong.
const EXIT_INTERNAL: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            out,
            threads,
            quiet,
            reproducible,
            resume,
            shard,
            plot: draw,
            run_timeout,
            force,
            pilot,
        } => run(
            &scenario,
            out.as_deref(),
            &pilot.pilot(),
            RunOptions {
                threads: threads.map(usize::from),
                quiet,
                reproducible,
                resume,
                shard,
                plot: draw,
                run_timeout,
                force,
            },
        ),
        Command::Merge { dirs, out, quiet } => merge(&dirs, out, quiet),
        Command::Validate {
            scenario,
            points,
            pilot,
        } => validate(&scenario, points, &pilot.pilot()),
        Command::Compare { a, b, points } => compare(&a, b.as_deref(), &points),
        Command::Schema {
            out,
            decider_protocol,
        } => schema(out.as_deref(), decider_protocol),
        Command::Calibrate {
            check: _,
            fit,
            inputs,
            out,
            write_scenarios,
            serving,
            from,
            free,
            profile_out,
            name,
        } => calibrate_command::run(&calibrate_command::CalibrateArgs {
            fit,
            inputs: &inputs,
            out: out.as_deref(),
            write_scenarios: write_scenarios.as_deref(),
            serving: &serving.join("\n"),
            from: from.as_deref(),
            free: &free,
            profile_out: profile_out.as_deref(),
            name: name.as_deref(),
        }),
        Command::Plot {
            dirs,
            out,
            runs,
            size,
            dpi,
        } => plot(&dirs, out, &runs, size.as_deref(), dpi),
        Command::Workload {
            scenario,
            out,
            plot,
            bins,
            no_plot,
        } => workload(&scenario, out.as_deref(), plot, bins as usize, no_plot),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(bad) = err.downcast_ref::<ScenarioError>() {
                eprintln!("error: {bad}");
                ExitCode::from(EXIT_BAD_INPUT)
            } else if err.downcast_ref::<Refused>().is_some()
                || err.chain().any(|e| {
                    matches!(
                        e.downcast_ref::<inferscale::report::ReportError>(),
                        Some(inferscale::report::ReportError::Mismatch(_))
                    )
                })
            {
                eprintln!("error: {err:#}");
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                eprintln!("error: {err:#}");
                ExitCode::from(EXIT_INTERNAL)
            }
        }
    }
}

fn describe(s: &Scenario) -> String {
    let runs = format!(
        "`{}`: {} replication{} of {} (warm-up {})",
        s.name,
        s.replications,
        if s.replications == 1 { "" } else { "s" },
        s.duration,
        s.warmup
    );
    match &s.system {
        System::Generic(station) => {
            let m = &station.model;
            let rate = station.arrivals.mean_rate_over(s.duration.as_secs_f64());
            format!(
                "{runs}, {} server{} with {} service (mean {:.4} s, SCV {:.3}), arrivals at {rate:.4}/s on average (load {:.3})",
                m.servers,
                if m.servers == 1 { "" } else { "s" },
                m.service_time.family(),
                m.service_time.mean(),
                m.service_time.scv(),
                m.utilization_at(rate),
            )
        }
        System::Llm(system) => {
            let models: Vec<String> = system
                .cluster
                .models
                .iter()
                .map(|d| {
                    let pool = &system.cluster.pools[d.pool].node_type;
                    let detail = match &d.serving {
                        Serving::Llm { server, .. } => {
                            format!("tp {}, {} KV blocks", d.tp(), server.kv_blocks)
                        }
                        Serving::Classic { server, .. } => format!(
                            "batches up to {}, waits up to {}",
                            server.max_batch, server.max_queue_delay
                        ),
                        Serving::Custom(kind) => format!("{kind:?}"),
                    };
                    format!(
                        "{} × {} on {} ({detail})",
                        d.replicas,
                        d.model_name(),
                        pool.name,
                    )
                })
                .collect();
            let rate: f64 = system
                .workloads
                .iter()
                .map(|w| w.source.mean_rate_over(s.duration.as_secs_f64()))
                .sum();
            format!(
                "{runs}, {}; {rate:.4}/s requests on average",
                models.join(", ")
            )
        }
    }
}

fn validate(path: &Path, points: bool, pilot: &scenario::Pilot) -> anyhow::Result<()> {
    // Expanding the sweep checks every point, not only the base.
    let sweep = scenario::load_sweep_with(path, pilot)?;
    print!("ok: {}", describe(&sweep.base));
    if sweep.points.len() > 1 {
        print!(
            "; sweep of {} points ({} runs) over {}",
            sweep.points.len(),
            sweep.run_count(),
            sweep
                .params
                .iter()
                .map(|c| format!("`{}`", c.path))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
    if let Some(p) = &sweep.pilot {
        println!("with {p}");
    }
    if points {
        for point in &sweep.points {
            println!("point {} `{}`:", point.index, point.label);
            if point.changed.is_empty() {
                println!("  (the base as it is)");
            }
            for (section, value) in &point.changed {
                println!("  {section}: {value}");
            }
        }
    }
    for (command, dir) in external_programs(&sweep) {
        println!(
            "note: running this scenario runs the program `{command}` (in {}), once per run, \
             talking to it over stdin/stdout",
            if dir.as_os_str().is_empty() {
                ".".to_string()
            } else {
                dir.display().to_string()
            }
        );
    }
    Ok(())
}

/// Every external program the sweep's points run, once each: a scenario is a
/// program's configuration, and what it starts should be plain before it runs.
fn external_programs(sweep: &inferscale::scenario::Sweep) -> Vec<(String, PathBuf)> {
    let mut seen = Vec::new();
    for point in &sweep.points {
        let Some(policy) = &point.scenario.policy else {
            continue;
        };
        let predictor = match &policy.config.predictor {
            inferscale::policy::PredictorConfig::External(c) => Some(c),
            _ => None,
        };
        let decider = match &policy.config.decider {
            inferscale::policy::DeciderConfig::External(c) => Some(c),
            _ => None,
        };
        for c in predictor.into_iter().chain(decider) {
            let entry = (c.command.join(" "), c.dir.clone());
            if !seen.contains(&entry) {
                seen.push(entry);
            }
        }
    }
    seen
}

fn plot(
    dirs: &[PathBuf],
    out: Option<PathBuf>,
    runs: &[String],
    size: Option<&str>,
    dpi: Option<f64>,
) -> anyhow::Result<()> {
    let out = out.unwrap_or_else(|| dirs[0].join("plots"));
    let size = match (size, dpi) {
        (None, None) => None,
        (size, dpi) => Some(
            inferscale::plots::FigureSize::parse(size, dpi.unwrap_or(100.0)).map_err(Refused)?,
        ),
    };
    let (written, front) = inferscale::plots::plot_results(dirs, &out, runs, size)?;
    for path in written {
        println!("wrote {}", path.display());
    }
    println!(
        "Pareto front (cost against SLA attainment): {}",
        front.join(", ")
    );
    Ok(())
}

fn workload(
    path: &Path,
    out: Option<&Path>,
    plot: Option<PathBuf>,
    bins: usize,
    no_plot: bool,
) -> anyhow::Result<()> {
    let scenario = scenario::load(path)?;
    println!("{}", describe(&scenario));
    let view = inferscale::workload_view::view(&scenario, bins);
    print!("{}", inferscale::workload_view::format_view(&view));
    if no_plot {
        return Ok(());
    }
    let plot = plot.unwrap_or_else(|| output_dir(&scenario, out).join("workload.png"));
    if let Some(dir) = plot.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating `{}`", dir.display()))?;
    }
    inferscale::workload_view::figure(&scenario.name, &view).draw(&plot)?;
    println!("wrote {}", plot.display());
    Ok(())
}

/// Where a scenario's results go: `--out`, else its `output.dir`, else results/<name>/.
fn output_dir(scenario: &Scenario, out: Option<&Path>) -> PathBuf {
    out.map(Path::to_owned)
        .or_else(|| scenario.output_dir.clone())
        .unwrap_or_else(|| Path::new("results").join(&scenario.name))
}

/// How `run` behaves, from its flags.
struct RunOptions {
    threads: Option<usize>,
    quiet: bool,
    reproducible: bool,
    resume: bool,
    shard: Option<Shard>,
    plot: bool,
    run_timeout: Option<std::time::Duration>,
    force: bool,
}

/// `--run-timeout`: a duration with its unit, as in scenarios.
fn parse_wall_clock(text: &str) -> Result<std::time::Duration, String> {
    let d = inferscale::scenario::units::parse_duration(text)?;
    if d.0.is_zero() {
        return Err("the run timeout must be above zero".into());
    }
    Ok(std::time::Duration::from_nanos(d.0.as_nanos()))
}

/// Set by the first Ctrl-C (or SIGTERM): start no more runs.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ctrl-C (and SIGTERM, which schedulers send before killing a job) stops starting
/// runs and lets those in flight finish and be written; a second one exits at once
/// (finished runs are on disk either way; `--resume` redoes only the others).
fn stop_on_signals(quiet: bool) {
    let _ = ctrlc::set_handler(move || {
        if STOP.swap(true, std::sync::atomic::Ordering::SeqCst) {
            eprintln!("\nstopping now; finished runs are kept");
            inferscale::policy::process::kill_all();
            std::process::exit(130);
        }
        if !quiet {
            eprintln!("\nstopping after the runs in flight (press Ctrl-C again to stop at once)");
        }
    });
}

fn run(
    path: &Path,
    out: Option<&Path>,
    pilot: &scenario::Pilot,
    opts: RunOptions,
) -> anyhow::Result<()> {
    let sweep = scenario::load_sweep_with(path, pilot)?;
    let out_dir = output_dir(&sweep.base, out);
    let dir = ResultsDir::new(&out_dir);
    if !opts.quiet {
        eprintln!("Running {}", describe(&sweep.base));
        if let Some(p) = &sweep.pilot {
            eprintln!("Pilot: {p} (recorded in the tables' metadata, `inferscale.pilot`)");
        }
        if sweep.points.len() > 1 {
            eprintln!(
                "Sweep: {} points × {} replication{} = {} runs{}",
                sweep.points.len(),
                sweep.replications,
                if sweep.replications == 1 { "" } else { "s" },
                sweep.run_count(),
                opts.shard
                    .map(|s| format!(
                        " (shard {s} runs {})",
                        inferscale::sweep_run::plan(&sweep, Some(s)).len()
                    ))
                    .unwrap_or_default()
            );
        }
    }
    if !opts.quiet {
        for (command, _) in external_programs(&sweep) {
            eprintln!("Each run starts the external program `{command}`");
        }
    }
    stop_on_signals(opts.quiet);
    let outcome = inferscale::sweep_run::execute(
        &sweep,
        &dir,
        &SweepOptions {
            threads: opts.threads,
            shard: opts.shard,
            resume: opts.resume,
            progress: !opts.quiet,
            reproducible: opts.reproducible,
            stop: &STOP,
            run_timeout: opts.run_timeout,
            force: opts.force,
            plugins: Default::default(),
        },
    )?;
    let done = outcome.skipped + outcome.ran;
    if !opts.quiet {
        let rate = outcome.events as f64 / outcome.wall_s.max(1e-9) / 1e6;
        eprintln!(
            "Ran {} run{} in {:.2} s ({} events, {rate:.1} M events/s){}",
            outcome.ran,
            if outcome.ran == 1 { "" } else { "s" },
            outcome.wall_s,
            outcome.events,
            if outcome.skipped > 0 {
                format!("; {} already complete", outcome.skipped)
            } else {
                String::new()
            }
        );
    }
    let retry = || {
        format!(
            "inferscale run {} --resume{}{}",
            path.display(),
            out.map(|o| format!(" --out {}", o.display()))
                .unwrap_or_default(),
            opts.shard
                .map(|s| format!(" --shard {s}"))
                .unwrap_or_default(),
        )
    };
    if outcome.interrupted {
        eprintln!(
            "stopped: {done} of {} runs complete in `{}`; continue with: {}",
            outcome.planned,
            out_dir.display(),
            retry()
        );
        std::process::exit(130);
    }
    // Failed runs are reported after the others are merged (the summary covers those).
    let report_failures = || {
        if outcome.failed.is_empty() {
            return;
        }
        eprintln!(
            "error: {} of {} runs failed (recorded in `{}`; the others are kept):",
            outcome.failed.len(),
            outcome.planned,
            out_dir.join("parts").join("failed").display()
        );
        for f in outcome.failed.iter().take(10) {
            eprintln!("  run {} ({}): {}", f.run_id, f.point, f.error);
        }
        if outcome.failed.len() > 10 {
            eprintln!("  ... and {} more", outcome.failed.len() - 10);
        }
        eprintln!("retry the failed runs with: {}", retry());
        std::process::exit(i32::from(EXIT_INTERNAL));
    };
    if let Some(shard) = opts.shard {
        report_failures();
        if !opts.quiet {
            eprintln!(
                "shard {shard}: {done} runs in `{}`; when every shard is done, gather them \
                 with: inferscale merge DIR... --out RESULTS",
                out_dir.display()
            );
        }
        return Ok(());
    }
    let current = inferscale::sweep_run::current_sweep(&sweep);
    if done == 0 {
        report_failures();
    }
    finish(
        std::slice::from_ref(&out_dir),
        &out_dir,
        opts.quiet,
        Some(&current),
    )?;
    report_failures();
    if opts.plot || sweep.base.output_plots {
        let (written, _) = inferscale::plots::plot_results(
            std::slice::from_ref(&out_dir),
            &out_dir.join("plots"),
            &[],
            None,
        )?;
        if !opts.quiet {
            let n = written.len() / 2;
            eprintln!(
                "drew {n} figure{} (PNG and SVG) in {}",
                if n == 1 { "" } else { "s" },
                out_dir.join("plots").display()
            );
        }
    }
    Ok(())
}

/// `inferscale schema`: the scenario format's JSON Schema (or the external decider
/// protocol's), to standard output or a file.
fn schema(out: Option<&Path>, decider_protocol: bool) -> anyhow::Result<()> {
    let value = if decider_protocol {
        inferscale::policy::fleet::protocol_schema()
    } else {
        scenario::scenario_schema()
    };
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    match out {
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(text.as_bytes())?;
        }
        Some(path) => {
            let tmp = path.with_extension("json.tmp");
            std::fs::write(&tmp, &text).with_context(|| format!("writing `{}`", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing `{}`", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn compare(a: &Path, b: Option<&Path>, points: &[String]) -> anyhow::Result<()> {
    let read = |dir: &Path| {
        inferscale::report::read_parquet(&dir.join("runs.parquet"))
            .with_context(|| format!("reading the results in `{}`", dir.display()))
    };
    let table_a = read(a)?;
    let table_b = match b {
        Some(b) => Some(read(b)?),
        None => None,
    };
    let (point_a, point_b) = match points {
        [pa, pb] => (Some(pa.as_str()), Some(pb.as_str())),
        _ if b.is_none() => {
            return Err(Refused(format!(
                "comparing two points of `{}` needs `--points A B` (their labels)",
                a.display()
            ))
            .into());
        }
        _ => (None, None),
    };
    let compared = inferscale::report::paired::compare(
        &table_a,
        point_a,
        table_b.as_ref().unwrap_or(&table_a),
        point_b,
    )
    .map_err(|e| Refused(e.to_string()))?;
    print!(
        "{}",
        inferscale::report::paired::format_comparison(&compared)
    );
    Ok(())
}

fn merge(dirs: &[PathBuf], out: Option<PathBuf>, quiet: bool) -> anyhow::Result<()> {
    let out = out.unwrap_or_else(|| dirs[0].clone());
    finish(dirs, &out, quiet, None)
}

/// Merges the parts of `sources` into `out` (only the runs of `current`, when given),
/// writes the per-point summary and prints it: the metric table for a single point,
/// one line per point for a sweep.
fn finish(
    sources: &[PathBuf],
    out: &Path,
    quiet: bool,
    current: Option<&CurrentSweep>,
) -> anyhow::Result<()> {
    let merged = inferscale::sweep_run::merge_results(sources, out, current)?;
    let dir = ResultsDir::new(out);
    let runs = inferscale::report::read_parquet(&dir.merged("runs"))?;
    let (points, _) = summarize_points(&runs)?;
    if merged.incomplete > 0 {
        eprintln!(
            "warning: {} run{} left out: a part is missing or cut short; `inferscale run ... \
             --resume` redoes {}",
            merged.incomplete,
            if merged.incomplete == 1 {
                " was"
            } else {
                "s were"
            },
            if merged.incomplete == 1 { "it" } else { "them" }
        );
    }
    if merged.stale > 0 && !quiet {
        eprintln!(
            "note: {} run{} in parts/ belong to points no longer in the sweep and were left out",
            merged.stale,
            if merged.stale == 1 { "" } else { "s" }
        );
    }
    if let Some(expected) = merged.expected.filter(|&e| e != merged.runs) {
        eprintln!(
            "warning: {} of the sweep's {expected} runs are present; the summary covers those",
            merged.runs
        );
    }
    if quiet {
        return Ok(());
    }
    if points.len() == 1 {
        println!("{}", format_summary_table(&summarize_table(&runs)));
        if let Some(models) = dir.read_table("models")? {
            println!(
                "Per model, mean over replications:\n{}",
                format_model_table_of(&models)
            );
        }
    } else {
        println!("{}", format_points_table(&points));
        if let Some(paired) = format_paired_table(&points) {
            println!("{paired}");
        }
    }
    eprintln!(
        "wrote {} ({} runs){}",
        out.join("runs.parquet").display(),
        merged.runs,
        if points.len() > 1 {
            format!(
                " and {}; draw the figures with: inferscale plot {}",
                out.join("summary.parquet").display(),
                out.display()
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
