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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use inferscale_engine::mix64 as mix;
use inferscale_workload::Segment;

/// No block (the free queue's end, a block's missing neighbour).
const NIL: u32 = u32::MAX;

/// One KV block.
#[derive(Clone, Copy, Debug)]
struct Block {
    /// Its content's chained hash while it is registered.
    hash: Option<u64>,
    /// Requests holding it.
    refs: u32,
    /// Free-queue neighbours (towards the head, towards the tail).
    prev: u32,
    next: u32,
}

/// A hasher for keys that are already well-mixed 64-bit hashes: it passes them
/// through (the map never iterates, so no order depends on it).
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

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
    let (mut parent, mut content, mut filled) = (CHAIN_SEED, 0u64, 0u32);
    for segment in segments {
        let mut at = 0u32;
        while at < segment.tokens {
            let take = (size - filled).min(segment.tokens - at);
            let piece = mix(segment.content ^ mix(u64::from(at) << 32 | u64::from(at + take)));
            content = mix(content ^ piece);
            at += take;
            filled += take;
            if filled == size {
                parent = mix(parent ^ mix(content));
                out.push(parent);
                (content, filled) = (0, 0);
            }
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

/// A replica's KV blocks: the held ones, and the free queue of the rest, some of them
/// still cached.
#[derive(Clone, Debug)]
pub struct BlockPool {
    /// The blocks used so far; the others have never been and need no entry.
    blocks: Vec<Block>,
    /// Blocks in all.
    capacity: u32,
    /// Never-used blocks: conceptually the head of the free queue (vLLM's queue
    /// starts with every block in order, and freed ones join its tail, so the
    /// never-used ones always come first).
    untouched: u32,
    /// The rest of the free queue: head is evicted first.
    head: u32,
    tail: u32,
    /// Free blocks, never-used ones included.
    free: u32,
    cached: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    /// Blocks taken without an identity (requests' growth while decoding): any one
    /// is as good as another, so they are counted and kept, not named per request.
    anonymous: Vec<u32>,
    counts: CacheCounts,
}

impl BlockPool {
    /// A pool of `blocks` empty blocks, all free. Costs nothing per block: a block
    /// gets its entry when first used, so memory follows the blocks a replica has
    /// actually filled.
    pub fn new(blocks: u32) -> Self {
        BlockPool {
            blocks: Vec::new(),
            capacity: blocks,
            untouched: blocks,
            head: NIL,
            tail: NIL,
            free: blocks,
            cached: HashMap::default(),
            anonymous: Vec::new(),
            counts: CacheCounts::default(),
        }
    }

    /// Blocks in all.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Blocks a new allocation can take: never used, or cached and held by no one.
    pub fn free_blocks(&self) -> u32 {
        self.free
    }

    /// Blocks held by running requests.
    pub fn used_blocks(&self) -> u32 {
        self.capacity() - self.free
    }

    /// Blocks registered under a hash (held or idle).
    pub fn cached_blocks(&self) -> usize {
        self.cached.len()
    }

    /// The block holding `hash`, if one does.
    #[inline]
    fn lookup(&self, hash: &u64) -> Option<u32> {
        self.cached.get(hash).copied()
    }

    /// Names `block` by `hash` unless a block holds it already (the first copy stays
    /// the findable one).
    #[inline]
    fn name(&mut self, block: u32, hash: u64) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.cached.entry(hash) {
            e.insert(block);
            self.blocks[block as usize].hash = Some(hash);
        }
    }

    /// Lookups, hits and evictions so far.
    pub fn counts(&self) -> CacheCounts {
        self.counts
    }

    /// How many of the leading `hashes` (at most `limit`) are cached.
    pub fn longest_prefix(&self, hashes: &[u64], limit: usize) -> usize {
        hashes
            .iter()
            .take(limit)
            .take_while(|h| self.lookup(h).is_some())
            .count()
    }

    /// The longest cached prefix of `hashes` (at most `limit` blocks) found by
    /// bisection: exact when every cached block of the chain has its prefix cached,
    /// which eviction keeps (a request releases its last block first, so a block
    /// leaves the free queue before its parent); otherwise a length whose last block
    /// is cached. What a router's view of a replica needs, in O(log limit) lookups.
    pub fn cached_prefix_bisect(&self, hashes: &[u64], limit: usize) -> usize {
        let (mut lo, mut hi) = (0usize, limit.min(hashes.len()));
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if self.lookup(&hashes[mid - 1]).is_some() {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// [`longest_prefix`](Self::longest_prefix), the blocks found put in `found`
    /// (cleared first): returns how many of them no request holds (they would leave
    /// the free queue). One lookup per block, what [`allocate_found`](Self::allocate_found)
    /// takes instead of looking them up again.
    pub fn find_prefix(&self, hashes: &[u64], limit: usize, found: &mut Vec<u32>) -> usize {
        found.clear();
        let mut idle = 0;
        for h in hashes.iter().take(limit) {
            let Some(b) = self.lookup(h) else {
                break;
            };
            idle += usize::from(self.blocks[b as usize].refs == 0);
            found.push(b);
        }
        idle
    }

    /// Admits a request that holds `total` blocks, the first `hit` of `hashes` reused
    /// from the cache (as [`longest_prefix`](Self::longest_prefix) found them) and the
    /// rest allocated; the fresh blocks that `hashes` covers (full blocks the request
    /// computes) are registered. The blocks go to `out` in prompt order. Counts the
    /// lookup: `queried` leading blocks asked for (the hit limit), `hit` found. Returns
    /// false, changing nothing, when the free blocks do not suffice.
    pub fn allocate(
        &mut self,
        hashes: &[u64],
        hit: usize,
        queried: usize,
        total: usize,
        out: &mut Vec<u32>,
    ) -> bool {
        let mut found = Vec::with_capacity(hit);
        let idle = self.find_prefix(hashes, hit, &mut found);
        self.allocate_found(hashes, &found, idle, queried, total, out)
    }

    /// [`allocate`](Self::allocate) with the hit blocks as
    /// [`find_prefix`](Self::find_prefix) found them (`found`, `idle` of them held
    /// by no one), the pool unchanged since.
    pub fn allocate_found(
        &mut self,
        hashes: &[u64],
        found: &[u32],
        idle: usize,
        queried: usize,
        total: usize,
        out: &mut Vec<u32>,
    ) -> bool {
        let hit = found.len();
        if total.saturating_sub(hit) + idle > self.free as usize {
            return false;
        }
        self.counts.queried_blocks += queried as u64;
        self.counts.hit_blocks += hit as u64;
        for &b in found {
            self.hold(b);
            out.push(b);
        }
        for i in hit..total {
            let b = self.take_free();
            if let Some(&h) = hashes.get(i) {
                // A block another request computed meanwhile keeps its first copy.
                self.name(b, h);
            }
            out.push(b);
        }
        true
    }

    /// One more block for a running request (a decode step that fills its last
    /// block); `None` when none is free.
    pub fn allocate_one(&mut self) -> Option<u32> {
        (self.free > 0).then(|| self.take_free())
    }

    /// Takes `n` blocks with no identity (the running requests whose decode step
    /// fills their last block, all at once), from the head of the free queue as
    /// [`allocate`](Self::allocate) does; false, taking none, when fewer are free.
    pub fn take_anonymous(&mut self, n: u32) -> bool {
        if n > self.free {
            return false;
        }
        for _ in 0..n {
            let b = self.take_free();
            self.anonymous.push(b);
        }
        true
    }

    /// Gives back `n` blocks taken by [`take_anonymous`](Self::take_anonymous) (a
    /// request that finished or was preempted held them); they join the free queue's
    /// tail. A finishing request gives back these, its last blocks, before releasing
    /// its prompt's, as vLLM frees a request's blocks last first.
    pub fn give_back_anonymous(&mut self, n: u32) {
        debug_assert!(
            n as usize <= self.anonymous.len(),
            "more given back than taken"
        );
        for _ in 0..n.min(self.anonymous.len() as u32) {
            if let Some(b) = self.anonymous.pop() {
                self.blocks[b as usize].refs = 0;
                self.push_tail(b);
            }
        }
    }

    /// Turns one block taken by [`take_anonymous`](Self::take_anonymous) into a
    /// block its request holds by id (to [`register`](Self::register) it and
    /// [`release`](Self::release) it with its prompt's); `None` when none is held.
    pub fn claim_anonymous(&mut self) -> Option<u32> {
        self.anonymous.pop()
    }

    /// Registers a block a request filled (a full block of its output) under `hash`,
    /// so a later prompt that continues the conversation finds it.
    pub fn register(&mut self, block: u32, hash: u64) {
        if self.blocks[block as usize].hash.is_none() {
            self.name(block, hash);
        }
    }

    /// A request lets go of `blocks` (in prompt order): those no one else holds go to
    /// the free queue's tail, last block first, so the prefix is evicted last.
    pub fn release(&mut self, blocks: &[u32]) {
        for &b in blocks.iter().rev() {
            let block = &mut self.blocks[b as usize];
            debug_assert!(block.refs > 0, "block {b} released more than held");
            block.refs -= 1;
            if block.refs == 0 {
                self.push_tail(b);
            }
        }
    }

    /// Takes a reference on `b`, off the free queue if no one held it.
    fn hold(&mut self, b: u32) {
        if self.blocks[b as usize].refs == 0 {
            self.unlink(b);
        }
        self.blocks[b as usize].refs += 1;
    }

    /// The free queue's head, held once; its hash is forgotten (evicted) if it had one.
    fn take_free(&mut self) -> u32 {
        if self.untouched > 0 {
            self.untouched -= 1;
            self.free -= 1;
            self.blocks.push(Block {
                hash: None,
                refs: 1,
                prev: NIL,
                next: NIL,
            });
            return (self.blocks.len() - 1) as u32;
        }
        let b = self.head;
        debug_assert!(b != NIL, "no free block");
        self.unlink(b);
        let block = &mut self.blocks[b as usize];
        if let Some(h) = block.hash.take() {
            self.cached.remove(&h);
            self.counts.evicted_blocks += 1;
        }
        block.refs = 1;
        b
    }

    fn push_tail(&mut self, b: u32) {
        let tail = self.tail;
        {
            let block = &mut self.blocks[b as usize];
            block.prev = tail;
            block.next = NIL;
        }
        if tail == NIL {
            self.head = b;
        } else {
            self.blocks[tail as usize].next = b;
        }
        self.tail = b;
        self.free += 1;
    }

    fn unlink(&mut self, b: u32) {
        let Block { prev, next, .. } = self.blocks[b as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.blocks[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.blocks[next as usize].prev = prev;
        }
        let block = &mut self.blocks[b as usize];
        block.prev = NIL;
        block.next = NIL;
        self.free -= 1;
    }
}

#[cfg(test)]
mod tests {
    /// Bisection agrees with the walk on a pool that evicted under pressure (its
    /// cached chains stay prefix-closed), and `find_prefix` finds what the walk does.
    #[test]
    fn bisection_and_one_lookup_agree_with_the_walk() {
        let mut pool = BlockPool::new(40);
        let mut held = Vec::new();
        let chains: Vec<Vec<u64>> = (0..30u64)
            .map(|i| chain_hashes((0..(3 + i % 7)).map(|j| if j < 2 { j } else { i * 100 + j })))
            .collect();
        for (n, chain) in chains.iter().enumerate() {
            let limit = chain.len() - 1;
            let mut found = Vec::new();
            let idle = pool.find_prefix(chain, limit, &mut found);
            assert_eq!(
                found.len(),
                pool.longest_prefix(chain, limit),
                "request {n}"
            );
            held.clear();
            assert!(pool.allocate_found(chain, &found, idle, limit, chain.len(), &mut held));
            pool.release(&held);
            for c in &chains {
                assert_eq!(
                    pool.cached_prefix_bisect(c, c.len()),
                    pool.longest_prefix(c, c.len()),
                    "after request {n}"
                );
            }
        }
        assert!(
            pool.counts().evicted_blocks > 0,
            "the pool was under pressure"
        );
    }
    #[test]
    fn segment_chains_agree_exactly_as_far_as_the_text_does() {
        use inferscale_workload::Segment;
        let seg = |content, tokens| Segment { content, tokens };
        let mut a = Vec::new();
        let mut b = Vec::new();
        // 100 tokens of system prompt, then different questions: blocks of 16 agree
        // up to the 6th (tokens 0..96), the 7th straddles both.
        chain_of_segments(&[seg(1, 100), seg(2, 60)], 16, &mut a);
        chain_of_segments(&[seg(1, 100), seg(3, 60)], 16, &mut b);
        assert_eq!((a.len(), b.len()), (10, 10));
        assert_eq!(a[..6], b[..6]);
        assert!(a[6..].iter().zip(&b[6..]).all(|(x, y)| x != y));
        // The same text cut into segments differently is another text (segments name
        // content, not tokens), but a segment split at a block boundary into a
        // longer one's prefix is not: a segment's first k tokens are the same.
        chain_of_segments(&[seg(1, 64)], 16, &mut b);
        assert_eq!(a[..4], b[..]);
        // A partial last block has no hash; nothing at all for a short prompt.
        chain_of_segments(&[seg(1, 15)], 16, &mut b);
        assert!(b.is_empty());
        // Over one segment per block, the chain is `chain_hashes` of the blocks'
        // contents: position matters (a repeated block under another parent differs).
        chain_of_segments(&[seg(5, 16), seg(5, 16)], 16, &mut b);
        assert_ne!(b[0], b[1]);
    }

    use std::collections::VecDeque;

    use super::*;

    /// A request arrives, reuses its cached prefix, computes the rest and finishes:
    /// the pool's view, one request at a time.
    fn serve(pool: &mut BlockPool, ids: &[u64], total: usize) -> usize {
        let hashes = chain_hashes(ids.iter().copied());
        let limit = hashes.len().min(total);
        let hit = pool.longest_prefix(&hashes, limit);
        let mut held = Vec::new();
        assert!(pool.allocate(&hashes, hit, limit, total, &mut held));
        pool.release(&held);
        hit
    }

    /// The same semantics written plainly over a list of free blocks in LRU order
    /// (each `Some(hash)` cached, `None` empty): the reference the pool must equal.
    struct PlainLru {
        free: VecDeque<Option<u64>>,
    }

    impl PlainLru {
        fn serve(&mut self, ids: &[u64], total: usize) -> usize {
            let hashes = chain_hashes(ids.iter().copied());
            let limit = hashes.len().min(total);
            let mut hit = 0;
            while hit < limit && self.free.contains(&Some(hashes[hit])) {
                hit += 1;
            }
            // The hit blocks leave the free list; fresh ones come off its head.
            let mut held: Vec<Option<u64>> = hashes[..hit].iter().map(|&h| Some(h)).collect();
            self.free.retain(|b| !held.contains(b));
            for i in hit..total {
                // The head goes, whatever it cached.
                self.free.pop_front().unwrap();
                held.push(hashes.get(i).copied());
            }
            // Back in reverse order: the last block first.
            for b in held.into_iter().rev() {
                self.free.push_back(b);
            }
            hit
        }
    }

    #[test]
    fn a_repeated_prompt_reuses_its_prefix_and_never_its_last_token() {
        let mut pool = BlockPool::new(16);
        // 3 full blocks and a partial one: 4 blocks held, 3 hashed.
        let ids = [1, 2, 3];
        assert_eq!(serve(&mut pool, &ids, 4), 0);
        assert_eq!(pool.cached_blocks(), 3);
        assert_eq!(
            pool.free_blocks(),
            16,
            "idle cached blocks are free capacity"
        );
        assert_eq!(serve(&mut pool, &ids, 4), 3);
        // A prompt of exactly 3 full blocks (48 tokens at 16 per block) reuses 2.
        assert_eq!(hit_limit(48, 16), 2);
        assert_eq!(hit_limit(49, 16), 3);
        let hashes = chain_hashes(ids);
        assert_eq!(pool.longest_prefix(&hashes, hit_limit(48, 16)), 2);
        // Another prompt sharing only the first block.
        assert_eq!(serve(&mut pool, &[1, 9, 9], 4), 1);
        let c = pool.counts();
        assert_eq!(
            (c.queried_blocks, c.hit_blocks, c.evicted_blocks),
            (9, 4, 0)
        );
    }

    #[test]
    fn chained_hashes_tell_equal_blocks_after_different_prefixes_apart() {
        let a = chain_hashes([7, 8]);
        let b = chain_hashes([6, 8]);
        assert_ne!(a[1], b[1]);
        assert_eq!(chain_hashes([7, 8, 9])[..2], a[..]);
    }

    /// Held blocks are never evicted, an allocation that does not fit changes nothing,
    /// and a block shared by two requests is free only when both let go.
    #[test]
    fn held_blocks_stay_and_shared_ones_free_last() {
        let mut pool = BlockPool::new(4);
        let h = chain_hashes([1, 2]);
        let mut first = Vec::new();
        assert!(pool.allocate(&h, 0, 2, 3, &mut first));
        assert_eq!(pool.free_blocks(), 1);
        let hit = pool.longest_prefix(&h, 2);
        assert_eq!(hit, 2);
        let mut second = Vec::new();
        // Shares the two cached blocks and needs two more: only one is free.
        assert!(!pool.allocate(&h, hit, 2, 4, &mut second));
        assert!(second.is_empty() && pool.free_blocks() == 1);
        assert!(pool.allocate(&h, hit, 2, 3, &mut second));
        assert_eq!(&second[..2], &first[..2]);
        assert_eq!(pool.free_blocks(), 0);
        pool.release(&first);
        // The shared two are still held by the second request.
        assert_eq!(pool.free_blocks(), 1);
        pool.release(&second);
        assert_eq!(pool.free_blocks(), 4);
        assert_eq!(pool.cached_blocks(), 2);
    }

    /// A pool costs what its used blocks cost: a billion blocks is free to make, and
    /// never-used blocks are handed out before any cached one is evicted.
    #[test]
    fn blocks_get_entries_when_first_used() {
        let mut pool = BlockPool::new(1 << 30);
        assert_eq!((pool.capacity(), pool.free_blocks()), (1 << 30, 1 << 30));
        assert_eq!(serve(&mut pool, &[1, 2, 3], 4), 0);
        assert_eq!(serve(&mut pool, &[1, 2, 3], 4), 3);
        assert_eq!(
            pool.blocks.len(),
            5,
            "4 for the first, 1 fresh for the second"
        );
        assert_eq!(pool.free_blocks(), 1 << 30);
        assert_eq!(pool.counts().evicted_blocks, 0);
    }

    /// Anonymous growth blocks come from the free queue like any allocation (evicting
    /// the least recently used cached block once the empty ones are gone) and go back
    /// to its tail; a request that cannot grow takes nothing.
    #[test]
    fn anonymous_blocks_share_the_free_queue() {
        let mut pool = BlockPool::new(4);
        assert_eq!(serve(&mut pool, &[1, 2], 2), 0);
        assert_eq!(pool.cached_blocks(), 2);
        // Two empty blocks first: nothing evicted.
        assert!(pool.take_anonymous(2));
        assert_eq!((pool.free_blocks(), pool.cached_blocks()), (2, 2));
        // The third takes the least recently used cached block: the prompt's last.
        assert!(pool.take_anonymous(1));
        assert_eq!(pool.counts().evicted_blocks, 1);
        let h = chain_hashes([1, 2]);
        assert_eq!(pool.longest_prefix(&h, 2), 1);
        assert!(!pool.take_anonymous(2), "one free block cannot give two");
        assert_eq!(pool.free_blocks(), 1);
        pool.give_back_anonymous(3);
        assert_eq!(pool.free_blocks(), 4);
        assert_eq!(
            pool.longest_prefix(&h, 2),
            1,
            "the first block is still cached"
        );
    }

    /// Over many prompts drawn from a few shared prefixes, served one at a time, the
    /// pool's hits equal those of the plain LRU list, for small and large pools (the
    /// small ones evict constantly).
    #[test]
    fn hits_equal_a_plain_lru_at_every_size() {
        let mut state = 0x1234_5678_u64;
        let mut next = |n: u64| {
            state = mix(state);
            state % n
        };
        let prompts: Vec<(Vec<u64>, usize)> = (0..400)
            .map(|_| {
                // One of 5 system prompts of 3 blocks, then 0-4 blocks of a question
                // drawn from 6 (so questions repeat too), and a partial block or not.
                let system = next(5);
                let mut ids: Vec<u64> = (0..3).map(|k| 100 * system + k).collect();
                for _ in 0..next(5) {
                    ids.push(1000 + next(6));
                }
                let total = ids.len() + next(2) as usize;
                (ids, total.max(1))
            })
            .collect();
        let mut hits = Vec::new();
        for capacity in [8u32, 12, 20, 40, 400, 5000] {
            let mut pool = BlockPool::new(capacity);
            let mut plain = PlainLru {
                free: (0..capacity).map(|_| None).collect(),
            };
            let (mut a, mut b) = (0, 0);
            for (ids, total) in &prompts {
                a += serve(&mut pool, ids, *total);
                b += plain.serve(ids, *total);
            }
            assert_eq!(a, b, "capacity {capacity}");
            hits.push(a);
            assert_eq!(pool.free_blocks(), capacity);
            // Never-used blocks are handed out first: a pool larger than everything
            // served never evicts.
            if capacity == 5000 {
                assert_eq!(pool.counts().evicted_blocks, 0);
            } else if capacity == 8 {
                assert!(pool.counts().evicted_blocks > 100);
            }
        }
        // More memory, more hits (and some even at 8 blocks: the system prompts).
        assert!(hits.windows(2).all(|w| w[0] <= w[1]), "{hits:?}");
        assert!(hits[0] > 0 && hits[5] > 3 * hits[0], "{hits:?}");
    }
}
