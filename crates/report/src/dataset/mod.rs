//! A results directory as one dataset across runs, threads, restarts and machines.
//!
//! Each run writes its rows of every table as its own part file,
//! `DIR/parts/<table>/<run_id>.parquet`, atomically and `runs` last: a run is
//! complete exactly when its `runs` part exists, which is what `--resume` checks and
//! why an interrupted sweep loses nothing but the runs in flight. Shards of a sweep
//! write parts with distinct run ids, so parts from several machines copied into one
//! directory form one dataset (`DIR/parts/runs/*.parquet` reads as one table in
//! pandas, polars and DuckDB). [`merge`] then writes one file per table,
//! `DIR/<table>.parquet`, rows in sweep order (point, then replication), the same
//! bytes however the runs were spread over threads and shards.
//!
//! Every part carries the run's keys in front of the table's own columns: `run_id`,
//! `point_index`, `point` and one typed column per sweep parameter.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use inferscale_params::{ParamColumn, ParamKind, ParamValue};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::parquet_io::{io_err, pq_err};
use crate::{Provenance, ReportError, write_batches_atomic};

mod merge;

pub use merge::{CurrentSweep, MergeSummary, PlannedKey, merge};

/// The tables of a results directory, in the order a run writes them (`runs` last:
/// its part marks the run complete).
pub const TABLES: [&str; 7] = [
    "models",
    "timeseries",
    "fleet",
    "actions",
    "latency",
    "requests",
    "runs",
];

/// A table a run writes from a stream of batches rather than one batch in memory
/// (`requests`: as many rows as the run's sampled requests): its name, an empty batch
/// of its columns, and the batches.
pub struct StreamedTable<'a> {
    /// The table, one of [`TABLES`].
    pub table: &'a str,
    /// No rows, the table's columns (the file's schema before the first batch).
    pub empty: RecordBatch,
    /// The rows.
    pub batches: Box<dyn Iterator<Item = Result<RecordBatch, ReportError>> + 'a>,
}

/// Name of the file, under `DIR/parts/`, that says which sweep the parts belong to.
const MANIFEST: &str = "MANIFEST";

/// Metadata key of a run's `runs` part: every other part the run wrote and its size
/// in bytes, `table=bytes` a line. A run is complete when its `runs` part and each
/// part it lists read back whole.
pub const RUN_PARTS_KEY: &str = "inferscale.run_parts";

/// Where failed runs leave their error, `DIR/parts/failed/<run_id>.txt`: not a table,
/// so a failed run is never complete and `--resume` retries it.
const FAILED: &str = "failed";

/// Names inferscale writes at the top of a results directory.
pub(super) fn written_by_inferscale(name: &str) -> bool {
    name == "parts"
        || name == "plots"
        || name == "workload.png"
        || name == "workload.svg"
        || name
            .strip_suffix(".parquet")
            .is_some_and(|t| TABLES.contains(&t) || t == "summary")
        || (name.starts_with('.') && name.contains(".tmp-"))
}

/// Why a directory may not be cleared for a new run.
#[derive(Debug, thiserror::Error)]
pub enum ClearRefusal {
    /// It holds results of another scenario.
    #[error(
        "`{dir}` holds results of another scenario (`{other}`); pass --force to replace \
         them, or write elsewhere with --out"
    )]
    OtherScenario {
        /// The directory.
        dir: String,
        /// The scenario whose results it holds.
        other: String,
    },
    /// It holds files inferscale did not write.
    #[error(
        "`{dir}` is not empty and is not an inferscale results directory (it holds {found}); \
         inferscale writes only into a new or empty directory or its own results of the \
         same scenario — write elsewhere with --out, or pass --force to write there (only \
         the files inferscale writes are ever removed)"
    )]
    NotResults {
        /// The directory.
        dir: String,
        /// Some of what it holds.
        found: String,
    },
}

