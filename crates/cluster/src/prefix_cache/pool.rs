//! The pool of a replica's KV blocks, kept as *runs* of named blocks rather than
//! one entry per block, so that a request's cost in random memory accesses follows
//! the few runs its prompt spans, not its blocks.
//!
//! Physical block numbers mean nothing to the semantics (which hashes are cached,
//! which are held, in what order idle ones are evicted); so the pool does not keep
//! them. It keeps:
//!
//! - **runs**: consecutive named blocks of one chain that a request computed (or a
//!   conversation's answer named), each with its blocks' hashes in one contiguous
//!   array. A request holds a *prefix* of every run it uses — a lookup enters a run
//!   at its first block and walks on — so holder counts never increase along a run,
//!   its idle blocks are a suffix, and eviction (which takes a run's last idle block
//!   first, as vLLM frees a request's blocks last first) only ever shortens a run
//!   from its end. A block's holder count is the number of holds longer than its
//!   position, so a run keeps its holds' lengths ([`Holds`]), not a count per block:
//!   holding or releasing a shared prompt's run writes one counter;
//! - the **free queue** as segments: a range of one run's idle blocks, in the order
//!   the queue holds them (its highest block first), or a count of hashless blocks
//!   (decode growth, a prompt's partial last block, a recomputed duplicate), which are
//!   all alike; never-used blocks are a count before the queue's head;
//! - a map from each run's first hash to the run: a lookup costs one map probe per
//!   run it enters and a sequential comparison per block.
//!
//! This is the same cache as one entry per block (tested against that, plainly
//! written, in `tests.rs`), as the prefix-closure of vLLM's cache makes it: a cached
//! block's parent is cached, so following a chain through the runs finds exactly the
//! blocks a per-block lookup would.

use super::CacheCounts;
use super::starts::RunStarts;

/// No segment, no run (a list's end).
const NIL: u32 = u32::MAX;

/// Consecutive named blocks of one chain, all cached (an evicted block leaves the
/// run, which only happens at its end).
#[derive(Clone, Debug, Default)]
struct Run {
    /// The blocks' chained hashes, in chain order.
    hashes: Vec<u64>,
    /// How far requests hold it: holding and releasing read and write this, never
    /// the blocks.
    holds: Holds,
    /// This run's segments in the free queue: the one holding its lowest idle
    /// blocks (nearest the queue's tail) and its highest (nearest the head).
    lowest: u32,
    highest: u32,
}

/// The prefixes of a run that requests hold. A block's holder count is the number of
/// holds longer than its position, so counts never increase along the run and the
/// blocks past the longest hold are its idle ones: the longest hold is all that
/// admission, release and eviction ask. Kept as that and how many share it, plus the
/// shorter holds by length (a run held to different depths, which is rare), so a
/// request holding a shared prompt's run writes one counter, not one per block.
#[derive(Clone, Debug, Default)]
struct Holds {
    /// The longest hold, in blocks (0: none), and how many requests hold that much.
    longest: u32,
    at_longest: u32,
    /// Shorter holds: (length, holders), by length ascending.
    shorter: Vec<(u32, u32)>,
}

impl Holds {
    /// One hold of `len` blocks and no other (a new run; keeps the buffer).
    fn only(&mut self, len: u32) {
        self.shorter.clear();
        (self.longest, self.at_longest) = (len, 1);
    }

    /// Adds a hold of `len` (≥ 1) blocks; returns the longest hold before.
    fn add(&mut self, len: u32) -> u32 {
        let before = self.longest;
        match len.cmp(&self.longest) {
            std::cmp::Ordering::Greater => {
                if self.at_longest > 0 {
                    // Every shorter hold is shorter than this one: still ascending.
                    self.shorter.push((self.longest, self.at_longest));
                }
                (self.longest, self.at_longest) = (len, 1);
            }
            std::cmp::Ordering::Equal => self.at_longest += 1,
            std::cmp::Ordering::Less => {
                match self.shorter.binary_search_by_key(&len, |&(l, _)| l) {
                    Ok(i) => self.shorter[i].1 += 1,
                    Err(i) => self.shorter.insert(i, (len, 1)),
                }
            }
        }
        before
    }

