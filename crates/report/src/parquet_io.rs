//! Writing and reading Parquet files: atomic replacement and provenance metadata.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use thiserror::Error;

/// Metadata key holding the scenario text a table was produced from.
pub const SCENARIO_KEY: &str = "inferscale.scenario";
/// Metadata key holding the program version that produced a table.
pub const VERSION_KEY: &str = "inferscale.version";

/// Why a result file could not be written or read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    /// The file system refused.
    #[error("{action} `{}`: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// Result directories that cannot be merged: they hold different sweeps, or one
    /// holds no results at all (bad input, not a failure).
    #[error("{0}")]
    Mismatch(String),
    /// Arrow or Parquet refused the data.
    #[error("Parquet error on `{}`: {source}", path.display())]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the library said.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where a table came from, stored in its metadata so a file explains itself.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    /// The full text of the scenario file.
    pub scenario_text: String,
    /// The program version (`inferscale 0.1.0`).
    pub version: String,
    /// The sweep's parameter columns, so a reader can tell them from measurements.
    pub params: Vec<String>,
    /// The variant name or point label every point is compared with (`sweep.baseline`).
    pub baseline: Option<String>,
    /// The parameter columns whose values define the groups the Pareto front is
    /// computed within.
    pub group_by: Vec<String>,
    /// The command-line changes the results were made with (`--set`,
    /// `--replications`, `--only`), as options; `None` for the file as written.
    pub pilot: Option<String>,
}

/// Metadata key listing the sweep's parameter columns, one per line.
pub const PARAMS_KEY: &str = "inferscale.params";
/// Metadata key of the sweep's baseline (a variant name or a point label).
pub const BASELINE_KEY: &str = "inferscale.baseline";
/// Metadata key of the command-line changes a sweep was run with.
pub const PILOT_KEY: &str = "inferscale.pilot";
/// Metadata key listing the columns that group points for the Pareto front, one per
/// line.
pub const GROUP_BY_KEY: &str = "inferscale.group_by";

/// Most scenario text a result table stores (it is stored twice: in the Arrow schema
/// and in the Parquet metadata). A longer text — a scenario with a huge inline rate
/// table — is replaced by a note of its length.
pub const MAX_SCENARIO_TEXT_TABLE: usize = 1 << 20;
/// Most scenario text a run's part file stores: parts are many, so a scenario
/// longer than this (a few times a typical one) is noted, not copied, in each.
pub const MAX_SCENARIO_TEXT_PART: usize = 16 << 10;

impl Provenance {
    fn pairs(&self, kind: FileKind) -> Vec<(String, String)> {
        let limit = match kind {
            FileKind::Table => MAX_SCENARIO_TEXT_TABLE,
            FileKind::Part => MAX_SCENARIO_TEXT_PART,
        };
        let text = if self.scenario_text.len() <= limit {
            self.scenario_text.clone()
        } else {
            format!(
                "# The scenario text ({} bytes) is not stored here: a file keeps at most {} \
                 bytes of it.\n",
                self.scenario_text.len(),
                limit
            )
        };
        let mut pairs = vec![
            (SCENARIO_KEY.to_owned(), text),
            (VERSION_KEY.to_owned(), self.version.clone()),
        ];
        if !self.params.is_empty() {
            pairs.push((PARAMS_KEY.to_owned(), self.params.join("\n")));
        }
        if let Some(b) = &self.baseline {
            pairs.push((BASELINE_KEY.to_owned(), b.clone()));
        }
        if !self.group_by.is_empty() {
            pairs.push((GROUP_BY_KEY.to_owned(), self.group_by.join("\n")));
        }
        if let Some(p) = &self.pilot {
            pairs.push((PILOT_KEY.to_owned(), p.clone()));
        }
        pairs
    }