/// The key columns every table of a run starts with.
#[derive(Clone, Copy, Debug)]
pub struct RunKeys<'a> {
    /// Stable run id: the point's id and the replication.
    pub run_id: &'a str,
    /// The point's position in the sweep.
    pub point_index: u64,
    /// The point's label.
    pub point: &'a str,
    /// The sweep's parameter columns.
    pub params: &'a [ParamColumn],
    /// This run's parameter values, one per column.
    pub values: &'a [ParamValue],
}

/// `batch` with the run's key columns in front, each constant over its rows.
pub fn with_keys(batch: &RecordBatch, keys: &RunKeys<'_>) -> Result<RecordBatch, ReportError> {
    let n = batch.num_rows();
    let mut fields = vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("point_index", DataType::Int64, false),
        Field::new("point", DataType::Utf8, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![keys.run_id; n])),
        crate::batch::int64(vec![Some(keys.point_index); n]),
        Arc::new(StringArray::from(vec![keys.point; n])),
    ];
    for (column, value) in keys.params.iter().zip(keys.values) {
        let (data_type, array): (DataType, ArrayRef) = match (column.kind, value) {
            (ParamKind::Int, ParamValue::Int(v)) => {
                (DataType::Int64, Arc::new(Int64Array::from(vec![*v; n])))
            }
            (ParamKind::Float, ParamValue::Float(v)) => {
                (DataType::Float64, Arc::new(Float64Array::from(vec![*v; n])))
            }
            (ParamKind::Bool, ParamValue::Bool(v)) => {
                (DataType::Boolean, Arc::new(BooleanArray::from(vec![*v; n])))
            }
            // A removed section or field: a null of the column's type.
            (kind, ParamValue::Null) => {
                let data_type = match kind {
                    ParamKind::Int => DataType::Int64,
                    ParamKind::Float => DataType::Float64,
                    ParamKind::Bool => DataType::Boolean,
                    ParamKind::Text => DataType::Utf8,
                };
                let nulls = arrow_array::new_null_array(&data_type, n);
                (data_type, nulls)
            }
            (_, v) => (
                DataType::Utf8,
                Arc::new(StringArray::from(vec![v.to_string(); n])),
            ),
        };
        if batch.schema().field_with_name(&column.name).is_ok() {
            return Err(ReportError::Parquet {
                path: PathBuf::from(&column.name),
                source: format!(
                    "the sweep parameter `{}` would be named like a result column",
                    column.path
                )
                .into(),
            });
        }
        // Nullable: a point may remove what the axis sets (`policy: null`).
        fields.push(Field::new(&column.name, data_type, true));
        columns.push(array);
    }
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        fields.push(field.as_ref().clone());
        columns.push(column.clone());
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(pq_err(Path::new("")))
}

/// Which sweep a directory's parts belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Scenario name.
    pub scenario: String,
    /// The sweep's fingerprint (the scenario crate's `Sweep::fingerprint`).
    pub fingerprint: String,
    /// Runs in the whole sweep (all shards).
    pub runs: usize,
}

