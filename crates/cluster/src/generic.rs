//! The generic model kind: a request needs a random amount of service from one server.

use inferscale_engine::Dist;

/// A model described only by its service-time distribution and how many requests one
/// replica serves at once.
///
/// This is the textbook multi-server queue: it needs no hardware description, so it is
/// what validates the engine against closed forms, and it models any service whose
/// latency does not depend on batching (a CPU microservice, a fixed-latency endpoint).
#[derive(Clone, Debug)]
pub struct GenericModel {
    /// How many requests are served in parallel (the `c` of M/M/c).
    pub servers: u32,
    /// Time one request occupies a server, in seconds.
    pub service_time: Dist,
}

impl GenericModel {
    /// Offered load per server, λ·E\[S\]/c, for an arrival rate `rate_per_s`.
    pub fn utilization_at(&self, rate_per_s: f64) -> f64 {
        rate_per_s * self.service_time.mean() / f64::from(self.servers)
    }
}
