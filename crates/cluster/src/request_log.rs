//! Per-request records, for `requests.parquet`: what happened to each sampled
//! request — when it was scheduled, its first token, its end, how it ended, where it
//! ran. The sample is deterministic per request (a hash of [`Request::id`], which
//! common random numbers make the same under every policy), so the same requests are
//! sampled in every point of a sweep and can be compared one by one.
//!
//! [`Outcomes`](crate::Outcomes) writes the records as requests end; the cluster hands
//! them to a [`RequestSink`] after every event, so memory holds only the requests in
//! flight, never the run's history.

use std::collections::HashMap;

use inferscale_engine::SimTime;
use inferscale_workload::Request;

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestOutcome {
    /// Its last token came.
    Completed,
    /// Dropped: a full queue, or its replica killed or reclaimed under it.
    Dropped,
    /// Refused: it can never be served (longer than the context, or than a batch).
    Rejected,
    /// Dropped after waiting longer than the model's queue timeout.
    TimedOut,
    /// Still waiting or running when the run ended.
    InFlight,
}

impl RequestOutcome {
    /// The name the tables use.
    pub fn name(self) -> &'static str {
        match self {
            RequestOutcome::Completed => "completed",
            RequestOutcome::Dropped => "dropped",
            RequestOutcome::Rejected => "rejected",
            RequestOutcome::TimedOut => "timed_out",
            RequestOutcome::InFlight => "in_flight",
        }
    }
}

/// One sampled request, as it ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequestRecord {
    /// The request as it arrived (its id, arrival and token counts; the output as
    /// admitted, after any cut at the context length).
    pub request: Request,
    /// The model whose router and outcomes account it (set by the cluster).
    pub model: usize,
    /// The replica it was sent to (its index in the run), if it reached one.
    pub replica: Option<u32>,
    /// When a replica first scheduled it (its first prefill iteration or batch).
    pub scheduled: Option<SimTime>,
    /// When its first token came.
    pub first_token: Option<SimTime>,
    /// When it ended (none while in flight).
    pub end: Option<SimTime>,
    /// How it ended.
    pub outcome: RequestOutcome,
    /// Whether it met every target of its model's SLA (a request still in flight
    /// counts when it already has and none is left to miss, as the run's attainment
    /// counts it).
    pub sla_met: bool,
    /// Whether it arrived after the warm-up (what the run's statistics cover).
    pub measured: bool,
}

/// Receives the records of a run, in the order requests end (in-flight ones last).
pub trait RequestSink {
    /// One record; `pool` is the node pool of its replica, if it had one.
    fn record(&mut self, record: &RequestRecord, pool: Option<usize>);
}

/// The sampling rule and the requests in flight of one model's outcomes.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    /// A request is kept when the hash of its id is at most this.
    threshold: u64,
    /// The replica the cluster is calling into, which records are attributed to.
    pub(crate) replica: Option<u32>,
    /// Scheduling and first-token times of sampled requests still in flight.
    pending: HashMap<u64, (Option<SimTime>, Option<SimTime>)>,
    /// Records not yet taken by the cluster.
    pub(crate) records: Vec<RequestRecord>,
    /// The horizon, once the run has reached it: requests that end after it were in
    /// flight at the end of the measured run, and are recorded so.
    pub(crate) frozen_at: Option<SimTime>,
}

/// A 64-bit mix of `x` (SplitMix64's finalizer): ids that differ in one bit hash far
/// apart, so a threshold samples a fraction of them uniformly.
pub use inferscale_engine::mix64 as mix;

impl RequestLog {
    /// Keeps `fraction` of the requests (1: every one), chosen by their id.
    pub fn sampling(fraction: f64) -> Self {
        let threshold = if fraction >= 1.0 {
            u64::MAX
        } else if fraction <= 0.0 {
            0
        } else {
            (fraction * u64::MAX as f64) as u64
        };
        RequestLog {
            threshold,
            ..RequestLog::default()
        }
    }

    /// Whether `request` is in the sample.
    pub fn keeps(&self, request: &Request) -> bool {
        self.threshold == u64::MAX || mix(request.id) <= self.threshold
    }

    // Out of line: the hot paths that call it stay small when no log is kept.
    #[cold]
    #[inline(never)]
    pub(crate) fn scheduled(&mut self, request: &Request, now: SimTime) {
        if self.keeps(request) {
            self.pending
                .entry(request.id)
                .or_default()
                .0
                .get_or_insert(now);
        }
    }

    // Out of line: the hot paths that call it stay small when no log is kept.
    #[cold]
    #[inline(never)]
    pub(crate) fn first_token(&mut self, request: &Request, now: SimTime) {
        if self.keeps(request) {
            self.pending
                .entry(request.id)
                .or_default()
                .1
                .get_or_insert(now);
        }
    }

    /// Records the end of `request` (if sampled): at `end` (none while in flight),
    /// how it ended, whether it met its SLA, whether it is measured. After the
    /// horizon every record is of a request in flight then: its outcome is
    /// [`RequestOutcome::InFlight`], with no end and only a first token that came
    /// before the horizon, and its SLA judged as it finally went.
    // Out of line: the hot paths that call it stay small when no log is kept.
    #[cold]
    #[inline(never)]
    pub(crate) fn end(
        &mut self,
        request: &Request,
        end: Option<SimTime>,
        outcome: RequestOutcome,
        sla_met: bool,
        measured: bool,
    ) {
        if !self.keeps(request) {
            return;
        }
        let (scheduled, first_token) = self.pending.remove(&request.id).unwrap_or_default();
        let (end, outcome, scheduled, first_token) = match self.frozen_at {
            Some(h) => (
                None,
                RequestOutcome::InFlight,
                scheduled.filter(|&t| t <= h),
                first_token.filter(|&t| t <= h),
            ),
            None => (end, outcome, scheduled, first_token),
        };
        self.records.push(RequestRecord {
            request: *request,
            model: 0,
            replica: self.replica,
            scheduled,
            first_token,
            end,
            outcome,
            sla_met,
            measured,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_keeps_its_share_of_ids_and_the_same_ids_every_time() {
        let log = RequestLog::sampling(0.1);
        let kept: Vec<u64> = (0..100_000u64)
            .filter(|&i| {
                log.keeps(&Request {
                    id: Request::id_of(0, i),
                    arrival: SimTime::ZERO,
                    prompt: 1,
                    output: 1,
                    chain: 0,
                })
            })
            .collect();
        // Binomial(100000, 0.1): sd 95; 6 sd either side.
        assert!((9_430..=10_570).contains(&kept.len()), "{}", kept.len());
        let again = RequestLog::sampling(0.1);
        assert!(kept.iter().all(|&i| again.keeps(&Request {
            id: Request::id_of(0, i),
            arrival: SimTime::ZERO,
            prompt: 1,
            output: 1,
            chain: 0,
        })));
        assert!(RequestLog::sampling(1.0).keeps(&Request {
            id: 12345,
            arrival: SimTime::ZERO,
            prompt: 1,
            output: 1,
            chain: 0,
        }));
    }
}
