//! The plain-Rust M/M/c loop the engine is measured against: a `BinaryHeap` of
//! (time, seq, kind) events and a `VecDeque` FIFO queue, drawing from the engine's RNG family
//! (ChaCha8 + `Exp1`), so RNG cost is equal. Shared by `benches/engine.rs` and the
//! `plain_mmc` example (`cargo run --release --example plain_mmc -- SECONDS`), which runs it
//! alone, e.g. to count its instructions under cachegrind.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};

/// What a plain-loop run measured.
#[derive(Debug, Clone, Copy)]
pub struct PlainStats {
    pub customers: u64,
    pub events: u64,
    pub mean_wait: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival,
    Departure,
}

/// A plain M/M/c simulation until `horizon` seconds: Poisson arrivals, exponential service,
/// `servers` servers, FIFO queue. Time is integer nanoseconds, like the engine's.
pub fn plain_mmc(
    seed: u64,
    servers: usize,
    lambda: f64,
    mean_service: f64,
    horizon: f64,
) -> PlainStats {
    let mut arrivals = ChaCha8Rng::seed_from_u64(seed);
    arrivals.set_stream(1);
    let mut service = ChaCha8Rng::seed_from_u64(seed);
    service.set_stream(2);
    let gap_ns = 1e9 / lambda;
    let service_ns = mean_service * 1e9;
    let end = (horizon * 1e9) as u64;

    let mut heap: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::new();
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut seq = 0u64;
    let mut busy = 0usize;
    let (mut customers, mut served, mut events) = (0u64, 0u64, 0u64);
    let mut wait_sum = 0u128;

    let first: f64 = Exp1.sample(&mut arrivals);
    heap.push(Reverse(((first * gap_ns) as u64, seq, Event::Arrival)));
    while let Some(Reverse((now, _, event))) = heap.pop() {
        if now > end {
            break;
        }
        events += 1;
        match event {
            Event::Arrival => {
                customers += 1;
                let gap: f64 = Exp1.sample(&mut arrivals);
                seq += 1;
                heap.push(Reverse((now + (gap * gap_ns) as u64, seq, Event::Arrival)));
                if busy < servers {
                    busy += 1;
                    served += 1;
                    let s: f64 = Exp1.sample(&mut service);
                    seq += 1;
                    heap.push(Reverse((
                        now + (s * service_ns) as u64,
                        seq,
                        Event::Departure,
                    )));
                } else {
                    queue.push_back(now);
                }
            }
            Event::Departure => {
                if let Some(arrived) = queue.pop_front() {
                    wait_sum += u128::from(now - arrived);
                    served += 1;
                    let s: f64 = Exp1.sample(&mut service);
                    seq += 1;
                    heap.push(Reverse((
                        now + (s * service_ns) as u64,
                        seq,
                        Event::Departure,
                    )));
                } else {
                    busy -= 1;
                }
            }
        }
    }
    PlainStats {
        customers,
        events,
        mean_wait: wait_sum as f64 / served.max(1) as f64 / 1e9,
    }
}
