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
        for i in (1..prompts.len()).rev() {
            let j = ((u128::from(rand::Rng::next_u64(rng)) * (i as u128 + 1)) >> 64) as usize;
            prompts.swap(i, j);
        }
        SharedPrompts {
            prompts,
            system_tokens: self.system_tokens,
            salt,
        }
    }
}

impl SharedPrompts {
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
