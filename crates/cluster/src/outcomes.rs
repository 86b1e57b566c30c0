//! What happened to a model's requests: the SLA they are judged against and the
//! [`Outcomes`] every replica kind records into — counts, latency histograms, SLA
//! attainment — with the formulas that summarise them.

use inferscale_engine::{SimDuration, SimTime};
use inferscale_workload::Request;

use crate::metrics::LatencyRecorder;
use crate::request_log::RequestOutcome;

/// Latency targets a request is judged against; a missing target always passes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sla {
    /// Arrival → first token.
    pub ttft: Option<SimDuration>,
    /// Mean time per output token after the first.
    pub tpot: Option<SimDuration>,
    /// Arrival → last token.
    pub e2e: Option<SimDuration>,
}

impl Sla {
    /// The instant after which a request that arrived as `request`, with its first
    /// token at `first_token` (if it came), can no longer meet every target: the
    /// earliest of the end-to-end target and the latest completion the TTFT and TPOT
    /// targets allow (or, before its first token, the TTFT target alone). `None` when
    /// no target bounds it (no targets, or only TTFT and the first token came).
    pub fn deadline(&self, request: &Request, first_token: Option<SimTime>) -> Option<SimTime> {
        let tokens_after_first = u64::from(request.output.saturating_sub(1));
        let tpot_budget =
            |t: SimDuration| SimDuration::from_nanos(t.as_nanos() * tokens_after_first);
        let mut bounds = Vec::with_capacity(3);
        if let Some(e2e) = self.e2e {
            bounds.push(request.arrival + e2e);
        }
        match (first_token, self.ttft, self.tpot) {
            (None, Some(ttft), Some(tpot)) => {
                bounds.push(request.arrival + ttft + tpot_budget(tpot))
            }
            (None, Some(ttft), None) => bounds.push(request.arrival + ttft),
            (Some(first), _, Some(tpot)) => bounds.push(first + tpot_budget(tpot)),
            _ => {}
        }
        bounds.into_iter().min()
    }

    /// Whether a request still in flight has met every target it has and none is left
    /// to miss: there is no TPOT or end-to-end target, and its first token came within
    /// the TTFT target (or there is none). A request that could still miss a target
    /// with no deadline (a TPOT target before its first token) is not.
    pub fn met_before_completion(&self, request: &Request, first_token: Option<SimTime>) -> bool {
        self.tpot.is_none()
            && self.e2e.is_none()
            && match self.ttft {
                None => true,
                Some(ttft) => first_token.is_some_and(|t| t - request.arrival <= ttft),
            }
    }
}