    /// Removes a hold of `len` blocks (one that was added); returns the longest
    /// hold after.
    fn remove(&mut self, len: u32) -> u32 {
        if len == self.longest {
            debug_assert!(self.at_longest > 0, "a hold released more than held");
            self.at_longest -= 1;
            if self.at_longest == 0 {
                (self.longest, self.at_longest) = self.shorter.pop().unwrap_or((0, 0));
            }
        } else if let Ok(i) = self.shorter.binary_search_by_key(&len, |&(l, _)| l) {
            self.shorter[i].1 -= 1;
            if self.shorter[i].1 == 0 {
                self.shorter.remove(i);
            }
        } else {
            debug_assert!(false, "a hold of {len} released but not held");
        }
        self.longest
    }

    /// A hold of `from` blocks becomes one of `to` (≥ `from`): its holder named
    /// the blocks after, which no one else holds.
    fn grow(&mut self, from: u32, to: u32) {
        self.remove(from);
        self.add(to);
    }
}

/// A stretch of the free queue.
#[derive(Clone, Copy, Debug)]
struct Segment {
    /// The run whose blocks `lo..hi` these are, queued highest first; `NIL` for
    /// `hi − lo` hashless blocks.
    run: u32,
    lo: u32,
    hi: u32,
    /// Queue neighbours (towards the head, towards the tail).
    prev: u32,
    next: u32,
    /// The same run's neighbouring segments (lower blocks, higher blocks).
    lower: u32,
    higher: u32,
}

impl Segment {
    fn len(&self) -> u32 {
        self.hi - self.lo
    }
}

/// A run of blocks held, or of hashless ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    /// Blocks `0..len` of this run; `NIL`: `len` hashless blocks.
    run: u32,
    len: u32,
}

/// The blocks a request holds, in prompt order (its decode growth aside, which is
/// hashless and counted by the replica).
#[derive(Clone, Debug, Default)]
pub struct Held {
    pieces: Vec<Piece>,
    blocks: usize,
}

impl Held {
    /// Blocks held.
    pub fn blocks(&self) -> usize {
        self.blocks
    }

    /// Holds nothing (after a release).
    pub fn clear(&mut self) {
        self.pieces.clear();
        self.blocks = 0;
    }

    fn push(&mut self, piece: Piece) {
        self.blocks += piece.len as usize;
        match self.pieces.last_mut() {
            Some(last) if last.run == NIL && piece.run == NIL => last.len += piece.len,
            _ => self.pieces.push(piece),
        }
    }
}

/// What a lookup of a prompt's chain found: the cached leading blocks, as runs.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pieces: Vec<Piece>,
    hit: usize,
    idle: usize,
    /// The block after the hit limit is cached too: the request recomputes a copy of
    /// it (its prompt's last token must be computed), which stays hashless unless
    /// the request's own allocation evicts the cached one.
    duplicate_next: bool,
}

impl Found {
    /// Leading blocks found cached.
    pub fn hit(&self) -> usize {
        self.hit
    }

    /// Of those, blocks no request holds (they would leave the free queue).
    pub fn idle(&self) -> usize {
        self.idle
    }
}

/// A replica's KV blocks: the held ones, and the free queue of the rest, some of them
/// still cached.
#[derive(Clone, Debug)]
pub struct BlockPool {
    capacity: u32,
    /// Never-used blocks: conceptually the head of the free queue (vLLM's queue
    /// starts with every block in order, and freed ones join its tail, so the
    /// never-used ones always come first).
    untouched: u32,
    /// Free blocks, never-used ones included.
    free: u32,
    /// Named blocks (held or idle).
    named: usize,
    runs: Vec<Run>,
    spare_runs: Vec<u32>,
    segments: Vec<Segment>,
    spare_segments: Vec<u32>,
    /// The free queue past the never-used blocks: head is evicted first.
    head: u32,
    tail: u32,
    /// Each run's first hash.
    starts: RunStarts,
    counts: CacheCounts,
}

