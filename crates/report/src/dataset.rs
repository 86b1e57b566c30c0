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

/// The tables of a results directory, in the order a run writes them (`runs` last:
/// its part marks the run complete).
pub const TABLES: [&str; 6] = [
    "models",
    "timeseries",
    "fleet",
    "actions",
    "latency",
    "runs",
];

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
fn written_by_inferscale(name: &str) -> bool {
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
        fields.push(Field::new(&column.name, data_type, false));
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
        let mut written = Vec::new();
        for table in TABLES {
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
fn part_files(dir: &Path) -> Vec<PathBuf> {
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
fn readable(path: &Path) -> bool {
    fs::File::open(path)
        .ok()
        .and_then(|f| ParquetRecordBatchReaderBuilder::try_new(f).ok())
        .is_some()
}

/// A run as the current sweep places it, for [`merge`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedKey {
    /// The run's id.
    pub run_id: String,
    /// Its point's position in the current sweep.
    pub point_index: u64,
    /// Its point's current label.
    pub point: String,
}

/// The current sweep, for [`merge`]: its runs and the provenance its tables carry.
#[derive(Clone, Debug)]
pub struct CurrentSweep {
    /// Every run of the sweep (all shards).
    pub runs: Vec<PlannedKey>,
    /// The scenario text, version and parameters of the sweep as it is now.
    pub provenance: Provenance,
}

/// What [`merge`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSummary {
    /// Runs in the merged tables.
    pub runs: usize,
    /// Parts left out because the current sweep has no such run (written before the
    /// sweep was edited).
    pub stale: usize,
    /// Runs found in more than one source (kept once).
    pub duplicates: usize,
    /// Runs left out because a part of theirs is missing or cut short (`--resume`
    /// redoes them).
    pub incomplete: usize,
    /// Runs the manifests say the sweep has.
    pub expected: Option<usize>,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// One run found in the sources.
struct FoundRun {
    point_index: u64,
    replication: u64,
    run_id: String,
    source: ResultsDir,
    /// The point's current index and label, written over the part's (which may be
    /// older: a sweep that grew or was reordered since the part was written).
    rekey: Option<(u64, String)>,
}

/// Merges the parts of every `sources` directory (shards of one sweep, or one
/// directory) into one file per table in `out`, rows in sweep order. A run found in
/// several sources is kept once. Sources written from different sweeps are refused.
///
/// With `current` (the sweep as it is now), only its runs are merged, with its point
/// indices, labels and provenance: parts kept by `--resume` after the sweep was
/// edited may carry old ones, and parts of points no longer in the sweep are left
/// out. Without it, the parts' own keys and the first part's provenance are kept.
pub fn merge(
    sources: &[PathBuf],
    out: &Path,
    current: Option<&CurrentSweep>,
) -> Result<MergeSummary, ReportError> {
    let provenance = current.map(|c| &c.provenance);
    if let Some(missing) = sources
        .iter()
        .find(|s| !s.join("parts").is_dir() && !s.join("runs.parquet").is_file())
    {
        return Err(ReportError::Mismatch(format!(
            "`{}` is not a results directory (it has no parts/ and no runs.parquet){}",
            missing.display(),
            if missing.exists() {
                ""
            } else {
                "; it does not exist"
            }
        )));
    }
    let dirs: Vec<ResultsDir> = sources.iter().map(ResultsDir::new).collect();
    let manifests: Vec<Manifest> = dirs.iter().filter_map(ResultsDir::manifest).collect();
    if let Some(m) = manifests
        .iter()
        .find(|m| m.fingerprint != manifests[0].fingerprint)
    {
        return Err(ReportError::Mismatch(format!(
            "the sources come from different sweeps (`{}` and `{}`, fingerprints {} and {}); \
             merge only the shards of one sweep",
            manifests[0].scenario, m.scenario, manifests[0].fingerprint, m.fingerprint
        )));
    }
    let (order, duplicates, stale, skipped) = match current {
        Some(current) => {
            let (order, duplicates, stale) = planned_runs(&dirs, current);
            (order, duplicates, stale, 0)
        }
        None => discovered_runs(&dirs)?,
    };
    // Only whole runs are merged: one with a part cut short is left out (and redone by
    // `--resume`) rather than failing the merge.
    let found = order.len();
    let order: Vec<FoundRun> = order
        .into_iter()
        .filter(|r| {
            r.source
                .run_complete(&r.source.part("runs", &r.run_id), &r.run_id)
        })
        .collect();
    let incomplete = found - order.len() + skipped;
    let out_dir = ResultsDir::new(out);
    // One thread per table: they are independent files, and the time series alone
    // can take as long as the rest together.
    let results: Vec<Result<Option<PathBuf>, ReportError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = TABLES
            .iter()
            .map(|table| {
                let (order, out_dir) = (&order, &out_dir);
                scope.spawn(move || merge_table(table, order, out_dir, provenance))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ReportError::Parquet {
                        path: out.to_owned(),
                        source: "a merging thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut files = Vec::new();
    for r in results {
        files.extend(r?);
    }
    Ok(MergeSummary {
        runs: order.len(),
        stale,
        duplicates,
        incomplete,
        expected: manifests.first().map(|m| m.runs),
        files,
    })
}

/// The runs of the current sweep found in `dirs`, in sweep order, each rekeyed to its
/// current point; with how many were found twice and how many parts in `dirs` are
/// not in the sweep. Reads no part: a `runs` part exists only once its run is
/// complete.
fn planned_runs(dirs: &[ResultsDir], current: &CurrentSweep) -> (Vec<FoundRun>, usize, usize) {
    let mut order = Vec::new();
    let mut duplicates = 0;
    let mut wanted = std::collections::HashSet::new();
    for key in &current.runs {
        wanted.insert(key.run_id.as_str());
        let mut sources = dirs.iter().filter(|d| d.part("runs", &key.run_id).exists());
        let Some(source) = sources.next() else {
            continue;
        };
        duplicates += sources.count();
        order.push(FoundRun {
            point_index: key.point_index,
            replication: 0,
            run_id: key.run_id.clone(),
            source: source.clone(),
            rekey: Some((key.point_index, key.point.clone())),
        });
    }
    let stale = dirs
        .iter()
        .flat_map(|d| part_files(&d.parts_dir("runs")))
        .filter(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_none_or(|id| !wanted.contains(id))
        })
        .count();
    (order, duplicates, stale)
}

/// Every run whose `runs` part is in `dirs` (the first copy of each), ordered by the
/// point index and replication the parts carry; with the number of duplicates.
/// Also how many runs were left out because a part of theirs is missing or cut short.
fn discovered_runs(
    dirs: &[ResultsDir],
) -> Result<(Vec<FoundRun>, usize, usize, usize), ReportError> {
    let mut found: BTreeMap<String, FoundRun> = BTreeMap::new();
    let (mut duplicates, mut incomplete) = (0, 0);
    for dir in dirs {
        for part in part_files(&dir.parts_dir("runs")) {
            let Some(id) = part.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if !dir.run_complete(&part, id) {
                incomplete += 1;
                continue;
            }
            let table = crate::read_parquet(&part)?;
            let ids = table.string_column("run_id").unwrap_or_default();
            let points = table.f64_column("point_index").unwrap_or_default();
            let reps = table.f64_column("replication").unwrap_or_default();
            let (Some(id), Some(Some(point)), Some(Some(rep))) =
                (ids.first(), points.first(), reps.first())
            else {
                return Err(ReportError::Parquet {
                    path: part,
                    source: "a runs part needs run_id, point_index and replication".into(),
                });
            };
            if found.contains_key(id) {
                duplicates += 1;
                continue;
            }
            found.insert(
                id.clone(),
                FoundRun {
                    point_index: *point as u64,
                    replication: *rep as u64,
                    run_id: id.clone(),
                    source: dir.clone(),
                    rekey: None,
                },
            );
        }
    }
    let mut order: Vec<FoundRun> = found.into_values().collect();
    order.sort_by(|a, b| {
        (a.point_index, a.replication, &a.run_id).cmp(&(b.point_index, b.replication, &b.run_id))
    });
    Ok((order, duplicates, 0, incomplete))
}

/// Writes `table` of the runs in `order` into `out_dir`; `None` if no run has it.
fn merge_table(
    table: &str,
    order: &[FoundRun],
    out_dir: &ResultsDir,
    provenance: Option<&Provenance>,
) -> Result<Option<PathBuf>, ReportError> {
    let parts: Vec<(PathBuf, Option<&(u64, String)>)> = order
        .iter()
        .map(|r| (r.source.part(table, &r.run_id), r.rekey.as_ref()))
        .filter(|(p, _)| p.exists())
        .collect();
    let target = out_dir.merged(table);
    let Some((first, _)) = parts.first() else {
        let _ = fs::remove_file(&target);
        return Ok(None);
    };
    let schema = schema_of(first)?;
    let provenance = provenance
        .cloned()
        .unwrap_or_else(|| Provenance::of_schema(&schema));
    let expected_fields = schema.fields().clone();
    let batches =
        parts.iter().flat_map(
            |(p, rekey)| match crate::read_parquet(p).map(|t| t.batches) {
                Ok(batches) => batches
                    .into_iter()
                    .map(|b| {
                        if b.schema().fields() != &expected_fields {
                            return Err(ReportError::Parquet {
                                path: p.clone(),
                                source: "its columns differ from the other parts' (parts of \
                                 different sweeps?)"
                                    .into(),
                            });
                        }
                        match rekey {
                            Some((index, label)) => with_point(&b, *index, label),
                            None => Ok(b),
                        }
                    })
                    .collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            },
        );
    write_batches_atomic(&target, &schema, batches, &provenance)?;
    Ok(Some(target))
}

/// `batch` with its `point_index` and `point` columns replaced.
fn with_point(batch: &RecordBatch, index: u64, label: &str) -> Result<RecordBatch, ReportError> {
    let n = batch.num_rows();
    let mut columns = batch.columns().to_vec();
    for (name, array) in [
        ("point_index", crate::batch::int64(vec![Some(index); n])),
        (
            "point",
            Arc::new(StringArray::from(vec![label; n])) as ArrayRef,
        ),
    ] {
        if let Ok(i) = batch.schema().index_of(name) {
            columns[i] = array;
        }
    }
    RecordBatch::try_new(batch.schema(), columns).map_err(pq_err(Path::new("")))
}

/// The Arrow schema (with its metadata) of a Parquet file, from its footer alone.
fn schema_of(path: &Path) -> Result<Schema, ReportError> {
    let file = fs::File::open(path).map_err(io_err("cannot open", path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    Ok(builder.schema().as_ref().clone())
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