/// Per-request results of one model, shared by all its replicas (and those of its
/// variants): counts, latency histograms and SLA attainment.
///
/// Every request that arrives ends in exactly one of completed, dropped (a full queue,
/// a timeout, a killed replica), rejected (it can never be served) or in flight at the
/// end; the `_measured` counts are those of requests that arrived at or after
/// `measure_from` (the end of the warm-up), which is what the latency and SLA
/// statistics cover. `met_sla` counts measured requests that completed within every
/// target of `sla`; a cluster run also judges those still in flight at its end
/// (`ModelReport::sla_met`).
#[derive(Clone, Debug)]
pub struct Outcomes {
    /// The targets requests are judged against.
    pub sla: Sla,
    /// Requests that arrived.
    pub arrivals: u64,
    /// Of those, requests that arrived at or after `measure_from`.
    pub arrivals_measured: u64,
    /// Requests that finished.
    pub completed: u64,
    /// Finished requests that arrived after `measure_from`.
    pub measured: u64,
    /// Of those, requests that met every target of `sla`.
    pub met_sla: u64,
    /// Requests refused because they could never be served.
    pub rejected: u64,
    /// Of those, requests that arrived after `measure_from`.
    pub rejected_measured: u64,
    /// Requests whose output was cut at the context length (`max_model_len`).
    pub truncated: u64,
    /// Of those, requests that arrived after `measure_from`.
    pub truncated_measured: u64,
    /// Requests dropped: a full queue, or a wait longer than the timeout.
    pub dropped: u64,
    /// Of those, requests that arrived after `measure_from` (they count as SLA misses).
    pub dropped_measured: u64,
    /// Requests that reach the cluster before this instant are served but not
    /// measured (the warm-up).
    pub measure_from: SimTime,
    /// Per workload entry ([`Request::entry`]), the time from a request's `arrival`
    /// (when its client sent it) to when it reaches the cluster: the serving stack's
    /// client latency. The warm-up ends by when requests reach the cluster, as the
    /// horizon does, so the time series' arrivals (counted as they reach it) add up
    /// to the measured ones. Empty: none.
    pub leads: Vec<inferscale_engine::SimDuration>,
    /// Arrival → first token.
    pub ttft: LatencyRecorder,
    /// (end-to-end − TTFT) / (output − 1), for requests with more than one token.
    pub tpot: LatencyRecorder,
    /// Arrival → last token.
    pub e2e: LatencyRecorder,
    /// Output tokens of finished requests.
    pub output_tokens: u64,
    /// Output tokens of finished measured requests.
    pub output_tokens_measured: u64,
    /// When the last request finished.
    pub last_completion: SimTime,
    /// TTFT of first tokens since the last [`Outcomes::start_window`], whatever
    /// the warm-up: the time series' per-interval view.
    pub window_ttft: LatencyRecorder,
    /// End-to-end latency of completions since the last window start.
    pub window_e2e: LatencyRecorder,
    /// TPOT of completions (of more than one token) since the last window start.
    pub window_tpot: LatencyRecorder,
    /// TTFTs (ns) since the scaling loop's last tick, only kept when a loop runs: a
    /// plain buffer cleared each tick (a histogram would cost a 264 KiB reset and a
    /// full scan per tick), so memory is bounded by one interval's first tokens.
    pub tick_ttft: Option<Vec<u64>>,
    /// Time the requests that have left (finished, dropped or rejected) spent in the
    /// system from `measure_from` on, nanoseconds: with the requests still in flight,
    /// the integral of the number in the system (each request adds its own time, so
    /// nothing is updated on arrival).
    departed_in_system_ns: u128,
    /// Per-request records of a sample of the requests (`requests.parquet`); `None`:
    /// none are kept, at the cost of one test per request event.
    pub log: Option<Box<crate::request_log::RequestLog>>,
    /// Requests that ended, with when and the output tokens of those completed
    /// (`None`: dropped, refused, timed out), kept while a closed-loop stream waits to
    /// hear of them (the cluster hands them on after every event); `None` otherwise.
    pub ends: Option<Vec<(Request, SimTime, Option<u32>)>>,
}

impl Outcomes {
    /// Empty outcomes judged against `sla`, measuring from time zero.
    pub fn new(sla: Sla) -> Self {
        Self::measured_from(sla, SimTime::ZERO)
    }

    /// Empty outcomes judged against `sla`, measuring requests that arrive from `from`
    /// on (the end of the warm-up).
    pub fn measured_from(sla: Sla, from: SimTime) -> Self {
        Outcomes {
            sla,
            arrivals: 0,
            arrivals_measured: 0,
            completed: 0,
            measured: 0,
            met_sla: 0,
            rejected: 0,
            rejected_measured: 0,
            truncated: 0,
            truncated_measured: 0,
            dropped: 0,
            dropped_measured: 0,
            measure_from: from,
            leads: Vec::new(),
            ttft: LatencyRecorder::new(),
            tpot: LatencyRecorder::new(),
            e2e: LatencyRecorder::new(),
            output_tokens: 0,
            output_tokens_measured: 0,
            last_completion: SimTime::ZERO,
            window_ttft: LatencyRecorder::new(),
            window_e2e: LatencyRecorder::new(),
            window_tpot: LatencyRecorder::new(),
            tick_ttft: None,
            departed_in_system_ns: 0,
            log: None,
            ends: None,
        }
    }