    /// The provenance stored in a table's schema metadata (empty fields where absent).
    pub fn of_schema(schema: &Schema) -> Provenance {
        let get = |k: &str| schema.metadata().get(k).cloned().unwrap_or_default();
        let lines = |k: &str| -> Vec<String> {
            get(k)
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Provenance {
            scenario_text: get(SCENARIO_KEY),
            version: get(VERSION_KEY),
            params: lines(PARAMS_KEY),
            baseline: schema.metadata().get(BASELINE_KEY).cloned(),
            group_by: lines(GROUP_BY_KEY),
            pilot: schema.metadata().get(PILOT_KEY).cloned(),
        }
    }
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> ReportError + 'a {
    move |source| ReportError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

pub(crate) fn pq_err<E: std::error::Error + Send + Sync + 'static>(
    path: &Path,
) -> impl FnOnce(E) -> ReportError + '_ {
    move |source| ReportError::Parquet {
        path: path.to_owned(),
        source: Box::new(source),
    }
}

/// Writes `batch` to `path` as zstd-compressed Parquet, replacing any existing file
/// only once the new one is complete on disk. The provenance goes into both the Arrow
/// schema metadata (what `pyarrow.Table.schema.metadata` shows) and the Parquet
/// key-value metadata (what `pyarrow.parquet.read_metadata` shows).
pub fn write_parquet_atomic(
    path: &Path,
    batch: &RecordBatch,
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_batches_atomic(
        path,
        &batch.schema(),
        std::iter::once(Ok(batch.clone())),
        provenance,
    )
}

/// [`write_parquet_atomic`] for a stream of batches of one schema, written as they
/// come (memory holds one batch at a time). An error from the stream abandons the
/// file and leaves any previous one in place.
pub fn write_batches_atomic(
    path: &Path,
    schema: &Schema,
    batches: impl IntoIterator<Item = Result<RecordBatch, ReportError>>,
    provenance: &Provenance,
) -> Result<(), ReportError> {
    write_atomic(path, schema, batches, provenance, FileKind::Table)
}

/// How a file is written: its compression and whether it is flushed to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// A result table: zstd (small files for the long run), flushed before the rename.
    Table,
    /// One run's part of a table: Snappy (a zstd context per column chunk cost more
    /// than the data of a small part, reading and writing), not flushed.
    Part,
}

/// Writes to a temporary file renamed into place, flushed to disk first for a
/// [`FileKind::Table`]. Without the flush the rename still makes the file appear whole or not
/// at all to readers and after a crash of the process; only a power loss can leave
/// it truncated, which is why readers of undurable files (run parts) check the
/// footer before trusting one.
pub(crate) fn write_atomic(
    path: &Path,
    schema: &Schema,
    batches: impl IntoIterator<Item = Result<RecordBatch, ReportError>>,
    provenance: &Provenance,
    kind: FileKind,
) -> Result<(), ReportError> {
    write_atomic_with(path, schema, batches, provenance, kind, &[])
}

/// [`write_atomic`] with `extra` key-value pairs in the metadata (a run's `runs`
/// part lists the other parts it wrote).
pub(crate) fn write_atomic_with(
    path: &Path,
    schema: &Schema,
    batches: impl IntoIterator<Item = Result<RecordBatch, ReportError>>,
    provenance: &Provenance,
    kind: FileKind,
    extra: &[(String, String)],
) -> Result<(), ReportError> {
    let durable = kind == FileKind::Table;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("cannot create directory", dir))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = write_file(&tmp, schema, batches, provenance, kind, extra).and_then(|()| {
        fs::rename(&tmp, path).map_err(io_err("cannot move into place", path))?;
        // Make the rename itself durable; not every platform can sync a directory.
        if durable && let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_file(
    tmp: &Path,
    schema: &Schema,
    batches: impl IntoIterator<Item = Result<RecordBatch, ReportError>>,
    provenance: &Provenance,
    kind: FileKind,
    extra: &[(String, String)],
) -> Result<(), ReportError> {
    let mut pairs = provenance.pairs(kind);
    pairs.extend(extra.iter().cloned());
    let schema: arrow_schema::SchemaRef = Schema::new(schema.fields().clone())
        .with_metadata(
            pairs
                .iter()
                .cloned()
                .collect::<std::collections::HashMap<_, _>>(),
        )
        .into();
    let props = WriterProperties::builder()
        .set_compression(match kind {
            FileKind::Table => Compression::ZSTD(ZstdLevel::default()),
            FileKind::Part => Compression::SNAPPY,
        })
        .set_key_value_metadata(Some(
            pairs
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v))
                .collect(),
        ))
        .build();
    let file = File::create(tmp).map_err(io_err("cannot create", tmp))?;
    let mut writer =
        ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq_err(tmp))?;
    for batch in batches {
        let batch = batch?.with_schema(schema.clone()).map_err(pq_err(tmp))?;
        writer.write(&batch).map_err(pq_err(tmp))?;
    }
    let file = writer.into_inner().map_err(pq_err(tmp))?;
    if kind == FileKind::Table {
        file.sync_all().map_err(io_err("cannot flush", tmp))?;
    }
    Ok(())
}

