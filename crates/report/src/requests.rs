//! `requests.parquet`: one row per sampled request. A run writes its rows to a spool
//! file as requests end (fixed-size binary records, so memory holds none of them), and
//! the spool is read back in batches into the run's part when the run is written.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use crate::ReportError;
use crate::parquet_io::io_err;

/// One request, as `requests.parquet` has it (times in seconds; NaN or a negative
/// index where a value does not apply).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequestRow {
    /// The request's identity, the same under every policy of a sweep (its workload
    /// entry in the top bits, its position in the entry's stream in the low 40): what
    /// pairs one request's rows across points.
    pub request_id: u64,
    /// Arrival time.
    pub arrival_s: f64,
    /// The model's index in the scenario (named in the table).
    pub model: u32,
    /// The workload entry it came from.
    pub workload: u32,
    /// The replica it was sent to (its index in the run), or −1.
    pub replica: i64,
    /// Its replica's node pool (named in the table), or −1.
    pub pool: i32,
    /// Prompt tokens.
    pub input_tokens: u32,
    /// Output tokens.
    pub output_tokens: u32,
    /// Arrival until a replica first scheduled it; NaN if none did.
    pub queue_wait_s: f64,
    /// Arrival until its first token; NaN without one.
    pub ttft_s: f64,
    /// (end − first token) / (output − 1); NaN unless completed with two tokens or
    /// more.
    pub tpot_s: f64,
    /// Arrival until its end; NaN unless it ended.
    pub e2e_s: f64,
    /// Index into [`OUTCOMES`].
    pub outcome: u8,
    /// Whether it met its model's SLA.
    pub sla_met: bool,
    /// Whether it arrived after the warm-up.
    pub measured: bool,
}

/// The outcomes a row can have, by index.
pub const OUTCOMES: [&str; 5] = ["completed", "dropped", "rejected", "timed_out", "in_flight"];

/// Bytes of one spooled row.
const ROW_BYTES: usize = 8 * 7 + 4 * 5 + 3;

impl RequestRow {
    fn encode(&self, out: &mut [u8; ROW_BYTES]) {
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        put(&self.arrival_s.to_le_bytes());
        put(&self.replica.to_le_bytes());
        put(&self.queue_wait_s.to_le_bytes());
        put(&self.ttft_s.to_le_bytes());
        put(&self.tpot_s.to_le_bytes());
        put(&self.e2e_s.to_le_bytes());
        put(&self.request_id.to_le_bytes());
        put(&self.model.to_le_bytes());
        put(&self.workload.to_le_bytes());
        put(&self.pool.to_le_bytes());
        put(&self.input_tokens.to_le_bytes());
        put(&self.output_tokens.to_le_bytes());
        put(&[
            self.outcome,
            u8::from(self.sla_met),
            u8::from(self.measured),
        ]);
    }

    fn decode(b: &[u8; ROW_BYTES]) -> Self {
        let f = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let u = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        RequestRow {
            arrival_s: f(0),
            replica: i64::from_le_bytes(b[8..16].try_into().unwrap_or_default()),
            queue_wait_s: f(16),
            ttft_s: f(24),
            tpot_s: f(32),
            e2e_s: f(40),
            request_id: u64::from_le_bytes(b[48..56].try_into().unwrap_or_default()),
            model: u(56),
            workload: u(60),
            pool: u(64) as i32,
            input_tokens: u(68),
            output_tokens: u(72),
            outcome: b[76],
            sla_met: b[77] != 0,
            measured: b[78] != 0,
        }
    }
}

/// A run's requests on their way to its part: rows appended to a file as requests
/// end, read back in batches.
pub struct RequestSpool {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    rows: u64,
    /// The first write error, reported when the spool is read.
    error: Option<std::io::Error>,
}

/// Rows per batch read back from a spool.
const BATCH_ROWS: usize = 65_536;

