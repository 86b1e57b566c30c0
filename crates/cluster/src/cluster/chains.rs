//! The KV block chains of requests on their way to a replica: computed once, when a
//! stream's request is drawn, from the segments its stream gives
//! ([`Arrivals::segments`](inferscale_workload::Arrivals::segments)) at the block size
//! of its model's prefix cache; read by cache-aware routers; handed to the replica
//! that queues the request, which takes its buffer (leaving another); and freed
//! then (or when the request is refused or dropped before reaching one). The store
//! holds only requests drawn but not yet queued at a replica — the next arrival of
//! each stream and the routers' backlogs — so its size follows the backlog, never the
//! run; freed chains keep their buffers for the next.

use inferscale_workload::{Request, Segment};

use crate::prefix_cache::ChainMemo;

/// Chains by handle (`Request::chain`, 1-based; 0 is none).
#[derive(Default)]
pub(super) struct ChainStore {
    chains: Vec<Vec<u64>>,
    free: Vec<u32>,
    /// The hashes of prompts' first segments, reused by prompts that share one.
    memo: ChainMemo,
}

impl ChainStore {
    /// Stores the chain of a prompt made of `segments` at `block_size`, returning its
    /// handle; 0 (none) when the prompt has no full block.
    pub(super) fn insert(&mut self, segments: &[Segment], block_size: u32) -> u32 {
        let index = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                self.chains.push(Vec::new());
                self.chains.len() - 1
            }
        };
        self.memo
            .chain(segments, block_size, &mut self.chains[index]);
        if self.chains[index].is_empty() {
            self.free.push(index as u32);
            return 0;
        }
        index as u32 + 1
    }

    /// The chain of `request` (empty when it has none).
    #[inline]
    pub(super) fn of(&self, request: &Request) -> &[u64] {
        match request.chain {
            0 => &[],
            h => &self.chains[h as usize - 1],
        }
    }

    /// The chain of `request` to hand over (`request` has one): a replica that keeps
    /// its buffer leaves another in its place, which the store reuses once the
    /// handle is [`release`](Self::release)d.
    #[inline]
    pub(super) fn of_mut(&mut self, request: &Request) -> &mut Vec<u64> {
        debug_assert!(request.chain != 0, "a request with a chain");
        &mut self.chains[request.chain as usize - 1]
    }

    /// Frees the chain of `request`, if it has one.
    #[inline]
    pub(super) fn release(&mut self, request: &Request) {
        if request.chain != 0 {
            self.free.push(request.chain - 1);
        }
    }

    /// Chains held (drawn requests not yet at a replica).
    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.chains.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferscale_engine::SimTime;

    #[test]
    fn chains_are_stored_read_and_freed_for_reuse() {
        let mut store = ChainStore::default();
        let seg = |content, tokens| Segment { content, tokens };
        let mut a = Request::new(1, SimTime::ZERO, 100, 1);
        a.chain = store.insert(&[seg(1, 100)], 16);
        let mut b = Request::new(2, SimTime::ZERO, 40, 1);
        b.chain = store.insert(&[seg(1, 40)], 16);
        assert_eq!((store.of(&a).len(), store.of(&b).len()), (6, 2));
        assert_eq!(store.of(&a)[..2], store.of(&b)[..]);
        // A prompt with no full block gets no chain and holds nothing.
        assert_eq!(store.insert(&[seg(1, 15)], 16), 0);
        assert_eq!(store.held(), 2);
        store.release(&a);
        store.release(&Request::new(3, SimTime::ZERO, 1, 1));
        assert_eq!(store.held(), 1);
        // The freed slot is reused.
        let mut c = Request::new(4, SimTime::ZERO, 32, 1);
        c.chain = store.insert(&[seg(9, 32)], 16);
        assert_eq!(c.chain, a.chain);
        assert_eq!(store.of(&c).len(), 2);
        assert_eq!(store.held(), 2);
    }
}
