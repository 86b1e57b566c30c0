//! The pool against plain references; the chains' identities.
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

#[test]
fn the_memo_gives_exactly_the_chains_computed_afresh() {
    use inferscale_workload::Segment;
    // Prompts opening with a few shared first segments (some shorter than a block,
    // some colliding in the memo's slots) and varied rest, at two block sizes.
    let mut memo = ChainMemo::default();
    let (mut fresh, mut memoised) = (Vec::new(), Vec::new());
    let mut x = 7u64;
    let mut next = |n: u64| {
        x = inferscale_engine::mix64(x);
        x % n
    };
    for i in 0..20_000 {
        let first = Segment {
            content: next(ChainMemo::SLOTS as u64 / 4),
            tokens: [5, 16, 100, 384, 512][next(5) as usize],
        };
        let mut segments = vec![first];
        for _ in 0..next(4) {
            segments.push(Segment {
                content: next(1 << 40),
                tokens: 1 + next(200) as u32,
            });
        }
        let size = if i % 3 == 0 { 32 } else { 16 };
        chain_of_segments(&segments, size, &mut fresh);
        memoised.push(0xdead);
        memo.chain(&segments, size, &mut memoised);
        assert_eq!(fresh, memoised, "prompt {i}: {segments:?}");
    }
    // Most prompts found their first segment remembered (the draws repeat them).
    assert!(memo.reused() > 5_000, "{}", memo.reused());
}

use std::collections::VecDeque;

use super::*;

/// A request arrives, reuses its cached prefix, computes the rest and finishes:
/// the pool's view, one request at a time.
fn serve(pool: &mut BlockPool, ids: &[u64], total: usize) -> usize {
    let hashes = chain_hashes(ids.iter().copied());
    let limit = hashes.len().min(total);
    let hit = pool.longest_prefix(&hashes, limit);
    let mut held = Held::default();
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
    let mut first = Held::default();
    assert!(pool.allocate(&h, 0, 2, 3, &mut first));
    assert_eq!(pool.free_blocks(), 1);
    let hit = pool.longest_prefix(&h, 2);
    assert_eq!(hit, 2);
    let mut second = Held::default();
    // Shares the two cached blocks and needs two more: only one is free.
    assert!(!pool.allocate(&h, hit, 2, 4, &mut second));
    assert!(second.blocks() == 0 && pool.free_blocks() == 1);
    assert!(pool.allocate(&h, hit, 2, 3, &mut second));
    assert_eq!((second.blocks(), pool.cached_blocks()), (3, 2));
    assert_eq!(pool.free_blocks(), 0);
    pool.release(&first);
    // The shared two are still held by the second request.
    assert_eq!(pool.free_blocks(), 1);
    pool.release(&second);
    assert_eq!(pool.free_blocks(), 4);
    assert_eq!(pool.cached_blocks(), 2);
}