impl RequestSpool {
    /// A new, empty spool at `path` (replacing any file there).
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err("cannot create", dir))?;
        }
        let file = File::create(path).map_err(io_err("cannot create", path))?;
        Ok(RequestSpool {
            path: path.to_owned(),
            writer: Some(BufWriter::new(file)),
            rows: 0,
            error: None,
        })
    }

    /// Appends one row.
    pub fn push(&mut self, row: &RequestRow) {
        let mut bytes = [0u8; ROW_BYTES];
        row.encode(&mut bytes);
        if let Some(w) = self.writer.as_mut()
            && self.error.is_none()
            && let Err(e) = w.write_all(&bytes)
        {
            self.error = Some(e);
        }
        self.rows += 1;
    }

    /// Rows appended.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes the spool, to be read back.
    pub fn finish(mut self) -> Result<SpooledRequests, ReportError> {
        if let Some(e) = self.error.take() {
            return Err(io_err("cannot write", &self.path)(e));
        }
        if let Some(mut w) = self.writer.take() {
            w.flush().map_err(io_err("cannot write", &self.path))?;
        }
        Ok(SpooledRequests {
            path: self.path.clone(),
            rows: self.rows,
        })
    }
}

/// A finished spool: its file and how many rows it holds.
#[derive(Clone, Debug)]
pub struct SpooledRequests {
    path: PathBuf,
    rows: u64,
}

impl SpooledRequests {
    /// Rows spooled.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The rows as batches of `requests.parquet`'s columns (after the run's keys),
    /// `models` and `pools` naming the model and pool indices.
    pub fn batches(
        &self,
        run: RunOf,
        models: Arc<Vec<String>>,
        pools: Arc<Vec<String>>,
    ) -> Result<impl Iterator<Item = Result<RecordBatch, ReportError>> + use<>, ReportError> {
        let file = File::open(&self.path).map_err(io_err("cannot read", &self.path))?;
        let mut reader = BufReader::new(file);
        let path = self.path.clone();
        let mut left = self.rows;
        Ok(std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            let n = (left as usize).min(BATCH_ROWS);
            left -= n as u64;
            let mut rows = Vec::with_capacity(n);
            let mut bytes = [0u8; ROW_BYTES];
            for _ in 0..n {
                if let Err(e) = reader.read_exact(&mut bytes) {
                    return Some(Err(io_err("cannot read", &path)(e)));
                }
                rows.push(RequestRow::decode(&bytes));
            }
            Some(Ok(requests_batch(&run, &rows, &models, &pools)))
        }))
    }

    /// Removes the spool file.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The run a table's rows belong to, as the other tables name it after the keys.
#[derive(Clone, Debug, Default)]
pub struct RunOf {
    /// The scenario's name.
    pub scenario: String,
    /// The replication.
    pub replication: u64,
}

