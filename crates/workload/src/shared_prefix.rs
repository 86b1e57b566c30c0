//! Synthetic prompts that share system prompts, as the Kubernetes load generator
//! inference-perf's `shared_prefix` data makes them: `groups` system prompts of
//! `system_tokens` tokens, each shared by `users` users, each user with a question
//! of its own; `groups × users` prompts in all. Request `i` of a stream sends prompt
//! `order[i mod P]` — the prompts in an order shuffled once per stream, as
//! inference-perf shuffles its prompt list — so every prompt recurs every `P`
//! requests, and a prefix cache sees each system prompt shared by `users` prompts
//! and each whole prompt repeated.
//!
//! Question and output lengths are drawn once per prompt (inference-perf draws each
//! group's lists once), from the stream's token random stream.

use inferscale_engine::SimRng;

use crate::{ContentKind, Segment, TokenDist, content_id};

/// The shape of a shared-prefix workload.
#[derive(Clone, Debug)]
pub struct SharedPrefix {
    /// Distinct system prompts (inference-perf `num_unique_system_prompts`).
    pub groups: u32,
    /// Users (prompts) per system prompt (`num_users_per_system_prompt`).
    pub users: u32,
    /// System prompt tokens (`system_prompt_len`).
    pub system_tokens: u32,
    /// Question tokens per prompt (`question_len`), drawn once per prompt.
    pub question: TokenDist,
    /// Output tokens per prompt (`output_len`), drawn once per prompt.
    pub output: TokenDist,
    /// inference-perf's `enable_multi_turn_chat`: each prompt is a user whose
    /// requests carry the conversation so far, one at a time ([`Sessions`]).
    pub multi_turn: bool,
}

/// inference-perf's multi-turn chat (`enable_multi_turn_chat`): request `i` is user
/// `order[i mod U]`'s (the users shuffled once) and asks prompt `i mod P`'s question
/// (the prompts in the order made); its prompt is the user's context — its system
/// prompt, then every earlier turn's prompt and answer — and that question. A user
/// has one request in flight: a request due while the last is still running waits,
/// and is sent when it ends (inference-perf's user session lock). A failed request
/// leaves the context as it was.
#[derive(Clone, Debug)]
pub struct Sessions {
    order: Vec<u32>,
    /// Per user: the context, its tokens, whether a request is in flight, and the
    /// requests waiting for it (sequence number and when each fell due).
    context: Vec<Vec<Segment>>,
    tokens: Vec<u64>,
    busy: Vec<bool>,
    waiting: Vec<std::collections::VecDeque<(u64, inferscale_engine::SimTime)>>,
}

/// One prompt of the table.
#[derive(Clone, Copy, Debug)]
struct Prompt {
    group: u32,
    question: u32,
    output: u32,
}

/// The prompts of one stream, in the order requests send them.
#[derive(Clone, Debug)]
pub struct SharedPrompts {
    prompts: Vec<Prompt>,
    system_tokens: u32,
    /// Salts the content ids (the workload entry), so two entries share nothing.
    salt: u64,
    /// Multi-turn chat's user sessions.
    pub sessions: Option<Sessions>,
}

impl SharedPrefix {
    /// Prompts in all.
    pub fn prompts(&self) -> u64 {
        u64::from(self.groups) * u64::from(self.users)
    }

