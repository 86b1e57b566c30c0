//! `calibration.parquet`: measured against simulated, per experiment, load stage and
//! metric — what `inferscale calibrate` prints, as a table a notebook can read.

use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Float64Array};

use crate::batch::int64;

/// One metric of one load stage of one experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationRow {
    /// The experiment (its folder's name).
    pub experiment: String,
    /// The catalog model replayed.
    pub model: String,
    /// Tensor parallelism.
    pub tp: u32,
    /// The load stage, from 0.
    pub stage: u32,
    /// Requests per second the stage asked for.
    pub rate_per_s: f64,
    /// Whether the measured server kept up (no request failed).
    pub kept_up: bool,
    /// `ttft_p50_s`, `ttft_p90_s`, `tpot_s`, `e2e_p50_s`, `e2e_p90_s`,
    /// `throughput_rps`, `failure_share`.
    pub metric: String,
    /// What the experiment measured; null where it measured nothing (no success).
    pub measured: Option<f64>,
    /// What the replay simulated; null where nothing succeeded.
    pub simulated: Option<f64>,
    /// (simulated − measured) / measured; null where either is missing or the
    /// measured value is zero (a failure share of 0).
    pub relative_error: Option<f64>,
}

/// The rows as one Arrow batch.
pub fn calibration_batch(rows: &[CalibrationRow]) -> arrow_array::RecordBatch {
    let dict = |f: fn(&CalibrationRow) -> &str| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<DictionaryArray<Int32Type>>())
    };
    let float = |f: fn(&CalibrationRow) -> Option<f64>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("experiment", dict(|r| r.experiment.as_str())),
        ("model", dict(|r| r.model.as_str())),
        ("tp", int64(rows.iter().map(|r| Some(u64::from(r.tp))))),
        (
            "stage",
            int64(rows.iter().map(|r| Some(u64::from(r.stage)))),
        ),
        ("rate_per_s", float(|r| Some(r.rate_per_s))),
        (
            "kept_up",
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.kept_up))
                    .collect::<BooleanArray>(),
            ),
        ),
        ("metric", dict(|r| r.metric.as_str())),
        ("measured", float(|r| r.measured)),
        ("simulated", float(|r| r.simulated)),
        ("relative_error", float(|r| r.relative_error)),
    ];
    crate::batch::record_batch(columns, |name, _| {
        matches!(name, "measured" | "simulated" | "relative_error")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn calibration_rows_keep_their_types_and_nulls() {
        let row = CalibrationRow {
            experiment: "e".into(),
            model: "llama-2-7b".into(),
            tp: 1,
            stage: 1,
            rate_per_s: 20.0,
            kept_up: true,
            metric: "ttft_p50_s".into(),
            measured: Some(0.05),
            simulated: Some(0.055),
            relative_error: Some(0.1),
        };
        let none = CalibrationRow {
            metric: "failure_share".into(),
            measured: Some(0.0),
            relative_error: None,
            ..row.clone()
        };
        let batch = calibration_batch(&[row, none]);
        assert_eq!(batch.num_rows(), 2);
        let schema = batch.schema();
        assert!(!schema.field_with_name("kept_up").unwrap().is_nullable());
        assert!(
            schema
                .field_with_name("relative_error")
                .unwrap()
                .is_nullable()
        );
        let errors = batch
            .column_by_name("relative_error")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!((errors.value(0), errors.is_null(1)), (0.1, true));
    }
}