/// `rows` (of run `run`) as a batch of `requests.parquet`'s columns.
pub fn requests_batch(
    run: &RunOf,
    rows: &[RequestRow],
    models: &[String],
    pools: &[String],
) -> RecordBatch {
    let nan_null = |f: fn(&RequestRow) -> f64| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|r| Some(f(r)).filter(|v| v.is_finite()))
                .collect::<Float64Array>(),
        )
    };
    let int = |f: fn(&RequestRow) -> i64| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<Int64Array>())
    };
    let model: DictionaryArray<Int32Type> = rows
        .iter()
        .map(|r| models.get(r.model as usize).map(String::as_str))
        .collect();
    let node_type: DictionaryArray<Int32Type> = rows
        .iter()
        .map(|r| {
            usize::try_from(r.pool)
                .ok()
                .and_then(|p| pools.get(p))
                .map(String::as_str)
        })
        .collect();
    let outcome: DictionaryArray<Int32Type> = rows
        .iter()
        .map(|r| OUTCOMES.get(r.outcome as usize).copied())
        .collect();
    let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let scenario: DictionaryArray<Int32Type> =
        rows.iter().map(|_| Some(run.scenario.as_str())).collect();
    let columns: Vec<(Field, ArrayRef)> = vec![
        (Field::new("scenario", dict(), false), Arc::new(scenario)),
        (
            Field::new("replication", DataType::Int64, false),
            Arc::new(Int64Array::from(vec![run.replication as i64; rows.len()])),
        ),
        (
            Field::new("request_id", DataType::Int64, false),
            int(|r| r.request_id as i64),
        ),
        (
            Field::new("arrival_s", DataType::Float64, false),
            nan_null(|r| r.arrival_s),
        ),
        (Field::new("model", dict(), false), Arc::new(model)),
        (
            Field::new("workload", DataType::Int64, false),
            int(|r| i64::from(r.workload)),
        ),
        (
            Field::new("replica", DataType::Int64, true),
            Arc::new(
                rows.iter()
                    .map(|r| (r.replica >= 0).then_some(r.replica))
                    .collect::<Int64Array>(),
            ),
        ),
        (Field::new("node_type", dict(), true), Arc::new(node_type)),
        (
            Field::new("input_tokens", DataType::Int64, false),
            int(|r| i64::from(r.input_tokens)),
        ),
        (
            Field::new("output_tokens", DataType::Int64, false),
            int(|r| i64::from(r.output_tokens)),
        ),
        (
            Field::new("queue_wait_s", DataType::Float64, true),
            nan_null(|r| r.queue_wait_s),
        ),
        (
            Field::new("ttft_s", DataType::Float64, true),
            nan_null(|r| r.ttft_s),
        ),
        (
            Field::new("tpot_s", DataType::Float64, true),
            nan_null(|r| r.tpot_s),
        ),
        (
            Field::new("e2e_s", DataType::Float64, true),
            nan_null(|r| r.e2e_s),
        ),
        (Field::new("outcome", dict(), false), Arc::new(outcome)),
        (
            Field::new("sla_met", DataType::Boolean, false),
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.sla_met))
                    .collect::<BooleanArray>(),
            ),
        ),
        (
            Field::new("measured", DataType::Boolean, false),
            Arc::new(
                rows.iter()
                    .map(|r| Some(r.measured))
                    .collect::<BooleanArray>(),
            ),
        ),
    ];
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .unwrap_or_else(|e| unreachable!("the columns are built to the schema: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_gives_back_its_rows_in_batches() {
        let dir = std::env::temp_dir().join(format!("inferscale-spool-{}", std::process::id()));
        let path = dir.join("r.spool");
        let mut spool = RequestSpool::create(&path).unwrap();
        let row = |i: u32| RequestRow {
            request_id: u64::from(i) << 3,
            arrival_s: f64::from(i),
            model: i % 2,
            workload: 0,
            replica: if i.is_multiple_of(3) {
                -1
            } else {
                i64::from(i)
            },
            pool: if i.is_multiple_of(3) { -1 } else { 0 },
            input_tokens: 10 + i,
            output_tokens: 1 + i,
            queue_wait_s: f64::NAN,
            ttft_s: 0.5,
            tpot_s: f64::NAN,
            e2e_s: 1.5,
            outcome: (i % 5) as u8,
            sla_met: i.is_multiple_of(2),
            measured: true,
        };
        for i in 0..70_000 {
            spool.push(&row(i));
        }
        let spool = spool.finish().unwrap();
        let batches: Vec<RecordBatch> = spool
            .batches(
                RunOf::default(),
                Arc::new(vec!["a".into(), "b".into()]),
                Arc::new(vec!["gpu".into()]),
            )
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 70_000);
        let b = &batches[0];
        use arrow_array::Array;
        let replica = b.column_by_name("replica").unwrap();
        assert!(replica.is_null(0) && !replica.is_null(1));
        assert!(b.column_by_name("queue_wait_s").unwrap().is_null(5));
        assert_eq!(
            RequestRow::decode(&{
                let mut x = [0u8; ROW_BYTES];
                row(7).encode(&mut x);
                x
            })
            .request_id,
            56
        );
        spool.remove();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
