//! Merging a results directory's part files (or several directories') into one file
//! per table, rows in sweep order, each run once.

use super::*;

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
