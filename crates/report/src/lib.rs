//! Results: Parquet tables a notebook can read, and summaries with confidence
//! intervals a person can read.
//!
//! This is the only crate that knows about Arrow and Parquet. It takes plain rows
//! ([`RunRow`]) rather than simulator types, so the simulator crates build and test
//! without the Arrow stack, and a table's schema is defined in exactly one place.
//!
//! Files are written atomically: to a temporary file in the target directory, flushed
//! to disk, then renamed over the target, so an interrupted run never leaves a
//! half-written table behind.
#![deny(missing_docs)]

mod actions;
mod batch;
mod calibration;
pub mod dataset;
mod fleet;
mod latency;
mod models;
pub mod paired;
mod parquet_io;
mod points;
mod requests;
mod runs;
pub mod stats;
mod summary;
mod timeseries;

pub use actions::{ActionRow, actions_batch, write_actions};
pub use calibration::{CalibrationRow, calibration_batch};
pub use dataset::{
    ClearRefusal, CurrentSweep, Manifest, MergeSummary, PlannedKey, RUN_PARTS_KEY, ResultsDir,
    RunKeys, StreamedTable, TABLES, merge, with_keys,
};
pub use fleet::{FleetRow, fleet_batch};
pub use latency::{LatencyRow, latency_batch};
pub use models::{ModelRow, format_model_table, format_model_table_of, models_batch, write_models};
pub use parquet_io::{
    BASELINE_KEY, GROUP_BY_KEY, PARAMS_KEY, PILOT_KEY, ParquetTable, Provenance, ReportError,
    read_parquet, write_batches_atomic, write_parquet_atomic,
};
pub use points::{
    DIFF_METRICS, POINT_METRICS, PointSummary, format_paired_table, format_points_table,
    summarize_points,
};
pub use requests::{OUTCOMES, RequestRow, RequestSpool, RunOf, SpooledRequests, requests_batch};
pub use runs::WALL_TIME_COLUMN;
pub use runs::{LlmColumns, RunRow, runs_batch, write_runs};
pub use summary::{
    MetricSummary, format_number, format_summary_table, summarize_runs, summarize_table,
};
pub use timeseries::{TimeseriesRow, timeseries_batch, write_timeseries};