    /// Starts a new time-series window: clears the window histograms.
    pub fn start_window(&mut self) {
        self.window_ttft.reset();
        self.window_e2e.reset();
        self.window_tpot.reset();
    }

    /// The time `request`, still in the system at `end`, has spent in it since
    /// `measure_from`: its share of [`Outcomes::mean_in_system`]'s integral.
    pub fn in_system_ns(&self, request: &Request, end: SimTime) -> u128 {
        u128::from(
            end.saturating_since(request.arrival.max(self.measure_from))
                .as_nanos(),
        )
    }

    /// Time-average number of requests in the system over `[measure_from, end]`, given
    /// the [`Outcomes::in_system_ns`] of the requests still in it summed.
    pub fn mean_in_system(&self, end: SimTime, in_flight_ns: u128) -> f64 {
        let span = end.saturating_since(self.measure_from).as_nanos();
        if span == 0 {
            0.0
        } else {
            (self.departed_in_system_ns + in_flight_ns) as f64 / span as f64
        }
    }

    /// A request leaves the system at `now`.
    /// Keeps `request`'s end for a stream that follows ends.
    #[inline]
    fn note_end(&mut self, request: &Request, now: SimTime, output: Option<u32>) {
        if let Some(ends) = self.ends.as_mut() {
            ends.push((*request, now, output));
        }
    }

    fn depart(&mut self, request: &Request, now: SimTime) {
        self.departed_in_system_ns += self.in_system_ns(request, now);
    }

    /// Whether `request` is measured: it reached the cluster at or after
    /// `measure_from`.
    pub fn measured(&self, request: &Request) -> bool {
        let lead = self.leads.get(request.entry()).copied().unwrap_or_default();
        request.arrival + lead >= self.measure_from
    }

    /// Counts an arrival.
    pub fn record_arrival(&mut self, request: &Request) {
        self.arrivals += 1;
        if self.measured(request) {
            self.arrivals_measured += 1;
        }
    }

    /// Counts a request refused as impossible to serve.
    #[inline]
    pub fn record_reject(&mut self, request: &Request, now: SimTime) {
        self.note_end(request, now, None);
        self.rejected += 1;
        let measured = self.measured(request);
        if measured {
            self.rejected_measured += 1;
        }
        self.depart(request, now);
        if let Some(log) = self.log.as_mut() {
            log.end(
                request,
                Some(now),
                RequestOutcome::Rejected,
                false,
                measured,
            );
        }
    }

    /// Whether per-request records are kept (a replica may skip calls that only feed
    /// them).
    #[inline]
    pub fn logs_requests(&self) -> bool {
        self.log.is_some()
    }

    /// Notes when a replica first scheduled `request` (its queue wait ends), for the
    /// per-request records; counts nothing.
    #[inline]
    pub fn record_scheduled(&mut self, request: &Request, now: SimTime) {
        if let Some(log) = self.log.as_mut() {
            log.scheduled(request, now);
        }
    }

    /// Counts a request whose output was cut at the context length.
    pub fn record_truncation(&mut self, request: &Request) {
        self.truncated += 1;
        if self.measured(request) {
            self.truncated_measured += 1;
        }
    }

    /// Counts a dropped request (a full queue, a replica killed under it).
    #[inline]
    pub fn record_drop(&mut self, request: &Request, now: SimTime) {
        self.drop_as(request, now, RequestOutcome::Dropped);
    }

    /// Counts a request dropped after waiting longer than its model's timeout (a
    /// drop, recorded as timed out in the per-request records).
    #[inline]
    pub fn record_timeout(&mut self, request: &Request, now: SimTime) {
        self.drop_as(request, now, RequestOutcome::TimedOut);
    }

    #[inline(never)]
    fn drop_as(&mut self, request: &Request, now: SimTime, outcome: RequestOutcome) {
        self.note_end(request, now, None);
        self.dropped += 1;
        let measured = self.measured(request);
        if measured {
            self.dropped_measured += 1;
        }
        self.depart(request, now);
        if let Some(log) = self.log.as_mut() {
            log.end(request, Some(now), outcome, false, measured);
        }
    }

