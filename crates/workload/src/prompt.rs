//! What a prompt is made of, for prefix caching: a sequence of [`Segment`]s, each a
//! run of tokens with one content (a system prompt, a user's question, an earlier
//! answer, a trace's 512-token block). Two prompts share their first `n` tokens
//! exactly when their segments agree up to token `n` — same contents, same lengths —
//! so an engine's KV blocks can be named from segments alone, without tokens: block
//! `j` is named by the pieces of segments it covers (see
//! `inferscale_cluster::prefix_cache::chain_of_segments`).
//!
//! A workload that knows nothing of its prompts' content gives no segments, and its
//! requests are served as before (no block is ever shared).

use inferscale_engine::mix64;

/// A run of prompt tokens with one content. Equal `content` means equal text: the
/// first `k` tokens of two segments with the same content are the same tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Names the text (a hash: different sources salt theirs, see [`content_id`]).
    pub content: u64,
    /// Its length in tokens.
    pub tokens: u32,
}

/// What kind of text a content id names: sources salt their ids with it, so a trace's
/// block 7 and a synthetic system prompt 7 never collide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum ContentKind {
    /// A trace's prefix block (Mooncake's `hash_ids`).
    TraceBlock = 1,
    /// Text no other prompt holds (a trace prompt's part past its listed blocks).
    Unique = 2,
    /// A synthetic shared system prompt.
    SystemPrompt = 3,
    /// A synthetic user question.
    Question = 4,
    /// A model's answer in a conversation.
    Answer = 5,
    /// A trace conversation's running text.
    TraceText = 6,
    /// A trace prefix group's shared text.
    TraceGroup = 7,
}

/// The content id of text `id` of `kind` (salted by the kind; `salt` tells copies of
/// one source apart, e.g. the shifted copies of a trace replayed faster).
pub fn content_id(kind: ContentKind, salt: u64, id: u64) -> u64 {
    mix64(mix64(mix64(kind as u64) ^ salt) ^ id)
}

/// A trace prompt of `prompt` tokens whose leading blocks of `trace_block` tokens are
/// listed by `blocks` (Mooncake's `hash_ids`): one segment per listed block (the last
/// cut at the prompt's end), and, past the listed blocks, one segment unique to the
/// request (`unique`). Appends to `out`.
pub fn trace_segments(
    blocks: &[u64],
    trace_block: u32,
    prompt: u32,
    salt: u64,
    unique: u64,
    out: &mut Vec<Segment>,
) {
    let trace_block = trace_block.max(1);
    let mut left = prompt;
    for &id in blocks {
        if left == 0 {
            break;
        }
        let tokens = left.min(trace_block);
        out.push(Segment {
            content: content_id(ContentKind::TraceBlock, salt, id),
            tokens,
        });
        left -= tokens;
    }
    if left > 0 {
        out.push(Segment {
            content: content_id(ContentKind::Unique, salt, unique),
            tokens: left,
        });
    }
}

/// Total tokens of `segments`.
pub fn segment_tokens(segments: &[Segment]) -> u64 {
    segments.iter().map(|s| u64::from(s.tokens)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_prompt_is_its_blocks_then_its_own_rest() {
        let mut out = Vec::new();
        trace_segments(&[7, 8], 512, 1300, 0, 99, &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(
            out.iter().map(|s| s.tokens).collect::<Vec<_>>(),
            [512, 512, 276]
        );
        assert_eq!(out[0].content, content_id(ContentKind::TraceBlock, 0, 7));
        assert_eq!(out[2].content, content_id(ContentKind::Unique, 0, 99));
        // A prompt shorter than its listed blocks ends inside one.
        out.clear();
        trace_segments(&[7, 8, 9], 512, 600, 0, 99, &mut out);
        assert_eq!(out.iter().map(|s| s.tokens).collect::<Vec<_>>(), [512, 88]);
        assert_eq!(segment_tokens(&out), 600);
        // Kinds and salts keep ids apart.
        assert_ne!(
            content_id(ContentKind::TraceBlock, 0, 7),
            content_id(ContentKind::SystemPrompt, 0, 7)
        );
        assert_ne!(
            content_id(ContentKind::TraceBlock, 0, 7),
            content_id(ContentKind::TraceBlock, 1, 7)
        );
    }
}
