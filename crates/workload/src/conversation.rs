//! Multi-turn conversations: each arrival of the workload's process starts one, and
//! each later turn is sent a think time after the previous one ended (a closed loop:
//! when a turn is due depends on how fast it was served). A turn's prompt is the
//! conversation so far — an optional system prompt shared by every conversation,
//! then every earlier turn's input and answer — and its new input, so a prefix cache
//! finds the history (the answers too: a replica names the blocks its decode filled,
//! as vLLM caches full blocks while decoding). A turn that fails (dropped, refused,
//! timed out) ends its conversation: the user leaves.
//!
//! Everything a conversation will send — its turns, each turn's input and output
//! tokens, its think times — is drawn when it starts, from the stream's own random
//! streams, so every policy sees the same conversations; only when later turns come
//! depends on the policy. A request's id is its conversation and turn
//! (`conversation << 8 | turn`), the same under every policy.

use std::collections::HashMap;

use inferscale_engine::{Dist, SimDuration, SimRng, SimTime};

use crate::{ContentKind, Request, Segment, TokenDist, content_id};

/// Most turns of one conversation (the turn is the id's low 8 bits).
pub const MAX_TURNS: u32 = 255;

/// The shape of a conversation workload.
#[derive(Clone, Debug)]
pub struct Conversations {
    /// Turns per conversation (at least 1, at most [`MAX_TURNS`]).
    pub turns: TokenDist,
    /// New input tokens per turn.
    pub input: TokenDist,
    /// Output tokens per turn.
    pub output: TokenDist,
    /// Seconds between a turn's end and the next turn.
    pub think: Dist,
    /// Tokens of a system prompt every conversation starts with (0: none).
    pub system_tokens: u32,
}

/// One conversation in progress: what it has said, and what it will.
#[derive(Debug)]
struct Conversation {
    /// The prompt of the turn in flight, then its answer once it ends.
    history: Vec<Segment>,
    /// Tokens of `history`.
    tokens: u64,
    /// Turns sent so far.
    sent: u32,
    /// Per remaining turn: (input, output) tokens and the think time before it.
    later: Vec<(u32, u32, SimDuration)>,
}

/// The conversations of one stream.
#[derive(Debug)]
pub struct ConversationState {
    shape: Conversations,
    /// In progress, by index.
    live: HashMap<u64, Conversation>,
    started: u64,
    think_rng: SimRng,
    salt: u64,
}

impl Conversations {
    /// The state of one stream: think times from `think_rng`, content ids salted by
    /// `salt` (the workload entry).
    pub fn state(&self, think_rng: SimRng, salt: u64) -> ConversationState {
        ConversationState {
            shape: self.clone(),
            live: HashMap::new(),
            started: 0,
            think_rng,
            salt,
        }
    }
}

impl ConversationState {
    /// Starts a conversation at `now` (sizes from `rng`): its first turn, its prompt's
    /// segments into `out`.
    pub fn start(
        &mut self,
        entry: usize,
        now: SimTime,
        rng: &mut SimRng,
        out: &mut Vec<Segment>,
    ) -> Request {
        let index = self.started;
        self.started += 1;
        let turns = self.shape.turns.sample(rng).clamp(1, MAX_TURNS);
        let mut sizes: Vec<(u32, u32, SimDuration)> = (0..turns)
            .map(|t| {
                let input = self.shape.input.sample(rng).max(1);
                let output = self.shape.output.sample(rng).max(1);
                let think = if t == 0 {
                    SimDuration::ZERO
                } else {
                    SimDuration::from_secs_f64(self.shape.think.sample(&mut self.think_rng))
                };
                (input, output, think)
            })
            .collect();
        let (input, output, _) = sizes.remove(0);
        sizes.reverse(); // popped from the end, in turn order
        let mut history = Vec::with_capacity(2 * turns as usize + 1);
        if self.shape.system_tokens > 0 {
            history.push(Segment {
                content: content_id(ContentKind::SystemPrompt, self.salt, 0),
                tokens: self.shape.system_tokens,
            });
        }
        let mut c = Conversation {
            history,
            tokens: u64::from(self.shape.system_tokens),
            sent: 0,
            later: sizes,
        };
        let request = self.turn(&mut c, entry, index, now, input, output);
        out.clone_from(&c.history);
        self.live.insert(index, c);
        request
    }

