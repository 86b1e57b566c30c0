//! The prefix cache's block pool against the Mooncake conversation trace, served one
//! request at a time at the trace's own granularity (one block per 512-token
//! `hash_ids` entry): with room for everything, its hit rate is the share of blocks
//! that repeat an earlier one; with B blocks, it is that of a least-recently-used list
//! over the trace's block sequence, computed here in a few lines.

use std::collections::{HashSet, VecDeque};

use inferscale::cluster::prefix_cache::{BlockPool, Held, chain_hashes, hit_limit};
use inferscale::workload::{TraceFormat, TraceReader};

use crate::support::traces_dir;

/// Mooncake's block: 512 tokens.
const BLOCK: u32 = 512;

/// Each request's prompt tokens and `hash_ids`.
fn conversation() -> Vec<(u32, Vec<u64>)> {
    let path = traces_dir().join("mooncake/conversation_trace.jsonl");
    TraceReader::open(&path, TraceFormat::Mooncake)
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.input_tokens, r.prefix_blocks)
        })
        .collect()
}

/// The pool's hit share, requests served one after another.
fn pool_hits(trace: &[(u32, Vec<u64>)], capacity: u32) -> (u64, u64) {
    let mut pool = BlockPool::new(capacity);
    let mut held = Held::default();
    for (tokens, ids) in trace {
        let hashes = chain_hashes(ids.iter().copied());
        let total = u64::from(*tokens).div_ceil(u64::from(BLOCK)).max(1) as usize;
        let limit = hit_limit(u64::from(*tokens), BLOCK).min(hashes.len());
        let hit = pool.longest_prefix(&hashes, limit);
        held.clear();
        assert!(pool.allocate(&hashes, hit, limit, total, &mut held));
        pool.release(&held);
    }
    let c = pool.counts();
    (c.hit_blocks, c.queried_blocks)
}

#[test]
fn an_unbounded_pool_hits_every_repeated_block() {
    let trace = conversation();
    assert!(trace.len() > 10_000, "{} requests", trace.len());
    // The trace's own count: ids seen before, over all ids.
    let mut seen = HashSet::new();
    let (mut repeated, mut all) = (0u64, 0u64);
    for (_, ids) in &trace {
        for id in ids {
            all += 1;
            if !seen.insert(*id) {
                repeated += 1;
            }
        }
    }
    let share = repeated as f64 / all as f64;
    assert!((share - 0.366).abs() < 0.0005, "{share}");
    // The pool counts a block as a hit when its whole prefix is cached, and never a
    // prompt's last token (its block is computed): over the blocks it looks up, the
    // same repeats, less the prompts that are wholly a repeat.
    let (hits, queried) = pool_hits(&trace, 10_000_000);
    let mut seen = HashSet::new();
    let (mut want_hits, mut want_queried) = (0u64, 0u64);
    for (tokens, ids) in &trace {
        let limit = ((u64::from(*tokens) - 1) / u64::from(BLOCK)) as usize;
        let limit = limit.min(ids.len());
        want_queried += limit as u64;
        want_hits += ids[..limit]
            .iter()
            .take_while(|id| seen.contains(*id))
            .count() as u64;
        seen.extend(ids.iter().copied());
    }
    assert_eq!((hits, queried), (want_hits, want_queried));
    let rate = hits as f64 / queried as f64;
    assert!(rate > 0.3 && rate < 0.4, "{rate}");
}

#[test]
fn a_bounded_pool_is_a_least_recently_used_list() {
    let whole = conversation();
    for capacity in [64u32, 256, 1024, 4096] {
        // A prompt longer than the pool cannot be served at all (vLLM refuses it).
        let trace: Vec<(u32, Vec<u64>)> = whole
            .iter()
            .filter(|(tokens, _)| {
                u64::from(*tokens).div_ceil(u64::from(BLOCK)) <= u64::from(capacity)
            })
            .cloned()
            .collect();
        // Free blocks in LRU order: a cached id, or an empty block (the part of a
        // prompt the trace gives no id for). A request takes its cached prefix off
        // the list, fresh blocks from its head, and puts all back last block first.
        let mut free: VecDeque<Option<u64>> = (0..capacity).map(|_| None).collect();
        let mut hits = 0u64;
        for (tokens, ids) in &trace {
            let total = u64::from(*tokens).div_ceil(u64::from(BLOCK)).max(1) as usize;
            let limit = (((u64::from(*tokens) - 1) / u64::from(BLOCK)) as usize).min(ids.len());
            let hit = ids[..limit]
                .iter()
                .take_while(|id| free.contains(&Some(**id)))
                .count();
            hits += hit as u64;
            free.retain(|b| !b.is_some_and(|id| ids[..hit].contains(&id)));
            let mut held: Vec<Option<u64>> = ids[..hit].iter().map(|&id| Some(id)).collect();
            for i in hit..total {
                free.pop_front();
                held.push(ids.get(i).copied());
            }
            free.extend(held.into_iter().rev());
        }
        let (pool, _) = pool_hits(&trace, capacity);
        assert_eq!(pool, hits, "capacity {capacity}");
        assert!(hits > 0, "capacity {capacity}");
    }
}
