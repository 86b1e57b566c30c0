//! The replica's KV blocks: counted, or — once a request brings its prompt's block
//! chain and prefix caching is on — held in a [`BlockPool`] that knows which blocks
//! hold which prefix.
//!
//! Counting stays the path of requests without a chain (every synthetic workload
//! today): one counter, as before, so nothing changes for them. The first chained
//! request turns the counter into a pool whose blocks in use are all anonymous (no
//! identity), and from then on every request takes its prompt's blocks from the pool
//! — the cached prefix shared, the rest allocated — and its decode growth as
//! anonymous blocks. A request always holds `ceil(stored tokens / block_size)`
//! blocks, its prompt's named ones first; what it gives back is computed from that,
//! so requests admitted before the switch release correctly too.

use crate::prefix_cache::{BlockPool, CacheCounts, Held, hit_limit};

use super::LlmReplica;

/// The KV blocks' bookkeeping.
#[derive(Clone, Debug)]
pub(super) enum Kv {
    /// Blocks in use, counted.
    Counted(u64),
    /// Blocks with identities.
    Cached(Box<BlockPool>),
}

/// What admitting a request's prompt would take: its blocks in all, the leading ones
/// found cached, and the free blocks that needs.
#[derive(Clone, Copy, Debug)]
pub(super) struct PromptBlocks {
    pub total: usize,
    pub hit: usize,
    /// Leading blocks looked up (the hit limit).
    pub queried: usize,
    /// Free blocks it takes: the fresh ones and the hit ones no request holds.
    pub needed_free: u64,
    /// Full blocks of the tokens to compute (the blocks that may be named now: a
    /// chain that runs on into the answer names the rest as decode fills them).
    pub full: usize,
}

impl LlmReplica {
    /// Blocks in use.
    #[inline]
    pub(super) fn kv_used(&self) -> u64 {
        match &self.kv {
            Kv::Counted(used) => *used,
            Kv::Cached(pool) => u64::from(pool.used_blocks()),
        }
    }

    /// Blocks an allocation can take (cached blocks no request holds included).
    #[inline]
    pub(super) fn kv_free(&self) -> u64 {
        self.config.kv_blocks - self.kv_used()
    }

    /// The prefix cache's lookups and hits so far (zero while counting).
    pub fn cache_counts(&self) -> CacheCounts {
        match &self.kv {
            Kv::Counted(_) => CacheCounts::default(),
            Kv::Cached(pool) => pool.counts(),
        }
    }

    /// How many of the first `limit` blocks of `chain` are cached now
    /// ([`BlockPool::longest_prefix`]: one map probe per run of the chain): a
    /// router's view.
    pub fn cached_prefix(&self, chain: &[u64], limit: usize) -> usize {
        match &self.kv {
            Kv::Counted(_) => 0,
            Kv::Cached(pool) => pool.longest_prefix(chain, limit.min(chain.len())),
        }
    }

    /// What admitting slot `id` with `tokens` to (re)compute would take (with a pool,
    /// the cached blocks found are kept for [`take_prompt_blocks`](Self::take_prompt_blocks)).
    #[inline(always)]
    pub(super) fn prompt_blocks(&mut self, id: usize, tokens: u32) -> PromptBlocks {
        match &self.kv {
            Kv::Counted(_) => {
                let total = self.blocks_for(u64::from(tokens));
                PromptBlocks {
                    total: total as usize,
                    hit: 0,
                    queried: 0,
                    needed_free: total,
                    full: 0,
                }
            }
            Kv::Cached(_) => self.cached_prompt_blocks(id, tokens),
        }
    }

    /// [`prompt_blocks`](Self::prompt_blocks) with a pool: the cached prefix looked
    /// up, once. Out of line, so the counting path stays as short as before.
    #[inline(never)]
    fn cached_prompt_blocks(&mut self, id: usize, tokens: u32) -> PromptBlocks {
        let total = self.blocks_for(u64::from(tokens)) as usize;
        let Kv::Cached(pool) = &self.kv else {
            unreachable!("called with a pool");
        };
        let chain = &self.chains[id];
        let queried = hit_limit(u64::from(tokens), self.config.block_size).min(chain.len());
        let idle = pool.find_prefix(chain, queried, &mut self.found);
        let hit = self.found.hit();
        PromptBlocks {
            total,
            hit,
            queried,
            needed_free: (total.saturating_sub(hit) + idle) as u64,
            full: (u64::from(tokens) / u64::from(self.config.block_size)) as usize,
        }
    }

