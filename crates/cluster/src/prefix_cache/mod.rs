//! A replica's KV blocks with identities: vLLM's automatic prefix caching.
//!
//! A prompt is split into full blocks of `block_size` tokens; each full block is
//! identified by a hash of its own content chained to the hash of the block before it
//! ([`chain_hashes`]), so two prompts share a block exactly when they share everything
//! up to its end. The pool holds every KV block of the replica:
//!
//! - a block held by running requests has a reference count above zero;
//! - a block no request holds is in the *free queue*, least recently used first; it
//!   keeps its hash (and stays findable) until the queue hands it out again, when its
//!   hash is forgotten (the eviction);
//! - a new request reuses the longest run of its leading blocks that is cached (taking
//!   them off the free queue if no one held them), and allocates the rest from the
//!   head of the queue; the full blocks it computes are registered under their hashes;
//! - a finished request's blocks go back to the tail of the queue in reverse order, so
//!   its last block is evicted first and its shared prefix last (vLLM v1's
//!   `KVCacheManager.free`).
//!
//! As in vLLM, cached blocks no request holds count as free capacity: the scheduler
//! sees `free_blocks()` = never-used + cached-idle blocks. Everything is per block: a
//! request costs O(its blocks) at admission and at release, never per token.

use inferscale_engine::mix64 as mix;
use inferscale_workload::Segment;

mod pool;
mod starts;

pub use pool::{BlockPool, Found, Held};

/// The hash a chain starts from (the parent of a prompt's first block).
const CHAIN_SEED: u64 = 0x243F_6A88_85A3_08D3;

/// The chained hashes of a sequence of block contents: block `i`'s hash depends on
/// `ids[0..=i]`, so equal hashes mean equal prefixes (up to a 2⁻⁶⁴ collision).
pub fn chain_hashes(ids: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut parent = CHAIN_SEED;
    ids.into_iter()
        .map(|id| {
            parent = mix(parent ^ mix(id));
            parent
        })
        .collect()
}

/// The chained hashes of the full blocks of `block_size` tokens of a prompt made of
/// `segments`, into `out` (cleared first). Block `j` (tokens `j·block_size …
/// (j+1)·block_size − 1`) is named by the pieces of segments it covers — each a
/// content and the offsets of the piece within it — and chained as [`chain_hashes`]
/// chains: two prompts get the same hash for block `j` exactly when their segments
/// agree up to its end. The prompt's last, partial block gets none (it is not a full
/// block). Costs O(blocks + segments), never per token.
pub fn chain_of_segments(segments: &[Segment], block_size: u32, out: &mut Vec<u64>) {
    out.clear();
    let size = block_size.max(1);
    let mut state = ChainState::START;
    for segment in segments {
        state.push(segment, size, out);
    }
}

/// Where a chain stands between segments: the last full block's hash, and the
/// content and size of the block being filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChainState {
    parent: u64,
    content: u64,
    filled: u32,
}

impl ChainState {
    const START: ChainState = ChainState {
        parent: CHAIN_SEED,
        content: 0,
        filled: 0,
    };

    /// Hashes `segment`'s tokens onto the chain, pushing each block it completes.
    #[inline]
    fn push(&mut self, segment: &Segment, size: u32, out: &mut Vec<u64>) {
        let mut at = 0u32;
        while at < segment.tokens {
            let take = (size - self.filled).min(segment.tokens - at);
            let piece = mix(segment.content ^ mix(u64::from(at) << 32 | u64::from(at + take)));
            self.content = mix(self.content ^ piece);
            at += take;
            self.filled += take;
            if self.filled == size {
                self.parent = mix(self.parent ^ mix(self.content));
                out.push(self.parent);
                (self.content, self.filled) = (0, 0);
            }
        }
    }
}

/// [`chain_of_segments`] with the chain of each prompt's first segment remembered:
/// prompts that open with the same segment (a shared system prompt, a conversation's
/// history, a trace's first block) share its blocks' hashes, which are then copied
/// rather than recomputed — most of a shared-prefix workload's hashing. Direct-mapped
/// over [`ChainMemo::SLOTS`] slots (a colliding first segment replaces the one
/// there), so its memory is bounded by the slots times the longest first segment;
/// the chains it gives are exactly [`chain_of_segments`]'s.
#[derive(Clone, Debug, Default)]
pub struct ChainMemo {
    slots: Vec<MemoSlot>,
    reused: u64,
}

#[derive(Clone, Debug)]
struct MemoSlot {
    /// The segment's content and tokens, and the block size; `tokens == 0`: empty
    /// (a remembered segment has at least a block's tokens, so never matches it).
    content: u64,
    tokens: u32,
    block_size: u32,
    /// The hashes of the blocks the segment completes, and where the chain stands
    /// after it.
    hashes: Vec<u64>,
    after: ChainState,
}

impl ChainMemo {
    /// Slots remembered.
    pub const SLOTS: usize = 1024;

    /// Prompts whose first segment's hashes were copied from a slot.
    pub fn reused(&self) -> u64 {
        self.reused
    }

    /// The chain of `segments` at `block_size` into `out`, as [`chain_of_segments`].
    pub fn chain(&mut self, segments: &[Segment], block_size: u32, out: &mut Vec<u64>) {
        let size = block_size.max(1);
        let Some((first, rest)) = segments.split_first() else {
            out.clear();
            return;
        };
        if first.tokens < size {
            chain_of_segments(segments, block_size, out);
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize_with(Self::SLOTS, || MemoSlot {
                content: 0,
                tokens: 0,
                block_size: 0,
                hashes: Vec::new(),
                after: ChainState::START,
            });
        }
        let key = mix(first.content ^ mix(u64::from(first.tokens) << 32 | u64::from(size)));
        let slot = &mut self.slots[(key as usize) & (Self::SLOTS - 1)];
        out.clear();
        let remembered =
            slot.content == first.content && slot.tokens == first.tokens && slot.block_size == size;
        let mut state = if remembered {
            out.extend_from_slice(&slot.hashes);
            self.reused += 1;
            slot.after
        } else {
            let mut state = ChainState::START;
            state.push(first, size, out);
            slot.content = first.content;
            slot.tokens = first.tokens;
            slot.block_size = size;
            slot.hashes.clear();
            slot.hashes.extend_from_slice(out);
            slot.after = state;
            state
        };
        for segment in rest {
            state.push(segment, size, out);
        }
    }
}

/// How many leading blocks of a prompt of `prompt_tokens` tokens may come from the
/// cache: its full blocks, but never the whole prompt — the last token is always
/// computed, for its logits (vLLM v1 caps a hit at `num_tokens − 1`), so a prompt of
/// exactly `k` full blocks can reuse at most `k − 1`.
pub fn hit_limit(prompt_tokens: u64, block_size: u32) -> usize {
    (prompt_tokens.saturating_sub(1) / u64::from(block_size.max(1))) as usize
}

/// Cache effectiveness: lookups and hits, in blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounts {
    /// Full prompt blocks requests asked for (up to their hit limit).
    pub queried_blocks: u64,
    /// Of those, blocks found cached.
    pub hit_blocks: u64,
    /// Cached blocks evicted to make room.
    pub evicted_blocks: u64,
}

#[cfg(test)]
mod tests;