    /// Appends turn `c.sent` (its input) and returns its request, sent at `at`.
    fn turn(
        &self,
        c: &mut Conversation,
        entry: usize,
        index: u64,
        at: SimTime,
        input: u32,
        output: u32,
    ) -> Request {
        let turn = u64::from(c.sent);
        c.history.push(Segment {
            content: content_id(ContentKind::Question, self.salt, index << 8 | turn),
            tokens: input,
        });
        c.tokens += u64::from(input);
        c.sent += 1;
        let prompt = u32::try_from(c.tokens).unwrap_or(u32::MAX);
        Request::new(Request::id_of(entry, index << 8 | turn), at, prompt, output)
    }

    /// The answer segment of a turn that generated `output` tokens (what its replica
    /// names the blocks its decode filled by).
    pub fn answer(&self, request: &Request) -> Segment {
        Segment {
            content: content_id(ContentKind::Answer, self.salt, request.seq()),
            tokens: request.output,
        }
    }

    /// Turn `request` ended at `at`, having generated `output` tokens (`None`: it
    /// failed): the conversation's next turn, due a think time later, its prompt's
    /// segments into `out`; `None` when the conversation is over.
    pub fn ended(
        &mut self,
        entry: usize,
        request: &Request,
        at: SimTime,
        output: Option<u32>,
        out: &mut Vec<Segment>,
    ) -> Option<Request> {
        let index = request.seq() >> 8;
        let Some(output) = output else {
            self.live.remove(&index);
            return None;
        };
        let answer = Segment {
            tokens: output,
            ..self.answer(request)
        };
        let mut c = self.live.remove(&index)?;
        let (input, next_output, think) = c.later.pop()?;
        if output > 0 {
            c.history.push(answer);
            c.tokens += u64::from(output);
        }
        let next = self.turn(&mut c, entry, index, at + think, input, next_output);
        out.clone_from(&c.history);
        self.live.insert(index, c);
        Some(next)
    }

    /// Conversations in progress.
    pub fn in_progress(&self) -> usize {
        self.live.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    #[test]
    fn a_turn_carries_the_conversation_so_far() {
        let shape = Conversations {
            turns: TokenDist::fixed(3),
            input: TokenDist::fixed(100),
            output: TokenDist::fixed(50),
            think: Dist::deterministic(5.0).unwrap(),
            system_tokens: 20,
        };
        let streams = RngStreams::new(1, 0);
        let mut state = shape.state(streams.stream("think/0"), 0);
        let mut rng = streams.stream("tokens/0");
        let mut seg = Vec::new();
        let first = state.start(0, SimTime::from_secs(1), &mut rng, &mut seg);
        assert_eq!((first.prompt, first.output), (120, 50));
        assert_eq!(seg.len(), 2);
        let second = state
            .ended(0, &first, SimTime::from_secs(3), Some(50), &mut seg)
            .unwrap();
        // System, question 1, answer 1, question 2; sent 5 s after the first ended.
        assert_eq!(
            (second.prompt, second.arrival),
            (270, SimTime::from_secs(8))
        );
        assert_eq!(seg.len(), 4);
        assert_eq!(seg[2], state.answer(&first));
        assert_eq!(second.id, Request::id_of(0, 1));
        let third = state
            .ended(0, &second, SimTime::from_secs(9), Some(50), &mut seg)
            .unwrap();
        assert_eq!(third.prompt, 420);
        assert!(
            state
                .ended(0, &third, SimTime::from_secs(10), Some(50), &mut seg)
                .is_none()
        );
        assert_eq!(state.in_progress(), 0);
        // A failed turn ends its conversation.
        let other = state.start(0, SimTime::from_secs(20), &mut rng, &mut seg);
        assert!(
            state
                .ended(0, &other, SimTime::from_secs(21), None, &mut seg)
                .is_none()
        );
        assert_eq!(state.in_progress(), 0);
        assert_eq!(other.id, Request::id_of(0, 1 << 8));
    }
}
