//! Where requests come from: arrival processes, request sizes, and traces replayed in
//! their native formats.
//!
//! An [`ArrivalProcess`] answers one question — "given the last arrival at `now`, when
//! is the next one?" — from its own random stream, so the arrival sequence of a
//! replication is identical whatever the rest of the simulation does with it. This is
//! what gives policy comparisons their common random numbers.
#![deny(missing_docs)]

mod arrivals;
mod conversation;
mod csv;
pub mod lines;
mod prompt;
mod rate;
mod replay;
mod request;
mod servegen;
mod shared_prefix;
mod sizes;
mod source;
mod trace;

pub use arrivals::{ArrivalError, ArrivalProcess, LoadStage, RenewalWindow, StageCursor};
pub use conversation::{ConversationState, Conversations, MAX_TURNS};
pub use prompt::{ContentKind, Segment, content_id, segment_tokens, trace_segments};
pub use rate::{Interpolation, RateFn, read_rate_series};
pub use replay::{Replay, ReplayOptions, WindowSummary, summarize_window};
pub use request::Request;
pub use servegen::read_servegen_client;
pub use shared_prefix::{Sessions, SharedPrefix, SharedPrompts};
pub use sizes::{EmpiricalPairs, TokenDist};
pub use source::{Arrivals, PlainArrivals, RequestSource, Requests, Sizes};
pub use trace::{
    MOONCAKE_BLOCK_TOKENS, SharedText, TraceError, TraceFormat, TraceReader, TraceRequest,
};
