//! The pool's index from a run's first hash to the run: an open-addressing table
//! whose slots hold the key and the value side by side, so that a probe — a hit or,
//! as often, a miss where a prompt leaves the cache — costs one cache line, where a
//! general map reads a control group and then a bucket. The keys are chained block
//! hashes, already well mixed, so they index the table directly; linear probing, at
//! most half full, with backward-shift deletion (no tombstones, so probes stay short
//! however many runs come and go). Nothing iterates it, so no order depends on it.

/// An empty slot's value.
const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Slot {
    key: u64,
    value: u32,
}

const VACANT: Slot = Slot {
    key: 0,
    value: EMPTY,
};

/// First hashes of runs → runs.
#[derive(Clone, Debug, Default)]
pub(super) struct RunStarts {
    slots: Vec<Slot>,
    len: usize,
}

impl RunStarts {
    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Where `key` is, or the empty slot where its probe ends.
    #[inline]
    fn position(&self, key: u64) -> (usize, bool) {
        let mask = self.mask();
        let mut i = key as usize & mask;
        loop {
            let slot = self.slots[i];
            if slot.value == EMPTY {
                return (i, false);
            }
            if slot.key == key {
                return (i, true);
            }
            i = (i + 1) & mask;
        }
    }

    /// The run starting with `key`.
    #[inline]
    pub(super) fn get(&self, key: u64) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        match self.position(key) {
            (i, true) => Some(self.slots[i].value),
            _ => None,
        }
    }

    /// Whether a run starts with `key`.
    #[inline]
    pub(super) fn contains(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    /// Records (or replaces) the run starting with `key`.
    pub(super) fn insert(&mut self, key: u64, value: u32) {
        debug_assert_ne!(value, EMPTY, "the empty marker is not a run");
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let (i, found) = self.position(key);
        self.slots[i] = Slot { key, value };
        if !found {
            self.len += 1;
        }
    }

    /// Forgets the run starting with `key`, if any: the slots after it in its probe
    /// sequence shift back so that every key stays reachable from its home slot.
    pub(super) fn remove(&mut self, key: u64) {
        if self.len == 0 {
            return;
        }
        let (mut hole, found) = self.position(key);
        if !found {
            return;
        }
        self.len -= 1;
        let mask = self.mask();
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let slot = self.slots[i];
            if slot.value == EMPTY {
                break;
            }
            let home = slot.key as usize & mask;
            // The slot may move into the hole when its home is not cyclically in
            // (hole, i].
            if (i.wrapping_sub(home) & mask) >= (i.wrapping_sub(hole) & mask) {
                self.slots[hole] = slot;
                hole = i;
            }
        }
        self.slots[hole] = VACANT;
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![VACANT; size]);
        self.len = 0;
        for slot in old.into_iter().filter(|s| s.value != EMPTY) {
            let (i, _) = self.position(slot.key);
            self.slots[i] = slot;
            self.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn agrees_with_a_hash_map_through_inserts_and_removes() {
        let mut table = RunStarts::default();
        let mut reference = HashMap::new();
        let mut x = 1u64;
        for step in 0..200_000u32 {
            x = inferscale_engine::mix64(x);
            // Keys from a small range whose home slots crowd together (multiples
            // of 64), exercising long probe sequences and backward shifts.
            let key = (x % 3_000) * 64;
            match x >> 62 {
                0 | 1 => {
                    table.insert(key, step);
                    reference.insert(key, step);
                }
                _ => {
                    table.remove(key);
                    reference.remove(&key);
                }
            }
            let probe = (inferscale_engine::mix64(x) % 3_000) * 64;
            assert_eq!(
                table.get(probe),
                reference.get(&probe).copied(),
                "step {step}"
            );
            assert_eq!(table.len, reference.len());
        }
        for (&k, &v) in &reference {
            assert_eq!(table.get(k), Some(v));
        }
    }
}