/// A results directory: where parts and merged tables go.
#[derive(Clone, Debug)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// The results directory at `root` (created when something is written).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        ResultsDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the parts of `table` go.
    pub fn parts_dir(&self, table: &str) -> PathBuf {
        self.root.join("parts").join(table)
    }

    /// The part of `table` written by run `run_id`.
    pub fn part(&self, table: &str, run_id: &str) -> PathBuf {
        self.parts_dir(table).join(format!("{run_id}.parquet"))
    }

    /// Where run `run_id` spools its sampled requests while it runs (a hidden
    /// temporary name, which the directory's checks know as inferscale's own).
    pub fn spool(&self, run_id: &str) -> PathBuf {
        self.parts_dir("requests")
            .join(format!(".{run_id}.spool.tmp-{}", std::process::id()))
    }

    /// The merged file of `table`.
    pub fn merged(&self, table: &str) -> PathBuf {
        self.root.join(format!("{table}.parquet"))
    }

    /// Writes one run's tables, each keyed, `runs` last, listing the others with
    /// their sizes in its metadata ([`RUN_PARTS_KEY`]). Tables not given are not
    /// written (a generic run has no time series). Clears a failure recorded for the
    /// run before.
    pub fn write_run(
        &self,
        keys: &RunKeys<'_>,
        tables: &[(&str, RecordBatch)],
        provenance: &Provenance,
    ) -> Result<(), ReportError> {
        self.write_run_streamed(keys, tables, None, provenance)
    }

    /// [`ResultsDir::write_run`], with one table written from a stream of batches.
    pub fn write_run_streamed(
        &self,
        keys: &RunKeys<'_>,
        tables: &[(&str, RecordBatch)],
        mut streamed: Option<StreamedTable<'_>>,
        provenance: &Provenance,
    ) -> Result<(), ReportError> {
        let mut written = Vec::new();
        for table in TABLES {
            if let Some(s) = streamed.take_if(|s| s.table == table) {
                let schema = with_keys(&s.empty, keys)?.schema();
                let path = self.part(table, keys.run_id);
                let keyed = s.batches.map(|b| b.and_then(|b| with_keys(&b, keys)));
                crate::parquet_io::write_atomic_with(
                    &path,
                    &schema,
                    keyed,
                    provenance,
                    crate::parquet_io::FileKind::Part,
                    &[],
                )?;
                let size = fs::metadata(&path)
                    .map_err(io_err("cannot read back", &path))?
                    .len();
                written.push(format!("{table}={size}"));
                continue;
            }
            if let Some((_, batch)) = tables.iter().find(|(t, _)| *t == table) {
                let keyed = with_keys(batch, keys)?;
                let path = self.part(table, keys.run_id);
                // Parts are not flushed to disk one by one (a flush per file costs
                // 5% of a sweep of short runs): the rename keeps them whole against a
                // crash of the process, and a part cut short by a power loss fails
                // the check of `completed_runs`, so its run is redone. They are
                // Snappy-compressed: cheap to open, and merged into zstd tables.
                let extra = if table == "runs" {
                    vec![(RUN_PARTS_KEY.to_owned(), written.join("\n"))]
                } else {
                    Vec::new()
                };
                crate::parquet_io::write_atomic_with(
                    &path,
                    &keyed.schema(),
                    std::iter::once(Ok(keyed.clone())),
                    provenance,
                    crate::parquet_io::FileKind::Part,
                    &extra,
                )?;
                if table != "runs" {
                    let size = fs::metadata(&path)
                        .map_err(io_err("cannot read back", &path))?
                        .len();
                    written.push(format!("{table}={size}"));
                }
            }
        }
        let _ = fs::remove_file(self.failure_file(keys.run_id));
        Ok(())
    }

    /// The ids of the runs whose outputs are complete: a `runs` part whose footer
    /// reads back, and every part it lists there with the size it lists.
    pub fn completed_runs(&self) -> std::collections::BTreeSet<String> {
        part_files(&self.parts_dir("runs"))
            .into_iter()
            .filter_map(|p| {
                let id = p.file_stem()?.to_str()?.to_owned();
                self.run_complete(&p, &id).then_some(id)
            })
            .collect()
    }

    /// Whether run `id`, whose `runs` part is `runs_part`, is on disk whole.
    fn run_complete(&self, runs_part: &Path, id: &str) -> bool {
        let Some(listed) = fs::File::open(runs_part)
            .ok()
            .and_then(|f| ParquetRecordBatchReaderBuilder::try_new(f).ok())
            .map(|b| {
                b.metadata()
                    .file_metadata()
                    .key_value_metadata()
                    .and_then(|kv| kv.iter().find(|k| k.key == RUN_PARTS_KEY))
                    .and_then(|k| k.value.clone())
            })
        else {
            return false;
        };
        match listed {
            Some(listed) => listed.lines().filter(|l| !l.is_empty()).all(|line| {
                let Some((table, size)) = line.split_once('=') else {
                    return false;
                };
                let path = self.part(table, id);
                TABLES.contains(&table)
                    && fs::metadata(&path).is_ok_and(|m| size.parse() == Ok(m.len()))
                    && readable(&path)
            }),
            // Written before parts were listed: every part of the run must read.
            None => TABLES.iter().all(|t| {
                let path = self.part(t, id);
                !path.exists() || readable(&path)
            }),
        }
    }

    /// Records that run `run_id` failed, with why (atomically). A failed run is not
    /// complete: `--resume` runs it again.
    pub fn record_failure(&self, run_id: &str, message: &str) -> Result<(), ReportError> {
        let dir = self.root.join("parts").join(FAILED);
        fs::create_dir_all(&dir).map_err(io_err("cannot create directory", &dir))?;
        let path = self.failure_file(run_id);
        let tmp = dir.join(format!(".{run_id}.txt.tmp-{}", std::process::id()));
        fs::write(&tmp, format!("{message}\n"))
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(io_err("cannot write", &path))
    }

    /// The runs recorded as failed, with their errors, by run id.
    pub fn failures(&self) -> BTreeMap<String, String> {
        let Ok(entries) = fs::read_dir(self.root.join("parts").join(FAILED)) else {
            return BTreeMap::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                let id = name
                    .strip_suffix(".txt")
                    .filter(|_| !name.starts_with('.'))?;
                let text = fs::read_to_string(e.path()).ok()?;
                Some((id.to_owned(), text.trim_end().to_owned()))
            })
            .collect()
    }

    fn failure_file(&self, run_id: &str) -> PathBuf {
        self.root
            .join("parts")
            .join(FAILED)
            .join(format!("{run_id}.txt"))
    }

    /// Whether a run of `scenario` may clear this directory: it does not exist, is
    /// empty, or holds inferscale's results of the same scenario (by name: an edited
    /// scenario replaces its own results). `force` allows any directory; even then
    /// [`Self::clear`] removes only what inferscale writes.
    pub fn check_clearable(&self, scenario: &str, force: bool) -> Result<(), ClearRefusal> {
        let dir = self.root.display().to_string();
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Ok(());
        };
        let names: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if names.is_empty() || force {
            return Ok(());
        }
        let foreign: Vec<&String> = names.iter().filter(|n| !written_by_inferscale(n)).collect();
        if !foreign.is_empty() || (names.iter().any(|n| n == "parts") && self.manifest().is_none())
        {
            let mut shown: Vec<String> = foreign.iter().take(3).map(|n| format!("`{n}`")).collect();
            if foreign.len() > 3 {
                shown.push(format!("and {} more", foreign.len() - 3));
            }
            if shown.is_empty() {
                shown.push("a `parts` folder with no manifest".into());
            }
            return Err(ClearRefusal::NotResults {
                dir,
                found: shown.join(", "),
            });
        }
        match self.manifest() {
            Some(m) if m.scenario != scenario => Err(ClearRefusal::OtherScenario {
                dir,
                other: m.scenario,
            }),
            _ => Ok(()),
        }
    }

    /// Forgets every result in the directory, for a fresh start: the parts, failure
    /// records and manifest inferscale wrote, and the merged tables. Only files with
    /// the names inferscale gives them are removed, then the folders they leave
    /// empty; anything else stays.
    pub fn clear(&self) -> Result<(), ReportError> {
        let parts = self.root.join("parts");
        for table in TABLES {
            let dir = self.parts_dir(table);
            for file in part_files(&dir) {
                fs::remove_file(&file).map_err(io_err("cannot remove", &file))?;
            }
            let _ = fs::remove_dir(&dir);
        }
        let failed = parts.join(FAILED);
        for id in self.failures().keys() {
            let file = self.failure_file(id);
            fs::remove_file(&file).map_err(io_err("cannot remove", &file))?;
        }
        let _ = fs::remove_dir(&failed);
        self.remove_temporaries();
        let manifest = parts.join(MANIFEST);
        if manifest.exists() {
            fs::remove_file(&manifest).map_err(io_err("cannot remove", &manifest))?;
        }
        let _ = fs::remove_dir(&parts);
        for table in TABLES.iter().copied().chain(["summary"]) {
            let _ = fs::remove_file(self.merged(table));
        }
        Ok(())
    }

    /// Removes temporary files an interrupted writer left behind (a killed process
    /// cannot clean up after itself; the files it was writing are hidden and never
    /// read).
    pub fn remove_temporaries(&self) -> usize {
        let mut removed = 0;
        let mut dirs = vec![self.root.clone(), self.root.join("parts")];
        dirs.extend(TABLES.iter().map(|t| self.parts_dir(t)));
        dirs.push(self.root.join("parts").join(FAILED));
        for dir in dirs {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.')
                    && name.contains(".tmp-")
                    && fs::remove_file(e.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// The manifest of the parts in this directory, if any.
    pub fn manifest(&self) -> Option<Manifest> {
        let text = fs::read_to_string(self.root.join("parts").join(MANIFEST)).ok()?;
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        Some(Manifest {
            scenario: get("scenario")?,
            fingerprint: get("fingerprint")?,
            runs: get("runs")?.parse().ok()?,
        })
    }

    /// Records which sweep the parts belong to (atomically).
    pub fn write_manifest(&self, m: &Manifest) -> Result<(), ReportError> {
        let dir = self.root.join("parts");
        fs::create_dir_all(&dir).map_err(io_err("cannot create directory", &dir))?;
        let path = dir.join(MANIFEST);
        let tmp = dir.join(format!(".{MANIFEST}.tmp-{}", std::process::id()));
        let text = format!(
            "scenario={}\nfingerprint={}\nruns={}\n",
            m.scenario, m.fingerprint, m.runs
        );
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, &path))
            .map_err(io_err("cannot write", &path))
    }

    /// A table read whole: the merged file if there is one, else every part in file
    /// name order.
    pub fn read_table(&self, table: &str) -> Result<Option<crate::ParquetTable>, ReportError> {
        let merged = self.merged(table);
        if merged.exists() {
            return crate::read_parquet(&merged).map(Some);
        }
        let mut out: Option<crate::ParquetTable> = None;
        for part in part_files(&self.parts_dir(table)) {
            let t = crate::read_parquet(&part)?;
            match &mut out {
                None => out = Some(t),
                Some(o) => o.batches.extend(t.batches),
            }
        }
        Ok(out)
    }
}