/// A pool costs what its runs cost: a billion blocks is free to make, and
/// never-used blocks are handed out before any cached one is evicted.
#[test]
fn blocks_get_entries_when_first_used() {
    let mut pool = BlockPool::new(1 << 30);
    assert_eq!((pool.capacity(), pool.free_blocks()), (1 << 30, 1 << 30));
    assert_eq!(serve(&mut pool, &[1, 2, 3], 4), 0);
    assert_eq!(serve(&mut pool, &[1, 2, 3], 4), 3);
    assert_eq!(
        pool.entries(),
        3,
        "a run of 3 named blocks, a segment of them and one of 2 hashless"
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

/// vLLM's pool written plainly, one entry per physical block: a free queue of
/// block numbers in LRU order, a hash per block, the first copy of a hash the
/// findable one. The reference the run-based pool must equal with many requests in
/// flight at once.
struct PlainPool {
    hash: Vec<Option<u64>>,
    refs: Vec<u32>,
    free: VecDeque<usize>,
    map: std::collections::HashMap<u64, usize>,
    evicted: u64,
}

/// A request of the concurrent test: its prompt's blocks and its growth, in both
/// pools.
struct InFlight {
    chain: Vec<u64>,
    prompt_blocks: usize,
    answer_to: usize,
    growth: usize,
    held: Held,
    plain: Vec<usize>,
    plain_growth: Vec<usize>,
}

impl PlainPool {
    fn new(n: usize) -> Self {
        PlainPool {
            hash: vec![None; n],
            refs: vec![0; n],
            free: (0..n).collect(),
            map: Default::default(),
            evicted: 0,
        }
    }
    fn longest(&self, chain: &[u64], limit: usize) -> usize {
        chain
            .iter()
            .take(limit)
            .take_while(|h| self.map.contains_key(h))
            .count()
    }
    fn take(&mut self) -> usize {
        let b = self.free.pop_front().unwrap();
        if let Some(h) = self.hash[b].take() {
            self.map.remove(&h);
            self.evicted += 1;
        }
        self.refs[b] = 1;
        b
    }
    fn name(&mut self, b: usize, h: u64) -> bool {
        if self.map.contains_key(&h) {
            return false;
        }
        self.map.insert(h, b);
        self.hash[b] = Some(h);
        true
    }
    fn release(&mut self, blocks: &[usize]) {
        for &b in blocks.iter().rev() {
            self.refs[b] -= 1;
            if self.refs[b] == 0 {
                self.free.push_back(b);
            }
        }
    }
}

/// Requests drawn from shared prefixes, some of them conversations whose answers
/// are named, admitted and finished in random order with dozens in flight, under
/// memory pressure: after every step both pools agree on every hit, the free and
/// cached blocks, the evictions and every chain's cached prefix.
#[test]
fn runs_equal_a_plain_per_block_pool_with_requests_in_flight() {
    let mut state = 0x0bad_5eed_u64;
    let mut next = |n: u64| {
        state = mix(state);
        state % n
    };
    for capacity in [24usize, 60, 200, 2000] {
        let mut pool = BlockPool::new(capacity as u32);
        let mut plain = PlainPool::new(capacity);
        let mut flight: Vec<InFlight> = Vec::new();
        let mut seen: Vec<Vec<u64>> = Vec::new();
        let mut found = Found::default();
        let (mut hits, mut answers) = (0, 0);
        for step in 0..3000 {
            let op: String;
            if flight.is_empty() || (flight.len() < 12 && next(2) == 0) {
                // 4 system prompts of 0-3 blocks, a question of 0-4 from 8, an
                // answer of 0-3 blocks (named when the request is a conversation
                // turn); a partial block or not; a few of growth.
                let system = next(4);
                let mut ids: Vec<u64> = (0..next(4)).map(|k| 100 * system + k).collect();
                for _ in 0..next(5) {
                    ids.push(1000 + next(8));
                }
                // A later turn: an earlier answer is part of the prompt.
                if next(3) == 0 {
                    for k in 0..next(3) {
                        ids.push(5000 + 10 * next(3) + k);
                    }
                }
                let len = ids.len();
                let partial = next(2) == 0 || len == 0;
                let answer = next(4) as usize;
                for k in 0..answer {
                    ids.push(5000 + 10 * next(3) + k as u64);
                }
                let chain = chain_hashes(ids);
                let total = len + usize::from(partial);
                let limit = if partial { len } else { len - 1 };
                let growth = answer.saturating_sub(usize::from(partial)) + next(2) as usize;
                let conversation = next(2) == 0;
                let answer_to = if conversation { len + answer } else { len };
                // The run-based pool.
                let idle = pool.find_prefix(&chain, limit, &mut found);
                let mut held = Held::default();
                let fits = found.hit() + pool.free_blocks() as usize >= total + idle + growth;
                // The plain one.
                let plain_hit = plain.longest(&chain, limit);
                assert_eq!(found.hit(), plain_hit, "step {step}");
                let plain_idle = (0..plain_hit)
                    .filter(|&i| plain.refs[plain.map[&chain[i]]] == 0)
                    .count();
                assert_eq!(idle, plain_idle, "step {step}");
                if !fits {
                    continue;
                }
                assert!(pool.allocate_found(&chain[..len], &found, limit, total, &mut held));
                assert!(pool.take_anonymous(growth as u32));
                let mut blocks = Vec::new();
                for h in &chain[..plain_hit] {
                    let b = plain.map[h];
                    if plain.refs[b] == 0 {
                        plain.free.retain(|&f| f != b);
                    }
                    plain.refs[b] += 1;
                    blocks.push(b);
                }
                for i in plain_hit..total {
                    let b = plain.take();
                    if let Some(&h) = chain[..len].get(i) {
                        plain.name(b, h);
                    }
                    blocks.push(b);
                }
                let plain_growth = (0..growth).map(|_| plain.take()).collect();
                hits += plain_hit;
                op = format!(
                    "admit len {len} partial {partial} hit {plain_hit} limit {limit} dup {:?} growth {growth}",
                    found
                );
                seen.push(chain[..len].to_vec());
                flight.push(InFlight {
                    chain,
                    prompt_blocks: len,
                    answer_to,
                    growth,
                    held,
                    plain: blocks,
                    plain_growth,
                });
            } else {
                let mut r = flight.swap_remove(next(flight.len() as u64) as usize);
                // Name the answer, a conversation's turn: in the plain pool block by
                // block, stopping at a hashless parent or a hash cached already.
                let before = r.held.blocks();
                op = format!(
                    "finish prompt {} answer_to {} chain {} held {:?}",
                    r.prompt_blocks,
                    r.answer_to,
                    r.chain.len(),
                    r.held
                );
                pool.name_filled(&mut r.held, &r.chain, r.prompt_blocks, r.answer_to);
                let mut named_growth = 0;
                for k in r.prompt_blocks..r.answer_to.min(r.chain.len()) {
                    let parent_named = k == 0 || plain.hash[r.plain[k - 1]].is_some();
                    if !parent_named || plain.map.contains_key(&r.chain[k]) {
                        break;
                    }
                    if k >= r.plain.len() {
                        let b = r.plain_growth.pop().unwrap();
                        r.plain.push(b);
                        named_growth += 1;
                    }
                    plain.name(r.plain[k], r.chain[k]);
                }
                assert_eq!(r.held.blocks() - before, named_growth, "step {step}");
                answers += named_growth;
                seen.push(r.chain[..r.answer_to.min(r.chain.len())].to_vec());
                pool.give_back_anonymous((r.growth - named_growth) as u32);
                pool.release(&r.held);
                for b in r.plain_growth.drain(..) {
                    plain.refs[b] = 0;
                    plain.free.push_back(b);
                }
                plain.release(&r.plain);
            }
            assert_eq!(pool.free_blocks() as usize, plain.free.len(), "step {step}");
            assert_eq!(
                pool.cached_blocks(),
                plain.map.len(),
                "capacity {capacity} step {step} {op}"
            );
            assert_eq!(pool.counts().evicted_blocks, plain.evicted, "step {step}");
            if step % 7 == 0 {
                for c in &seen {
                    assert_eq!(
                        pool.longest_prefix(c, c.len()),
                        plain.longest(c, c.len()),
                        "step {step}"
                    );
                }
                seen.dedup();
                seen.truncate(200);
            }
        }
        assert!(hits > 500, "capacity {capacity}: {hits} hits");
        assert!(
            answers > 100,
            "capacity {capacity}: {answers} answer blocks named"
        );
        if capacity < 100 {
            assert!(plain.evicted > 1000, "capacity {capacity}: under pressure");
        }
    }
}
