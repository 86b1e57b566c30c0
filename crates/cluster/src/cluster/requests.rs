//! The per-request records of a run (`requests.parquet`): which replica a record is
//! attributed to, handing records to the sink after every event, and the requests
//! still in flight at the end.

use super::Cluster;
use crate::request_log::RequestOutcome;

impl Cluster {
    /// Attributes the records `owner`'s outcomes write next to replica `r` (`None`:
    /// the router). The cluster sets it around each call into a replica.
    #[inline]
    pub(super) fn attribute(&mut self, owner: usize, r: Option<usize>) {
        if self.logging
            && let Some(log) = self.per_model[owner].outcomes.log.as_mut()
        {
            log.replica = r.map(|r| r as u32);
        }
    }

    /// Hands every record written so far to the sink, with its model and its
    /// replica's node pool.
    pub(super) fn drain_request_records(&mut self) {
        let Some(sink) = self.request_sink.as_mut() else {
            return;
        };
        for (m, state) in self.per_model.iter_mut().enumerate() {
            let Some(log) = state.outcomes.log.as_mut() else {
                continue;
            };
            for mut record in log.records.drain(..) {
                record.model = m;
                let pool = record
                    .replica
                    .map(|r| self.nodes[self.replicas[r as usize].node].pool);
                sink.record(&record, pool);
            }
        }
    }

    /// From `at` (the horizon) on, requests that end are recorded as in flight: the
    /// report counts them so.
    pub(super) fn freeze_request_logs(&mut self, at: inferscale_engine::SimTime) {
        for state in &mut self.per_model {
            if let Some(log) = state.outcomes.log.as_mut() {
                log.frozen_at = Some(at);
            }
        }
    }

    /// Records the requests still in flight after the run-out, judged as the report
    /// judges them, and hands every record left to the sink.
    pub(super) fn log_requests_in_flight(&mut self) {
        if self.request_sink.is_none() {
            return;
        }
        for owner in 0..self.per_model.len() {
            if self.config.router_of(owner) != owner || self.per_model[owner].outcomes.log.is_none()
            {
                continue;
            }
            let sla = self.per_model[owner].outcomes.sla;
            let mut found = Vec::new();
            for (r, slot) in self.replicas.iter().enumerate() {
                if slot.gone_at.is_none() && slot.owner == owner {
                    slot.server.for_each_outstanding(&mut |request, first| {
                        found.push((Some(r as u32), *request, first));
                    });
                }
            }
            for request in &self.routers[owner].pending {
                found.push((None, *request, None));
            }
            let outcomes = &mut self.per_model[owner].outcomes;
            let found: Vec<_> = found
                .into_iter()
                .map(|(replica, request, first)| {
                    (replica, request, first, outcomes.measured(&request))
                })
                .collect();
            if let Some(log) = outcomes.log.as_mut() {
                for (replica, request, first, measured) in found {
                    log.replica = replica;
                    let met = measured && sla.met_before_completion(&request, first);
                    log.end(&request, None, RequestOutcome::InFlight, met, measured);
                }
                log.replica = None;
            }
        }
        self.drain_request_records();
    }
}
