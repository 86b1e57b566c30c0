//! One request as it arrives: the unit every model kind serves.

use inferscale_engine::SimTime;

/// One request: when it arrives and how much work it brings. An LLM reads `prompt`
/// and `output` as tokens; a classic model serves it whole (one input, one result,
/// both counted as 1). What later features need of a request — the prefix blocks it
/// shares, its conversation and turn, a priority class — are fields of this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// When it arrives.
    pub arrival: SimTime,
    /// Prompt (input) tokens.
    pub prompt: u32,
    /// Output tokens to generate (at least 1).
    pub output: u32,
}