    /// Takes slot `id`'s prompt blocks as `plan` found them.
    #[inline]
    pub(super) fn take_prompt_blocks(&mut self, id: usize, plan: PromptBlocks) {
        match &mut self.kv {
            Kv::Counted(used) => *used += plan.total as u64,
            Kv::Cached(pool) => {
                let held = &mut self.held[id];
                let chain = &self.chains[id];
                let taken = pool.allocate_found(
                    &chain[..chain.len().min(plan.full)],
                    &self.found,
                    plan.queried,
                    plan.total,
                    held,
                );
                debug_assert!(taken, "admitted without the blocks");
            }
        }
    }

    /// Counts an admission of `tokens` prompt tokens as `plan` found them, within the
    /// statistics window.
    #[inline]
    pub(super) fn count_admission(
        &mut self,
        now: inferscale_engine::SimTime,
        plan: PromptBlocks,
        tokens: u32,
    ) {
        let cached = (plan.hit as u64 * u64::from(self.config.block_size)).min(u64::from(tokens));
        let counts = crate::replica::PrefixStats {
            prefill_tokens: u64::from(tokens) - cached,
            cached_tokens: cached,
            queried_blocks: plan.queried as u64,
            hit_blocks: plan.hit as u64,
        };
        self.stats.prefix_run = self.stats.prefix_run.plus(counts);
        if now >= self.stats_from {
            self.stats.prefix = self.stats.prefix.plus(counts);
        }
    }

    /// Takes `n` blocks of decode growth (the caller checked they are free).
    #[inline]
    pub(super) fn take_growth(&mut self, n: u64) {
        match &mut self.kv {
            Kv::Counted(used) => *used += n,
            Kv::Cached(pool) => {
                let taken = pool.take_anonymous(n as u32);
                debug_assert!(taken, "grew without the blocks");
            }
        }
    }

    /// Slot `id`, holding `stored` tokens, lets go of its blocks: its growth, then
    /// its prompt's (the last blocks first, as vLLM frees them).
    #[inline]
    pub(super) fn release_blocks(&mut self, id: usize, stored: u64) {
        let all = self.blocks_for(stored);
        match &mut self.kv {
            Kv::Counted(used) => *used -= all,
            Kv::Cached(pool) => {
                let held = &mut self.held[id];
                pool.give_back_anonymous((all as usize).saturating_sub(held.blocks()) as u32);
                pool.release(held);
                held.clear();
            }
        }
    }

    /// Slot `id`, finishing with `stored` tokens, names the blocks its decode filled
    /// where its chain runs on into its answer (a conversation's turn): the prompt's
    /// last block, full now, and the full growth blocks, as vLLM caches a block once
    /// it is full. The next turn, whose prompt repeats this answer, finds them.
    #[inline]
    pub(super) fn name_filled_blocks(&mut self, id: usize, stored: u64) {
        let Kv::Cached(pool) = &mut self.kv else {
            return;
        };
        let chain = &self.chains[id];
        let size = u64::from(self.config.block_size);
        let prompt_full = (u64::from(self.slots[id].request.prompt) / size) as usize;
        let full = ((stored / size) as usize).min(chain.len());
        pool.name_filled(&mut self.held[id], chain, prompt_full, full);
    }

    /// Turns counting into a pool (the first chained request, with caching on): the
    /// blocks in use become anonymous blocks of the pool.
    pub(super) fn start_caching(&mut self) {
        if let Kv::Counted(used) = self.kv {
            let capacity = u32::try_from(self.config.kv_blocks).unwrap_or(u32::MAX);
            let mut pool = BlockPool::new(capacity);
            let taken = pool.take_anonymous(used as u32);
            debug_assert!(taken);
            self.kv = Kv::Cached(Box::new(pool));
            self.track_slots();
        }
    }

    /// Gives every slot its (empty) chain and block list, once caching.
    pub(super) fn track_slots(&mut self) {
        let n = self.slots.len();
        if self.chains.len() < n {
            self.chains.resize_with(n, Vec::new);
            self.held.resize_with(n, Held::default);
        }
    }

    /// Forgets every block (the replica was emptied): counting again, nothing cached.
    pub(super) fn reset_kv(&mut self) {
        self.kv = Kv::Counted(0);
        self.held.iter_mut().for_each(Held::clear);
        self.chains.iter_mut().for_each(Vec::clear);
    }
}