/// The `.parquet` files of a directory (not hidden ones), sorted by name.
pub(super) fn part_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "parquet")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Whether a Parquet file's footer reads.
pub(super) fn readable(path: &Path) -> bool {
    fs::File::open(path)
        .ok()
        .and_then(|f| ParquetRecordBatchReaderBuilder::try_new(f).ok())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LatencyRow, latency_batch};

    fn prov() -> Provenance {
        Provenance {
            scenario_text: "name: t\n".into(),
            version: "test".into(),
            params: vec!["target".into()],
            ..Provenance::default()
        }
    }

    fn run(dir: &ResultsDir, point: u64, rep: u64, target: f64) {
        let params = [ParamColumn {
            name: "target".into(),
            path: "policy.decider.target".into(),
            kind: ParamKind::Float,
        }];
        let values = [ParamValue::Float(target)];
        let id = format!("p{point}-r{rep}");
        let label = format!("target={target}");
        let keys = RunKeys {
            run_id: &id,
            point_index: point,
            point: &label,
            params: &params,
            values: &values,
        };
        let mut row = crate::runs::tests::row(rep, 0.5 + point as f64);
        row.replication = rep;
        let latency = latency_batch(&[LatencyRow {
            scenario: "t".into(),
            replication: rep,
            model: "t".into(),
            metric: "response".into(),
            upper_s: 0.1,
            count: point * 10 + rep,
        }]);
        dir.write_run(
            &keys,
            &[("runs", crate::runs_batch(&[row])), ("latency", latency)],
            &prov(),
        )
        .unwrap();
    }

    fn tmp(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("inferscale-dataset-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn parts_merge_in_sweep_order_with_typed_keys() {
        let a = ResultsDir::new(tmp("a"));
        let b = ResultsDir::new(tmp("b"));
        // Two "shards", written out of order, one run in both.
        run(&b, 1, 0, 0.7);
        run(&a, 0, 1, 0.6);
        run(&b, 0, 0, 0.6);
        run(&a, 1, 1, 0.7);
        run(&a, 0, 0, 0.6);
        assert_eq!(a.completed_runs().len(), 3);
        let out = tmp("out");
        let summary = merge(&[a.root().to_owned(), b.root().to_owned()], &out, None).unwrap();
        assert_eq!(summary.runs, 4);
        assert_eq!(summary.duplicates, 1);
        let runs = crate::read_parquet(&out.join("runs.parquet")).unwrap();
        assert_eq!(
            runs.string_column("run_id").unwrap(),
            ["p0-r0", "p0-r1", "p1-r0", "p1-r1"]
        );
        let schema = &runs.schema;
        assert_eq!(
            schema.field_with_name("target").unwrap().data_type(),
            &DataType::Float64
        );
        assert_eq!(
            runs.f64_column("target").unwrap(),
            [Some(0.6), Some(0.6), Some(0.7), Some(0.7)]
        );
        assert_eq!(Provenance::of_schema(schema).params, ["target"]);
        let latency = crate::read_parquet(&out.join("latency.parquet")).unwrap();
        assert_eq!(
            latency.f64_column("count").unwrap(),
            [Some(0.0), Some(1.0), Some(10.0), Some(11.0)]
        );
        // No time series was written, so none is merged.
        assert!(!out.join("timeseries.parquet").exists());
        for d in [a.root(), b.root(), &out] {
            let _ = fs::remove_dir_all(d);
        }
    }

    #[test]
    fn temporaries_are_cleaned_and_incomplete_runs_not_counted() {
        let a = ResultsDir::new(tmp("c"));
        run(&a, 0, 0, 0.5);
        // A writer killed half-way: a hidden temporary and a truncated part.
        fs::write(a.parts_dir("runs").join(".x.parquet.tmp-1"), b"PAR1").unwrap();
        fs::write(a.part("runs", "p9-r9"), b"PAR1 truncated").unwrap();
        assert_eq!(
            a.completed_runs().into_iter().collect::<Vec<_>>(),
            ["p0-r0"]
        );
        assert_eq!(a.remove_temporaries(), 1);
        a.write_manifest(&Manifest {
            scenario: "t".into(),
            fingerprint: "abc".into(),
            runs: 4,
        })
        .unwrap();
        assert_eq!(a.manifest().unwrap().runs, 4);
        a.clear().unwrap();
        assert!(a.completed_runs().is_empty() && a.manifest().is_none());
        let _ = fs::remove_dir_all(a.root());
    }

    #[test]
    fn parts_of_different_sweeps_are_not_merged() {
        let a = ResultsDir::new(tmp("d"));
        let b = ResultsDir::new(tmp("e"));
        run(&a, 0, 0, 0.5);
        run(&b, 1, 0, 0.7);
        for (dir, fingerprint) in [(&a, "aaa"), (&b, "bbb")] {
            dir.write_manifest(&Manifest {
                scenario: "t".into(),
                fingerprint: fingerprint.into(),
                runs: 2,
            })
            .unwrap();
        }
        let out = tmp("f");
        let err = merge(&[a.root().to_owned(), b.root().to_owned()], &out, None).unwrap_err();
        assert!(err.to_string().contains("different sweeps"), "{err}");
        assert!(!out.join("runs.parquet").exists());
        for d in [a.root(), b.root()] {
            let _ = fs::remove_dir_all(d);
        }
    }
}