/// A Parquet file read back whole: its Arrow schema (with the provenance metadata)
/// and its rows.
#[derive(Clone, Debug)]
pub struct ParquetTable {
    /// The file's Arrow schema, including schema-level metadata.
    pub schema: arrow_schema::SchemaRef,
    /// The rows, in the batches the reader produced.
    pub batches: Vec<RecordBatch>,
}

impl ParquetTable {
    /// A numeric column (Float64, UInt64 or Int64) as f64 across every batch (nulls as
    /// `None`), or `None` when the table has no such column or it is not numeric.
    pub fn f64_column(&self, name: &str) -> Option<Vec<Option<f64>>> {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float64Type, Int64Type, UInt64Type};
        let mut out = Vec::new();
        for batch in &self.batches {
            let column = batch.column_by_name(name)?;
            if let Some(a) = column.as_primitive_opt::<Float64Type>() {
                out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
            } else if let Some(a) = column.as_primitive_opt::<UInt64Type>() {
                out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i) as f64)));
            } else if let Some(a) = column.as_primitive_opt::<Int64Type>() {
                out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i) as f64)));
            } else {
                return None;
            }
        }
        Some(out)
    }

    /// A string column (plain or dictionary-encoded) across every batch.
    pub fn string_column(&self, name: &str) -> Option<Vec<String>> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::Int32Type;
        let mut out = Vec::new();
        for batch in &self.batches {
            let column = batch.column_by_name(name)?;
            if let Some(d) = column.as_dictionary_opt::<Int32Type>() {
                let values = d.values().as_string_opt::<i32>()?;
                out.extend(
                    d.keys().iter().map(|k| {
                        k.map_or_else(String::new, |k| values.value(k as usize).to_owned())
                    }),
                );
            } else if let Some(a) = column.as_string_opt::<i32>() {
                out.extend(a.iter().map(|v| v.unwrap_or_default().to_owned()));
            } else {
                return None;
            }
        }
        Some(out)
    }

    /// A column of any type the tables use, each value as text (`""` for a null):
    /// what groups and pairs points by their parameters.
    pub fn display_column(&self, name: &str) -> Option<Vec<String>> {
        use arrow_array::Array;
        use arrow_array::cast::AsArray;
        if let Some(strings) = self.string_column(name) {
            return Some(strings);
        }
        if let Some(numbers) = self.f64_column(name) {
            return Some(
                numbers
                    .into_iter()
                    .map(|v| v.map(|v| v.to_string()).unwrap_or_default())
                    .collect(),
            );
        }
        let mut out = Vec::new();
        for batch in &self.batches {
            let a = batch.column_by_name(name)?.as_boolean_opt()?;
            out.extend((0..a.len()).map(|i| {
                if a.is_valid(i) {
                    a.value(i).to_string()
                } else {
                    String::new()
                }
            }));
        }
        Some(out)
    }

    /// The scenario text the file was written from (its provenance).
    pub fn scenario_text(&self) -> Option<&str> {
        self.schema.metadata().get(SCENARIO_KEY).map(String::as_str)
    }
}

/// Reads a Parquet file back (for tests and re-plotting).
pub fn read_parquet(path: &Path) -> Result<ParquetTable, ReportError> {
    let file = File::open(path).map_err(io_err("cannot open", path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    let schema = builder.schema().clone();
    let reader = builder.build().map_err(pq_err(path))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(pq_err(path))?;
    Ok(ParquetTable { schema, batches })
}
