//! One request as it arrives: the unit every model kind serves.

use inferscale_engine::SimTime;

/// One request: when it arrives and how much work it brings. An LLM reads `prompt`
/// and `output` as tokens; a classic model serves it whole (one input, one result,
/// both counted as 1). What later features need of a request — the prefix blocks it
/// shares, its conversation and turn, a priority class — are fields of this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Identity, the same under every policy (common random numbers): its workload
    /// entry in the top bits, its position in that entry's stream in the low 40 (see
    /// [`Request::id_of`]). What a per-request sample hashes.
    pub id: u64,
    /// When it arrives.
    pub arrival: SimTime,
    /// Prompt (input) tokens.
    pub prompt: u32,
    /// Output tokens to generate (at least 1).
    pub output: u32,
    /// Where the cluster keeps its prompt's KV block chain while it is in flight
    /// (prefix caching): a handle into the cluster's store, 0 for none. Streams leave
    /// it 0; what the prompt is made of comes from the stream
    /// ([`Arrivals::segments`](crate::Arrivals::segments)).
    pub chain: u32,
}

impl Request {
    /// A request with no prefix chain.
    pub fn new(id: u64, arrival: SimTime, prompt: u32, output: u32) -> Self {
        Request {
            id,
            arrival,
            prompt,
            output,
            chain: 0,
        }
    }

    /// Bits of [`Request::id`] that count a workload entry's requests.
    pub const SEQ_BITS: u32 = 40;

    /// The id of the `seq`-th request of workload entry `entry`.
    pub fn id_of(entry: usize, seq: u64) -> u64 {
        ((entry as u64) << Self::SEQ_BITS) | (seq & ((1 << Self::SEQ_BITS) - 1))
    }

    /// The workload entry the request came from.
    pub fn entry(&self) -> usize {
        (self.id >> Self::SEQ_BITS) as usize
    }

    /// Its position in its workload entry's stream (the id's low bits).
    pub fn seq(&self) -> u64 {
        self.id & ((1 << Self::SEQ_BITS) - 1)
    }
}