impl BlockPool {
    /// A pool of `blocks` empty blocks, all free. Costs nothing per block: memory
    /// follows the runs cached and the free queue's segments.
    pub fn new(blocks: u32) -> Self {
        BlockPool {
            capacity: blocks,
            untouched: blocks,
            free: blocks,
            named: 0,
            runs: Vec::new(),
            spare_runs: Vec::new(),
            segments: Vec::new(),
            spare_segments: Vec::new(),
            head: NIL,
            tail: NIL,
            starts: RunStarts::default(),
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
        self.capacity - self.free
    }

    /// Blocks registered under a hash (held or idle).
    pub fn cached_blocks(&self) -> usize {
        self.named
    }

    /// Lookups, hits and evictions so far.
    pub fn counts(&self) -> CacheCounts {
        self.counts
    }

    /// Runs and queue segments alive: what the pool's memory follows.
    pub fn entries(&self) -> usize {
        (self.runs.len() - self.spare_runs.len())
            + (self.segments.len() - self.spare_segments.len())
    }

    /// The step of a lookup from `at` (the run and block the previous hash was found
    /// in) to `hash`: the same run's next block, or a run that starts with it.
    #[inline]
    fn step(&self, at: Option<(u32, u32)>, hash: u64) -> Option<(u32, u32)> {
        if let Some((run, i)) = at {
            let next = (i + 1) as usize;
            if self.runs[run as usize].hashes.get(next) == Some(&hash) {
                return Some((run, i + 1));
            }
        }
        self.starts.get(hash).map(|run| (run, 0))
    }

    /// The cached prefix of `hashes` (at most `limit` blocks) as the runs it goes
    /// through: `piece(run, len)` for each, in order; returns where the last ends
    /// (its run and block). One map probe per run entered; within a run, how far
    /// the chain agrees is found by bisection (chained hashes agree up to some block
    /// and differ after it).
    #[inline]
    fn walk(
        &self,
        hashes: &[u64],
        limit: usize,
        mut piece: impl FnMut(u32, u32),
    ) -> (usize, Option<(u32, u32)>) {
        let limit = limit.min(hashes.len());
        let (mut pos, mut last) = (0, None);
        while pos < limit {
            let Some(run) = self.starts.get(hashes[pos]) else {
                break;
            };
            let names = &self.runs[run as usize].hashes;
            let rest = &hashes[pos..limit];
            let (mut lo, mut hi) = (1, names.len().min(rest.len()));
            // Most walks take a run whole (a shared prompt's run, a conversation's
            // history): one comparison at its end, instead of a bisection's chain of
            // dependent loads.
            if names[hi - 1] == rest[hi - 1] {
                lo = hi;
            }
            while lo < hi {
                let mid = (lo + hi).div_ceil(2);
                if names[mid - 1] == rest[mid - 1] {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            piece(run, lo as u32);
            last = Some((run, lo as u32 - 1));
            pos += lo;
        }
        (pos, last)
    }

    /// How many of the leading `hashes` (at most `limit`) are cached: what a router
    /// asks of each replica, in a map probe per run of the chain.
    pub fn longest_prefix(&self, hashes: &[u64], limit: usize) -> usize {
        self.walk(hashes, limit, |_, _| {}).0
    }

    /// [`longest_prefix`](Self::longest_prefix), kept in `found` for
    /// [`allocate_found`](Self::allocate_found) with what admitting it would take:
    /// returns how many of the blocks found no request holds.
    pub fn find_prefix(&self, hashes: &[u64], limit: usize, found: &mut Found) -> usize {
        found.pieces.clear();
        let (hit, last) = self.walk(hashes, limit, |run, len| {
            found.pieces.push(Piece { run, len });
        });
        found.hit = hit;
        found.idle = found
            .pieces
            .iter()
            .map(|p| self.idle_in(p.run, p.len))
            .sum();
        found.duplicate_next = hit == limit
            && hashes
                .get(limit)
                .is_some_and(|&h| self.step(last, h).is_some());
        found.idle
    }

    /// Blocks of `run`'s first `len` that no request holds (a suffix of them).
    fn idle_in(&self, run: u32, len: u32) -> usize {
        (len - len.min(self.runs[run as usize].holds.longest)) as usize
    }

    /// Admits a request that holds `total` blocks, the first `hit` of `hashes`
    /// reused from the cache and the rest allocated; the fresh blocks that `hashes`
    /// covers are named. A test's shorthand for [`find_prefix`](Self::find_prefix)
    /// then [`allocate_found`](Self::allocate_found) (`hit` must be what the lookup
    /// finds within it).
    pub fn allocate(
        &mut self,
        hashes: &[u64],
        hit: usize,
        queried: usize,
        total: usize,
        out: &mut Held,
    ) -> bool {
        let mut found = Found::default();
        self.find_prefix(hashes, hit, &mut found);
        debug_assert_eq!(found.hit, hit, "the hit is what the lookup finds");
        self.allocate_found(hashes, &found, queried, total, out)
    }

    /// Admits a request that holds `total` blocks: the cached leading blocks `found`
    /// (the pool unchanged since), then fresh ones from the free queue's head; the
    /// fresh blocks that `hashes` covers (full blocks the request computes) are named,
    /// but a recomputed copy of a cached block stays hashless. `held` gets the
    /// blocks in prompt order. Counts the lookup: `queried` leading blocks asked for
    /// (the hit limit), `found.hit()` found. Returns false, changing nothing, when
    /// the free blocks do not suffice.
    pub fn allocate_found(
        &mut self,
        hashes: &[u64],
        found: &Found,
        queried: usize,
        total: usize,
        held: &mut Held,
    ) -> bool {
        let hit = found.hit;
        let fresh = total.saturating_sub(hit);
        if fresh + found.idle > self.free as usize {
            return false;
        }
        self.counts.queried_blocks += queried as u64;
        self.counts.hit_blocks += hit as u64;
        held.clear();
        for &piece in &found.pieces {
            self.hold(piece);
            held.push(piece);
        }
        // Fresh blocks come off the head: a run this request holds is never there.
        self.take_free(fresh as u32);
        // The block after the hit, cached at the lookup, may have been evicted for
        // this very request: then it is named (vLLM caches a full block once
        // computed, when no other holds its hash).
        let last = held.pieces.last().map(|p| (p.run, p.len - 1));
        let copy = found.duplicate_next
            && hashes
                .get(hit)
                .is_some_and(|&h| self.step(last, h).is_some());
        let named = if copy {
            0
        } else {
            hashes.len().min(total).saturating_sub(hit)
        };
        if named > 0 {
            let new = &hashes[hit..hit + named];
            let extends =
                last.is_some_and(|(run, i)| self.runs[run as usize].hashes.len() == i as usize + 1);
            match held.pieces.last_mut() {
                Some(last) if extends => {
                    let run = &mut self.runs[last.run as usize];
                    run.hashes.extend_from_slice(new);
                    run.holds.grow(last.len, last.len + named as u32);
                    last.len += named as u32;
                    held.blocks += named;
                }
                _ => {
                    let run = self.new_run(new);
                    held.push(Piece {
                        run,
                        len: named as u32,
                    });
                }
            }
            self.named += named;
        }
        if fresh > named {
            held.push(Piece {
                run: NIL,
                len: (fresh - named) as u32,
            });
        }
        true
    }

    /// Names the blocks a request filled while decoding — chain positions
    /// `from..to` of `chain`, the prompt's last (partial, now full) block and full
    /// growth blocks — so a later prompt that continues the conversation finds them.
    /// They continue the run the request's last named block ends, or start one
    /// after it; none is named after a hashless block, nor where the chain is cached
    /// already (a copy). The growth blocks named become `held`'s, so the request's
    /// hashless growth shrinks by as many.
    pub fn name_filled(&mut self, held: &mut Held, chain: &[u64], from: usize, to: usize) {
        let to = to.min(chain.len());
        let trailing = match held.pieces.last() {
            Some(p) if p.run == NIL => p.len as usize,
            _ => 0,
        };
        let named_end = held.blocks - trailing;
        // Positions already named are skipped; a hashless block before `from`
        // (a recomputed copy) ends the naming.
        let start = from.max(named_end);
        if start >= to || start > named_end {
            return;
        }
        let parent = held
            .pieces
            .len()
            .saturating_sub(1 + usize::from(trailing > 0));
        let hashes = &chain[start..to];
        let mut extend = false;
        if start > 0 {
            let p = held.pieces[parent];
            debug_assert!(p.run != NIL, "only the last piece is hashless");
            match self.runs[p.run as usize].hashes.get(p.len as usize) {
                Some(&next) if next == hashes[0] => return,
                Some(_) => {}
                None => extend = true,
            }
        }
        if self.starts.contains(hashes[0]) {
            return;
        }
        let n = hashes.len();
        // The trailing hashless blocks that are now named; any left is the last.
        let converted = trailing.min(n);
        if trailing > 0 {
            held.pieces.pop();
            held.blocks -= trailing;
        }
        if extend {
            let piece = &mut held.pieces[parent];
            let run = &mut self.runs[piece.run as usize];
            run.hashes.extend_from_slice(hashes);
            run.holds.grow(piece.len, piece.len + n as u32);
            piece.len += n as u32;
            held.blocks += n;
        } else {
            let run = self.new_run(hashes);
            held.push(Piece { run, len: n as u32 });
        }
        if trailing > converted {
            held.push(Piece {
                run: NIL,
                len: (trailing - converted) as u32,
            });
        }
        self.named += n;
    }

    /// Takes `n` hashless blocks (the running requests whose decode step fills
    /// their last block, all at once) from the head of the free queue, as an
    /// allocation does; false, taking none, when fewer are free.
    pub fn take_anonymous(&mut self, n: u32) -> bool {
        if n > self.free {
            return false;
        }
        self.take_free(n);
        true
    }

    /// Gives back `n` hashless blocks (a finished or preempted request's growth):
    /// they join the free queue's tail. A finishing request gives back these, its
    /// last blocks, before releasing its prompt's, as vLLM frees a request's blocks
    /// last first.
    pub fn give_back_anonymous(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        self.free += n;
        if self.tail != NIL && self.segments[self.tail as usize].run == NIL {
            self.segments[self.tail as usize].hi += n;
        } else {
            let s = self.new_segment(NIL, 0, n);
            self.link_tail(s);
        }
    }

    /// A request lets go of `held`: the blocks no one else holds go to the free
    /// queue's tail, last block first, so the prefix is evicted last.
    pub fn release(&mut self, held: &Held) {
        for &piece in held.pieces.iter().rev() {
            if piece.run == NIL {
                self.give_back_anonymous(piece.len);
                continue;
            }
            // Still held after this release: the blocks within the longest hold.
            let lo = self.runs[piece.run as usize]
                .holds
                .remove(piece.len)
                .min(piece.len);
            if lo < piece.len {
                self.queue_idle(piece.run, lo, piece.len);
            }
        }
    }

    /// Takes a reference on `piece`'s blocks, taking its idle ones off the queue.
    fn hold(&mut self, piece: Piece) {
        // Held before: the blocks within the longest hold.
        let lo = self.runs[piece.run as usize]
            .holds
            .add(piece.len)
            .min(piece.len);
        if lo < piece.len {
            self.unqueue_lowest(piece.run, lo, piece.len);
        }
    }

    /// A new run of `hashes`, held whole by one request, findable by its first.
    fn new_run(&mut self, hashes: &[u64]) -> u32 {
        let id = match self.spare_runs.pop() {
            Some(id) => id,
            None => {
                self.runs.push(Run::default());
                (self.runs.len() - 1) as u32
            }
        };
        let run = &mut self.runs[id as usize];
        run.hashes.clear();
        run.hashes.extend_from_slice(hashes);
        run.holds.only(hashes.len() as u32);
        run.lowest = NIL;
        run.highest = NIL;
        self.starts.insert(hashes[0], id);
        id
    }

    fn new_segment(&mut self, run: u32, lo: u32, hi: u32) -> u32 {
        let seg = Segment {
            run,
            lo,
            hi,
            prev: NIL,
            next: NIL,
            lower: NIL,
            higher: NIL,
        };
        match self.spare_segments.pop() {
            Some(id) => {
                self.segments[id as usize] = seg;
                id
            }
            None => {
                self.segments.push(seg);
                (self.segments.len() - 1) as u32
            }
        }
    }

    fn link_tail(&mut self, s: u32) {
        self.segments[s as usize].prev = self.tail;
        if self.tail == NIL {
            self.head = s;
        } else {
            self.segments[self.tail as usize].next = s;
        }
        self.tail = s;
    }

    /// Takes segment `s` out of the queue and its run's list, and recycles it.
    fn drop_segment(&mut self, s: u32) {
        let Segment {
            run,
            prev,
            next,
            lower,
            higher,
            ..
        } = self.segments[s as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.segments[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.segments[next as usize].prev = prev;
        }
        if run != NIL {
            if lower == NIL {
                self.runs[run as usize].lowest = higher;
            } else {
                self.segments[lower as usize].higher = higher;
            }
            if higher == NIL {
                self.runs[run as usize].highest = lower;
            } else {
                self.segments[higher as usize].lower = lower;
            }
        }
        self.spare_segments.push(s);
    }

    /// Blocks `lo..hi` of `run`, just let go of by their last holder, join the
    /// queue's tail (highest first): they are the run's lowest idle blocks.
    fn queue_idle(&mut self, run: u32, lo: u32, hi: u32) {
        self.free += hi - lo;
        if self.tail != NIL {
            let tail = &mut self.segments[self.tail as usize];
            if tail.run == run && tail.lo == hi {
                tail.lo = lo;
                return;
            }
        }
        let s = self.new_segment(run, lo, hi);
        let r = &mut self.runs[run as usize];
        let above = r.lowest;
        r.lowest = s;
        if above == NIL {
            r.highest = s;
        } else {
            self.segments[above as usize].lower = s;
        }
        self.segments[s as usize].higher = above;
        self.link_tail(s);
    }

    /// Blocks `lo..hi` of `run` — its lowest idle ones — are held again: they
    /// leave the queue.
    fn unqueue_lowest(&mut self, run: u32, lo: u32, hi: u32) {
        self.free -= hi - lo;
        let mut s = self.runs[run as usize].lowest;
        let mut at = lo;
        loop {
            let seg = self.segments[s as usize];
            debug_assert_eq!(seg.lo, at, "a run's idle blocks are queued in order");
            at = seg.hi;
            if seg.hi <= hi {
                self.drop_segment(s);
                if seg.hi == hi {
                    return;
                }
                s = seg.higher;
            } else {
                self.segments[s as usize].lo = hi;
                return;
            }
        }
    }

    /// Takes `n` free blocks from the head: never-used ones first, then the queue's,
    /// evicting the cached ones (a run loses its last blocks; an emptied run is
    /// forgotten).
    fn take_free(&mut self, mut n: u32) {
        debug_assert!(n <= self.free, "no free block");
        let fresh = n.min(self.untouched);
        self.untouched -= fresh;
        self.free -= fresh;
        n -= fresh;
        while n > 0 {
            let s = self.head;
            let seg = self.segments[s as usize];
            let take = seg.len().min(n);
            if seg.run != NIL {
                let run = &mut self.runs[seg.run as usize];
                debug_assert_eq!(run.hashes.len(), seg.hi as usize, "a run loses its end");
                let left = (seg.hi - take) as usize;
                debug_assert!(
                    run.holds.longest as usize <= left,
                    "an idle block is evicted"
                );
                let first = if left == 0 { run.hashes[0] } else { 0 };
                run.hashes.truncate(left);
                self.named -= take as usize;
                self.counts.evicted_blocks += u64::from(take);
                if left == 0 {
                    self.starts.remove(first);
                    self.spare_runs.push(seg.run);
                }
            }
            self.segments[s as usize].hi -= take;
            self.free -= take;
            n -= take;
            if take == seg.len() {
                self.drop_segment(s);
            }
        }
    }
}

#[cfg(test)]
mod holds_tests {
    use super::Holds;
    use inferscale_engine::mix64 as mix;

    /// Holds agree with a holder count kept per block: the longest hold is where
    /// the counts reach zero, whatever the order of adds, removes and growths.
    #[test]
    fn holds_give_the_per_block_counts_longest_hold() {
        let mut state = 7u64;
        let mut next = |lo: u32, hi: u32| {
            state = mix(state);
            lo + (state % u64::from(hi - lo)) as u32
        };
        let mut holds = Holds::default();
        let mut counts = [0u32; 40];
        let mut live: Vec<u32> = Vec::new();
        for _ in 0..20_000 {
            let op = next(0, 3);
            if op == 0 || live.is_empty() {
                let len = next(1, 33);
                let before = holds.add(len);
                assert_eq!(before as usize, counts.partition_point(|&c| c > 0));
                counts[..len as usize].iter_mut().for_each(|c| *c += 1);
                live.push(len);
            } else if op == 1 {
                let len = live.swap_remove(next(0, live.len() as u32) as usize);
                counts[..len as usize].iter_mut().for_each(|c| *c -= 1);
                let after = holds.remove(len);
                assert_eq!(after as usize, counts.partition_point(|&c| c > 0));
            } else {
                let i = next(0, live.len() as u32) as usize;
                let (from, to) = (live[i], (live[i] + next(0, 8)).min(40));
                holds.grow(from, to);
                counts[from as usize..to as usize]
                    .iter_mut()
                    .for_each(|c| *c += 1);
                live[i] = to;
            }
            assert_eq!(holds.longest as usize, counts.partition_point(|&c| c > 0));
        }
    }
}
