//! The `inferscale` command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use inferscale::cluster::Serving;
use inferscale::report::{
    Provenance, format_model_table, format_summary_table, summarize_runs, write_actions,
    write_models, write_runs, write_timeseries,
};
use inferscale::scenario::{self, Scenario, ScenarioError, System};

/// Simulate AI inference clusters and the autoscaling policies that run them.
#[derive(Parser)]
#[command(name = "inferscale", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every replication of a scenario, print a summary and write results.
    ///
    /// Writes DIR/runs.parquet (one row per replication) and prints, per metric, the
    /// mean across replications with its 95% confidence interval.
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
    /// Redraw the figures from results directories alone: a timeline per model
    /// (load and forecast, replicas, TTFT against the SLA) for each directory with a
    /// time series, and cost against SLA attainment across the directories (one per
    /// policy) with the Pareto front.
    Plot {
        /// Results directories (each with runs.parquet).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to draw [default: the first directory's plots/].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Check a scenario file without running it.
    ///
    /// Exits with 0 and a one-line description if the file is valid, or with 2 and an
    /// error that names the file, line, column and field otherwise.
    Validate {
        /// The scenario file (YAML).
        scenario: PathBuf,
    },
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
        } => run(
            &scenario,
            out.as_deref(),
            RunOptions {
                threads: threads.map(usize::from),
                quiet,
                reproducible,
            },
        ),
        Command::Validate { scenario } => validate(&scenario),
        Command::Plot { dirs, out } => plot(&dirs, out),
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

fn validate(path: &Path) -> anyhow::Result<()> {
    let scenario = scenario::load(path)?;
    println!("ok: {}", describe(&scenario));
    Ok(())
}

fn plot(dirs: &[PathBuf], out: Option<PathBuf>) -> anyhow::Result<()> {
    let out = out.unwrap_or_else(|| dirs[0].join("plots"));
    let (written, front) = inferscale::plots::plot_results(dirs, &out)?;
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
}

fn run(path: &Path, out: Option<&Path>, opts: RunOptions) -> anyhow::Result<()> {
    let RunOptions {
        threads,
        quiet,
        reproducible,
    } = opts;
    let scenario = scenario::load(path)?;
    let out_dir = output_dir(&scenario, out);
    if !quiet {
        eprintln!("Running {}", describe(&scenario));
    }
    let started = Instant::now();
    let results = inferscale::runner::run_all(&scenario, threads)?;
    let mut rows = results.runs;
    if reproducible {
        rows.iter_mut().for_each(|r| r.wall_time_s = 0.0);
    }
    let runs_path = out_dir.join("runs.parquet");
    let provenance = Provenance {
        scenario_text: scenario.source_text.clone(),
        version: inferscale::version_string(),
    };
    write_runs(&runs_path, &rows, &provenance)
        .with_context(|| format!("writing results of `{}`", scenario.name))?;
    let models_path = out_dir.join("models.parquet");
    if !results.models.is_empty() {
        write_models(&models_path, &results.models, &provenance)
            .with_context(|| format!("writing per-model results of `{}`", scenario.name))?;
    }
    if !results.timeseries.is_empty() {
        write_timeseries(
            &out_dir.join("timeseries.parquet"),
            &results.timeseries,
            &provenance,
        )
        .with_context(|| format!("writing the time series of `{}`", scenario.name))?;
    }
    if scenario.policy.is_some() {
        write_actions(
            &out_dir.join("actions.parquet"),
            &results.actions,
            &provenance,
        )
        .with_context(|| format!("writing the scaling actions of `{}`", scenario.name))?;
    }
    if !quiet {
        println!("{}", format_summary_table(&summarize_runs(&rows)));
        if !results.models.is_empty() {
            println!(
                "Per model, mean over replications:\n{}",
                format_model_table(&results.models)
            );
        }
        let events: u64 = rows.iter().map(|r| r.events).sum();
        let wall = started.elapsed().as_secs_f64();
        eprintln!(
            "Simulated {events} events in {wall:.2} s ({:.1} M events/s); wrote {}",
            events as f64 / wall / 1e6,
            runs_path.display()
        );
    }
    Ok(())
}