    /// Records `request`'s first token at `now`: a replica calls it once per request,
    /// before [`Outcomes::record_completion`].
    #[inline]
    pub fn record_first_token(&mut self, request: &Request, now: SimTime) {
        if let Some(log) = self.log.as_mut() {
            log.first_token(request, now);
        }
        self.window_ttft.record(now - request.arrival);
        if let Some(tick) = self.tick_ttft.as_mut() {
            tick.push((now - request.arrival).as_nanos());
        }
        if self.measured(request) {
            self.ttft.record(now - request.arrival);
        }
    }

    /// Records `request`'s completion at `now`, its first token having come at
    /// `first_token`, and judges it against the SLA.
    #[inline]
    pub fn record_completion(&mut self, request: &Request, first_token: SimTime, now: SimTime) {
        if self.log.is_some() {
            return self.record_completion_logged(request, first_token, now);
        }
        self.note_end(request, now, Some(request.output));
        self.completed += 1;
        self.output_tokens += u64::from(request.output);
        self.last_completion = now;
        self.window_e2e.record(now - request.arrival);
        self.depart(request, now);
        let (ttft, tpot, e2e) = Self::latencies(request, first_token, now);
        if let Some(tpot) = tpot {
            self.window_tpot.record(tpot);
        }
        if !self.measured(request) {
            return;
        }
        self.output_tokens_measured += u64::from(request.output);
        self.e2e.record(e2e);
        if let Some(tpot) = tpot {
            self.tpot.record(tpot);
        }
        if self.meets_sla(ttft, tpot, e2e) {
            self.met_sla += 1;
        }
        self.measured += 1;
    }

    /// [`Outcomes::record_completion`] with a per-request log: the same counts, and
    /// the request's record (judged whether measured or not). Out of line, so the
    /// path without a log stays as short as it was.
    #[cold]
    #[inline(never)]
    fn record_completion_logged(&mut self, request: &Request, first_token: SimTime, now: SimTime) {
        let log = self.log.take();
        self.record_completion(request, first_token, now);
        self.log = log;
        let (ttft, tpot, e2e) = Self::latencies(request, first_token, now);
        let met = self.meets_sla(ttft, tpot, e2e);
        let measured = self.measured(request);
        if let Some(log) = self.log.as_mut() {
            log.end(request, Some(now), RequestOutcome::Completed, met, measured);
        }
    }

    /// TTFT, TPOT (for more than one output token) and end-to-end latency of a
    /// request completed at `now` with its first token at `first_token`.
    fn latencies(
        request: &Request,
        first_token: SimTime,
        now: SimTime,
    ) -> (SimDuration, Option<SimDuration>, SimDuration) {
        let tpot = (request.output > 1).then(|| {
            SimDuration::from_nanos((now - first_token).as_nanos() / u64::from(request.output - 1))
        });
        (first_token - request.arrival, tpot, now - request.arrival)
    }

    /// Whether those latencies meet every target of the SLA.
    fn meets_sla(&self, ttft: SimDuration, tpot: Option<SimDuration>, e2e: SimDuration) -> bool {
        let within = |target: Option<SimDuration>, value: Option<SimDuration>| match (target, value)
        {
            (Some(t), Some(v)) => v <= t,
            _ => true,
        };
        within(self.sla.ttft, Some(ttft))
            && within(self.sla.tpot, tpot)
            && within(self.sla.e2e, Some(e2e))
    }
}

/// The share of `arrivals` that met the SLA, NaN when none arrived: the one formula
/// for SLA attainment, a model's ([`crate::ModelReport::sla_attainment`]) and a run's.
pub fn sla_attainment(met: u64, arrivals: u64) -> f64 {
    if arrivals == 0 {
        f64::NAN
    } else {
        met as f64 / arrivals as f64
    }
}
