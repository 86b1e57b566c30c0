//! Building a table's Arrow batch from named columns, with a schema that depends on
//! the column names and types only, never on the data: every part file of a sweep must
//! have the same schema for the parts to merge into one table.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

/// The batch of `columns` (all of one length, built from the same rows); a column is
/// nullable where `nullable(name, type)` says so. In a nullable Float64 column a NaN
/// (a quantile of no values, a cost per zero requests) is written as null: "no value"
/// reads as null in polars, pandas and DuckDB, where a NaN would pass for a number.
pub(crate) fn record_batch(
    columns: Vec<(&str, ArrayRef)>,
    nullable: impl Fn(&str, &DataType) -> bool,
) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a)| Field::new(*name, a.data_type().clone(), nullable(name, a.data_type())))
        .collect();
    let arrays = columns
        .into_iter()
        .zip(&fields)
        .map(|((_, a), field)| {
            if !field.is_nullable() {
                return a;
            }
            match a.as_any().downcast_ref::<arrow_array::Float64Array>() {
                Some(floats) => Arc::new(
                    floats
                        .iter()
                        .map(|v| v.filter(|x| !x.is_nan()))
                        .collect::<arrow_array::Float64Array>(),
                ) as ArrayRef,
                None => a,
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .expect("columns are built from the same rows, so lengths and types agree, and only nullable columns hold nulls")
}

/// Counts as an Int64 column: signed, so that differences of counts (`to − from`,
/// this interval − the last) are plain subtractions in polars, pandas and DuckDB
/// rather than wrapping unsigned ones. Counts never come near 2⁶³.
pub(crate) fn int64<I: IntoIterator<Item = Option<u64>>>(values: I) -> ArrayRef {
    Arc::new(
        values
            .into_iter()
            .map(|v| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX)))
            .collect::<arrow_array::Int64Array>(),
    )
}
