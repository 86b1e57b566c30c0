//! The future-event list: a binary min-heap keyed by (time, insertion sequence).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::SimTime;

/// One scheduled event, ordered by time and then by insertion sequence number, so
/// ties break first-in-first-out.
///
/// The two halves are stored as `u64`s rather than one `u128`: a `u128` field aligns the
/// entry to 16 bytes, so an 8-byte event made a 32-byte entry where 24 suffice, and the
/// heap's sift moves whole entries (issue 13: a third of the M/M/c station's time).
/// [`Scheduled::key`] joins them for one branch-free comparison.
struct Scheduled<E> {
    time: u64,
    seq: u64,
    event: E,
}

impl<E> Scheduled<E> {
    fn time(&self) -> SimTime {
        SimTime::from_nanos(self.time)
    }

    /// Time in the high half, sequence in the low half: one comparison orders both.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<E> Eq for Scheduled<E> {}

/// Reversed, because `BinaryHeap` is a max-heap and we want the earliest first. The
/// comparisons the heap's sift uses are written out: going through `cmp` and an
/// `Ordering` cost several instructions per comparison.
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }

    #[inline]
    fn lt(&self, other: &Self) -> bool {
        other.key() < self.key()
    }

    #[inline]
    fn le(&self, other: &Self) -> bool {
        other.key() <= self.key()
    }

    #[inline]
    fn gt(&self, other: &Self) -> bool {
        other.key() > self.key()
    }

    #[inline]
    fn ge(&self, other: &Self) -> bool {
        other.key() >= self.key()
    }
}

impl<E> Ord for Scheduled<E> {
    /// Reversed, because `BinaryHeap` is a max-heap and we want the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// Events waiting to happen, delivered earliest first; events at the same instant come
/// out in the order they were pushed.
///
/// Sequence numbers are never reused within a queue, so the order is total and a run is
/// reproducible bit for bit: any correct heap operation sequence delivers the same
/// events in the same order, which is what lets [`EventQueue::deliver`] defer a pop.
pub struct EventQueue<E> {
    heap: BinaryHeap<Scheduled<E>>,
    next_seq: u64,
    /// The earliest entry was handed out by [`EventQueue::deliver`] and is still in the
    /// heap, waiting to be overwritten by the next push or removed.
    delivered: bool,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty queue with room for `capacity` events before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            next_seq: 0,
            delivered: false,
        }
    }

    /// Schedules `event` at `time`.
    ///
    /// After [`EventQueue::deliver`], the first push takes the delivered entry's place
    /// at the root and sifts down once, instead of a pop (down to the bottom and back
    /// up) followed by a push (up): most events schedule a successor, so this halves
    /// the heap's work per event.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Scheduled {
            time: time.as_nanos(),
            seq,
            event,
        };
        if self.delivered {
            self.delivered = false;
            if let Some(mut root) = self.heap.peek_mut() {
                *root = entry;
                return;
            }
        }
        self.heap.push(entry);
    }

    /// Removes the entry [`EventQueue::deliver`] handed out, if it is still there.
    #[inline]
    fn settle(&mut self) {
        if self.delivered {
            self.delivered = false;
            self.heap.pop();
        }
    }

    /// Removes and returns the earliest event, if any.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.settle();
        self.heap.pop().map(|s| (s.time(), s.event))
    }

    /// Returns the earliest event, if any, as [`EventQueue::pop`] does, but leaves its
    /// entry at the root for the next [`EventQueue::push`] to overwrite. The queue
    /// behaves exactly as if the event had been popped.
    #[inline]
    pub fn deliver(&mut self) -> Option<(SimTime, E)>
    where
        E: Copy,
    {
        self.settle();
        let root = self.heap.peek()?;
        self.delivered = true;
        Some((root.time(), root.event))
    }

    /// The time of the earliest event, if any.
    #[inline]
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.settle();
        self.heap.peek().map(Scheduled::time)
    }

    /// How many events are waiting.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.delivered)
    }

    /// Whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order() {
        let mut q = EventQueue::new();
        for (t, e) in [(5, 'c'), (1, 'a'), (3, 'b'), (9, 'd')] {
            q.push(SimTime::from_nanos(t), e);
        }
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['a', 'b', 'c', 'd']);
    }

    #[test]
    fn ties_break_by_insertion_order() {
        let mut q = EventQueue::new();
        let t = SimTime::from_secs(1);
        for i in 0..1000 {
            q.push(t, i);
        }
        // An earlier event pushed last still comes first.
        q.push(SimTime::ZERO, -1);
        assert_eq!(q.pop(), Some((SimTime::ZERO, -1)));
        for i in 0..1000 {
            assert_eq!(q.pop(), Some((t, i)));
        }
        assert!(q.is_empty());
    }

    #[test]
    fn peek_reports_the_earliest_time() {
        let mut q = EventQueue::with_capacity(4);
        assert_eq!(q.peek_time(), None);
        q.push(SimTime::from_nanos(7), ());
        q.push(SimTime::from_nanos(2), ());
        assert_eq!(q.peek_time(), Some(SimTime::from_nanos(2)));
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn extreme_times_keep_their_order() {
        let mut q = EventQueue::new();
        q.push(SimTime::MAX, "never");
        q.push(SimTime::ZERO, "now");
        assert_eq!(q.pop().map(|(_, e)| e), Some("now"));
        assert_eq!(q.pop(), Some((SimTime::MAX, "never")));
    }

    /// `deliver` followed by pushes and pops gives exactly the order `pop` gives, for
    /// a random mix of operations checked against a sorted reference.
    #[test]
    fn deliver_behaves_as_pop() {
        let mut lazy = EventQueue::new();
        let mut eager = EventQueue::new();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut now = 0;
        for i in 0..20_000u32 {
            match next() % 5 {
                0 | 1 => {
                    let t = SimTime::from_nanos(now + next() % 50);
                    lazy.push(t, i);
                    eager.push(t, i);
                }
                2 | 3 => {
                    let a = lazy.deliver();
                    assert_eq!(a, eager.pop());
                    if let Some((t, _)) = a {
                        now = t.as_nanos();
                    }
                }
                _ => assert_eq!(lazy.peek_time(), eager.peek_time()),
            }
            assert_eq!(lazy.len(), eager.len());
        }
        while let Some(e) = eager.pop() {
            assert_eq!(lazy.deliver(), Some(e));
        }
        assert!(lazy.is_empty());
        assert_eq!(lazy.deliver(), None);
    }
}
