//! # inferscale
//!
//! A discrete-event simulator of AI inference clusters and of the autoscaling loop that
//! runs them. This crate is the facade and the command-line program; the work happens
//! in the crates it re-exports:
//!
//! | crate | job |
//! |---|---|
//! | [`engine`] | simulated time, event queue, run loop, seeded random streams, distributions |
//! | [`workload`] | arrival processes, request sizes, trace replay |
//! | [`cluster`] | models, servers, queues, measurements |
//! | [`scenario`] | YAML scenarios → checked configuration, with located errors |
//! | [`report`] | Parquet tables and confidence-interval summaries |
//! | [`plot`] | PNG/SVG charts |
//! | [`policy`] | the scaling loop's algorithms: predictors, HPA, KPA, queueing, cost |
//!
//! [`runner`] ties them together: it runs every replication of a scenario in parallel
//! and turns each into a row of `runs.parquet`.
//!
//! ```no_run
//! let scenario = inferscale::scenario::load("scenarios/mmc.yaml".as_ref())?;
//! let rows = inferscale::runner::run_replications(&scenario, Some(2))?;
//! println!("{}", inferscale::report::format_summary_table(
//!     &inferscale::report::summarize_runs(&rows)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub use inferscale_cluster as cluster;
pub use inferscale_engine as engine;
pub use inferscale_plot as plot;
pub use inferscale_policy as policy;
pub use inferscale_report as report;
pub use inferscale_scenario as scenario;
pub use inferscale_workload as workload;

pub mod calibrate;
pub mod plots;
mod request_rows;
pub mod runner;
pub mod sweep_run;
pub mod workload_view;

/// The program name and version, as stored in result files.
pub fn version_string() -> String {
    format!("inferscale {}", env!("CARGO_PKG_VERSION"))
}
