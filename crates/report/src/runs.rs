//! `runs.parquet`: one row per simulated replication.

use std::path::Path;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use crate::{Provenance, ReportError, write_parquet_atomic};

/// What one replication measured. Times are seconds (`_s`), counts are exact.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    /// Scenario name.
    pub scenario: String,
    /// Replication index, from 0.
    pub replication: u64,
    /// Master seed of the scenario (streams derive from it and the replication).
    pub seed: u64,
    /// Requests that arrived after the warm-up.
    pub arrivals: u64,
    /// Of those, requests that completed before the end.
    pub completed: u64,
    /// Of those, requests still in the system at the end.
    pub in_flight_at_end: u64,
    /// Mean time from arrival to start of service.
    pub mean_wait_s: f64,
    /// Mean time from arrival to completion.
    pub mean_response_s: f64,
    /// Median response time.
    pub p50_response_s: f64,
    /// 90th percentile of response time.
    pub p90_response_s: f64,
    /// 99th percentile of response time.
    pub p99_response_s: f64,
    /// Mean share of servers busy.
    pub utilization: f64,
    /// Time-average number of requests waiting.
    pub mean_queue_len: f64,
    /// Time-average number of requests in the system.
    pub mean_in_system: f64,
    /// Length of the statistics window (duration minus warm-up).
    pub window_s: f64,
    /// Events the engine processed.
    pub events: u64,
    /// Wall-clock time the replication took. The only column that differs between
    /// two runs of the same scenario.
    pub wall_time_s: f64,
}

/// The column that legitimately varies between identical runs.
pub const WALL_TIME_COLUMN: &str = "wall_time_s";

/// The rows as one Arrow batch with proper types: dictionary-encoded strings, UInt64
/// counts, Float64 seconds.
pub fn runs_batch(rows: &[RunRow]) -> RecordBatch {
    let u64_col = |f: fn(&RunRow) -> u64| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<UInt64Array>())
    };
    let f64_col = |f: fn(&RunRow) -> f64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Float64Array>())
    };
    let scenario: DictionaryArray<Int32Type> = rows.iter().map(|r| r.scenario.as_str()).collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("scenario", Arc::new(scenario)),
        ("replication", u64_col(|r| r.replication)),
        ("seed", u64_col(|r| r.seed)),
        ("arrivals", u64_col(|r| r.arrivals)),
        ("completed", u64_col(|r| r.completed)),
        ("in_flight_at_end", u64_col(|r| r.in_flight_at_end)),
        ("mean_wait_s", f64_col(|r| r.mean_wait_s)),
        ("mean_response_s", f64_col(|r| r.mean_response_s)),
        ("p50_response_s", f64_col(|r| r.p50_response_s)),
        ("p90_response_s", f64_col(|r| r.p90_response_s)),
        ("p99_response_s", f64_col(|r| r.p99_response_s)),
        ("utilization", f64_col(|r| r.utilization)),
        ("mean_queue_len", f64_col(|r| r.mean_queue_len)),
        ("mean_in_system", f64_col(|r| r.mean_in_system)),
        ("window_s", f64_col(|r| r.window_s)),
        ("events", u64_col(|r| r.events)),
        (WALL_TIME_COLUMN, f64_col(|r| r.wall_time_s)),
    ];
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| {
            let nullable = matches!(array.data_type(), DataType::Float64);
            Field::new(*name, array.data_type().clone(), nullable)
        })
        .collect();
    let arrays = columns.into_iter().map(|(_, a)| a).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .expect("columns are built from the same rows, so lengths and types agree")
}

/// Writes `rows` to `path` atomically.
pub fn write_runs(
    path: &Path,
    rows: &[RunRow],
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_parquet_atomic(path, &runs_batch(rows), provenance)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::read_parquet;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;

    pub(crate) fn row(replication: u64, wait: f64) -> RunRow {
        RunRow {
            scenario: "mmc".into(),
            replication,
            seed: 42,
            arrivals: 1000 + replication,
            completed: 990,
            in_flight_at_end: 10 + replication,
            mean_wait_s: wait,
            mean_response_s: wait + 1.0,
            p50_response_s: 1.0,
            p90_response_s: 2.0,
            p99_response_s: 4.0,
            utilization: 0.9,
            mean_queue_len: 6.3,
            mean_in_system: 13.5,
            window_s: 3600.0,
            events: 2000,
            wall_time_s: 0.01,
        }
    }

    #[test]
    fn round_trips_with_types_and_provenance() {
        let dir = std::env::temp_dir().join(format!("inferscale-runs-{}", std::process::id()));
        let path = dir.join("runs.parquet");
        let prov = Provenance {
            scenario_text: "name: mmc\n".into(),
            version: "inferscale test".into(),
        };
        write_runs(&path, &[row(0, 0.8), row(1, 0.9)], &prov).unwrap();
        let table = read_parquet(&path).unwrap();
        let batch = &table.batches[0];
        assert_eq!(batch.num_rows(), 2);
        let schema = &table.schema;
        assert_eq!(
            schema
                .metadata()
                .get(crate::parquet_io::SCENARIO_KEY)
                .unwrap(),
            "name: mmc\n"
        );
        assert_eq!(
            schema.field_with_name("scenario").unwrap().data_type(),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        );
        assert_eq!(
            schema.field_with_name("arrivals").unwrap().data_type(),
            &DataType::UInt64
        );
        let wait = batch
            .column_by_name("mean_wait_s")
            .unwrap()
            .as_primitive::<arrow_array::types::Float64Type>();
        assert_eq!(wait.value(1), 0.9);
        assert_eq!(wait.null_count(), 0);
        // No temporary file is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
