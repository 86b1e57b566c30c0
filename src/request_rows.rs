//! A run's sampled requests, from the cluster's records to rows of
//! `requests.parquet`, spooled to a file as they end so memory holds none of them.

use std::cell::RefCell;
use std::rc::Rc;

use inferscale_cluster::{RequestRecord, RequestSink};
use inferscale_engine::SimTime;
use inferscale_report::{OUTCOMES, RequestRow, RequestSpool};

/// The cluster's sink of one run: each record, as a row, into the spool.
pub(crate) struct SpoolSink(pub(crate) Rc<RefCell<RequestSpool>>);

impl RequestSink for SpoolSink {
    fn record(&mut self, record: &RequestRecord, pool: Option<usize>) {
        self.0.borrow_mut().push(&row_of(record, pool));
    }
}

/// Seconds from `from` to `to`, NaN where either is missing.
fn span(from: SimTime, to: Option<SimTime>) -> f64 {
    to.map_or(f64::NAN, |t| (t - from).as_secs_f64())
}

/// The row of one record.
pub(crate) fn row_of(record: &RequestRecord, pool: Option<usize>) -> RequestRow {
    let r = &record.request;
    let tpot = match (record.first_token, record.end) {
        (Some(first), Some(end)) if r.output > 1 && record.outcome.name() == "completed" => {
            (end - first).as_secs_f64() / f64::from(r.output - 1)
        }
        _ => f64::NAN,
    };
    RequestRow {
        request_id: r.id,
        arrival_s: r.arrival.as_secs_f64(),
        model: record.model as u32,
        workload: r.entry() as u32,
        replica: record.replica.map_or(-1, i64::from),
        pool: pool.map_or(-1, |p| p as i32),
        input_tokens: r.prompt,
        output_tokens: r.output,
        queue_wait_s: span(r.arrival, record.scheduled),
        ttft_s: span(r.arrival, record.first_token),
        tpot_s: tpot,
        e2e_s: span(r.arrival, record.end),
        outcome: OUTCOMES
            .iter()
            .position(|o| *o == record.outcome.name())
            .unwrap_or(0) as u8,
        sla_met: record.sla_met,
        measured: record.measured,
    }
}
