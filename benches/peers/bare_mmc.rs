//! The ceiling for `benches/peers`: a bare, hand-written M/M/c loop. A binary heap of
//! (time, event) with an enum of two events, a FIFO of arrival times and a running sum
//! of waits; nothing else. Same generator (Xoshiro256++) and exponential sampler as
//! inferscale, so the difference is the engine's generality and its measurements.
//!
//! Usage: `bare_mmc CUSTOMERS` → prints one JSON line.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

use rand::SeedableRng;
use rand_distr::{Distribution, Exp1};
use rand_xoshiro::Xoshiro256PlusPlus;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival,
    Departure,
}

fn exp_nanos(rng: &mut Xoshiro256PlusPlus, mean_s: f64) -> u64 {
    let unit: f64 = Exp1.sample(rng);
    (unit * mean_s * 1e9 + 0.5) as u64
}

fn main() {
    let customers: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let (servers, rate, mean_service) = (8u32, 7.2f64, 1.0f64);
    let started = Instant::now();
    let seed: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut heap = BinaryHeap::new();
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let (mut busy, mut arrived, mut served) = (0u32, 0u64, 0u64);
    let mut wait_sum = 0u128;
    heap.push(Reverse((exp_nanos(&mut rng, 1.0 / rate), Event::Arrival)));
    while let Some(Reverse((now, event))) = heap.pop() {
        match event {
            Event::Arrival => {
                arrived += 1;
                if arrived < customers {
                    heap.push(Reverse((
                        now + exp_nanos(&mut rng, 1.0 / rate),
                        Event::Arrival,
                    )));
                }
                if busy < servers {
                    busy += 1;
                    heap.push(Reverse((
                        now + exp_nanos(&mut rng, mean_service),
                        Event::Departure,
                    )));
                } else {
                    waiting.push_back(now);
                }
            }
            Event::Departure => {
                served += 1;
                match waiting.pop_front() {
                    Some(t) => {
                        wait_sum += u128::from(now - t);
                        heap.push(Reverse((
                            now + exp_nanos(&mut rng, mean_service),
                            Event::Departure,
                        )));
                    }
                    None => busy -= 1,
                }
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"simulator\": \"bare-rust-heap\", \"customers\": {served}, \"seconds\": {secs:.6}, \"mean_wait_s\": {:.6}}}",
        wait_sum as f64 / served as f64 / 1e9
    );
}