    /// The stream's prompt table: lengths drawn, then shuffled (Fisher–Yates), from
    /// `rng`; content ids salted by `salt`.
    pub fn table(&self, rng: &mut SimRng, salt: u64) -> SharedPrompts {
        let mut prompts = Vec::with_capacity(self.prompts() as usize);
        for group in 0..self.groups {
            for _ in 0..self.users {
                let question = self.question.sample(rng);
                let output = self.output.sample(rng).max(1);
                prompts.push(Prompt {
                    group,
                    question,
                    output,
                });
            }
        }
        let shuffle = |rng: &mut SimRng, n: usize| -> Vec<usize> {
            let mut order: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                let j = ((u128::from(rand::Rng::next_u64(rng)) * (i as u128 + 1)) >> 64) as usize;
                order.swap(i, j);
            }
            order
        };
        let order = shuffle(rng, prompts.len());
        let sessions = if self.multi_turn {
            // The prompts stay in the order made; the users are shuffled.
            let n = prompts.len();
            let context = prompts
                .iter()
                .map(|p| {
                    if self.system_tokens > 0 {
                        vec![Segment {
                            content: content_id(
                                ContentKind::SystemPrompt,
                                salt,
                                u64::from(p.group),
                            ),
                            tokens: self.system_tokens,
                        }]
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            Some(Sessions {
                order: order.iter().map(|&u| u as u32).collect(),
                context,
                tokens: vec![u64::from(self.system_tokens); n],
                busy: vec![false; n],
                waiting: vec![Default::default(); n],
            })
        } else {
            prompts = order.iter().map(|&i| prompts[i]).collect();
            None
        };
        SharedPrompts {
            prompts,
            system_tokens: self.system_tokens,
            salt,
            sessions,
        }
    }
}

impl SharedPrompts {
    /// Multi-turn: request `seq` falls due at `at` — sent now (`Some`: its request,
    /// its prompt's segments in `out`) if its user is free, else it waits (`None`).
    pub fn session_request(
        &mut self,
        entry: usize,
        seq: u64,
        at: inferscale_engine::SimTime,
        out: &mut Vec<Segment>,
    ) -> Option<crate::Request> {
        let sessions = self.sessions.as_mut()?;
        let user = sessions.order[(seq % sessions.order.len() as u64) as usize] as usize;
        if sessions.busy[user] {
            sessions.waiting[user].push_back((seq, at));
            return None;
        }
        Some(self.send(entry, user, seq, at, out))
    }

    /// Sends request `seq` of `user` at `at`.
    fn send(
        &mut self,
        entry: usize,
        user: usize,
        seq: u64,
        at: inferscale_engine::SimTime,
        out: &mut Vec<Segment>,
    ) -> crate::Request {
        let index = (seq % self.prompts.len() as u64) as usize;
        let p = self.prompts[index];
        let salt = self.salt;
        let Some(sessions) = self.sessions.as_mut() else {
            unreachable!("multi-turn only");
        };
        sessions.busy[user] = true;
        out.clone_from(&sessions.context[user]);
        out.push(Segment {
            content: content_id(ContentKind::Question, salt, index as u64),
            tokens: p.question,
        });
        let prompt = (sessions.tokens[user] + u64::from(p.question)).max(1);
        crate::Request::new(
            crate::Request::id_of(entry, seq),
            at,
            u32::try_from(prompt).unwrap_or(u32::MAX),
            p.output,
        )
    }

    /// The answer a multi-turn request's output will be (what its user's next
    /// request repeats).
    pub fn answer(&self, request: &crate::Request) -> Option<Segment> {
        self.sessions.as_ref()?;
        Some(Segment {
            content: content_id(ContentKind::Answer, self.salt, request.seq()),
            tokens: request.output,
        })
    }

    /// Multi-turn: `request` ended at `at` (`output` tokens, or `None`: failed). Its
    /// user's context grows by its prompt's question and its answer (not when it
    /// failed), and the user's next waiting request is sent now, if any.
    pub fn session_ended(
        &mut self,
        entry: usize,
        request: &crate::Request,
        at: inferscale_engine::SimTime,
        output: Option<u32>,
        out: &mut Vec<Segment>,
    ) -> Option<crate::Request> {
        let seq = request.seq();
        let index = (seq % self.prompts.len() as u64) as usize;
        let question = Segment {
            content: content_id(ContentKind::Question, self.salt, index as u64),
            tokens: self.prompts[index].question,
        };
        let answer = self.answer(request);
        let sessions = self.sessions.as_mut()?;
        let user = sessions.order[(seq % sessions.order.len() as u64) as usize] as usize;
        sessions.busy[user] = false;
        if let (Some(generated), Some(answer)) = (output, answer) {
            sessions.context[user].push(question);
            sessions.tokens[user] += u64::from(question.tokens);
            if generated > 0 {
                sessions.context[user].push(Segment {
                    tokens: generated,
                    ..answer
                });
                sessions.tokens[user] += u64::from(generated);
            }
        }
        let (next, due) = sessions.waiting[user].pop_front()?;
        Some(self.send(entry, user, next, due.max(at), out))
    }

    /// Request `seq`'s prompt: its (prompt, output) tokens, its segments into `out`
    /// (cleared first): the group's system prompt, then the prompt's own question.
    pub fn request(&self, seq: u64, out: &mut Vec<Segment>) -> (u32, u32) {
        let index = (seq % self.prompts.len() as u64) as usize;
        let p = self.prompts[index];
        out.clear();
        if self.system_tokens > 0 {
            out.push(Segment {
                content: content_id(ContentKind::SystemPrompt, self.salt, u64::from(p.group)),
                tokens: self.system_tokens,
            });
        }
        if p.question > 0 {
            out.push(Segment {
                content: content_id(ContentKind::Question, self.salt, index as u64),
                tokens: p.question,
            });
        }
        ((self.system_tokens + p.question).max(1), p.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::RngStreams;

    #[test]
    fn prompts_share_their_group_and_recur_every_cycle() {
        let shape = SharedPrefix {
            groups: 3,
            users: 4,
            system_tokens: 100,
            question: TokenDist::fixed(50),
            output: TokenDist::fixed(20),
            multi_turn: false,
        };
        let table = shape.table(&mut RngStreams::new(1, 0).stream("tokens/0"), 0);
        let mut seen = Vec::new();
        for seq in 0..24 {
            let mut segments = Vec::new();
            assert_eq!(table.request(seq, &mut segments), (150, 20));
            seen.push(segments);
        }
        // Request i and i + 12 send the same prompt; the 12 of a cycle are distinct,
        // and fall into 3 system prompts of 4 users each.
        assert!((0..12).all(|i| seen[i] == seen[i + 12]));
        let questions: std::collections::HashSet<u64> =
            seen[..12].iter().map(|s| s[1].content).collect();
        assert_eq!(questions.len(), 12);
        let mut systems = std::collections::HashMap::new();
        for s in &seen[..12] {
            *systems.entry(s[0].content).or_insert(0) += 1;
        }
        assert_eq!(systems.len(), 3);
        assert!(systems.values().all(|&n| n == 4));
    }
}
