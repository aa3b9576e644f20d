//! The agenda's priority queue: a 4-ary min-heap.
//!
//! Every request event passes through it, so its shape is chosen for speed: with four
//! children per node the heap is half as deep as a binary one, so a pop walks half as many
//! dependent loads down the tree (the four children share a cache line or two), and a push,
//! which usually stops after a level or two, climbs half as far.

/// A min-heap of `T`, smallest first.
#[derive(Debug, Clone)]
pub struct Heap<T> {
    items: Vec<T>,
}

impl<T> Default for Heap<T> {
    fn default() -> Self {
        Heap { items: Vec::new() }
    }
}

/// Children per node.
const ARITY: usize = 4;

impl<T: Ord + Copy> Heap<T> {
    /// The smallest item.
    #[must_use]
    pub fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn push(&mut self, item: T) {
        let mut hole = self.items.len();
        self.items.push(item);
        while hole > 0 {
            let parent = (hole - 1) / ARITY;
            if item >= self.items[parent] {
                break;
            }
            self.items[hole] = self.items[parent];
            hole = parent;
        }
        self.items[hole] = item;
    }

    /// Removes and returns the smallest item.
    pub fn pop(&mut self) -> Option<T> {
        let last = self.items.pop()?;
        let Some(&top) = self.items.first() else {
            return Some(last);
        };
        // Sift `last` down from the root: the hole moves to the smallest child while that
        // child is smaller than `last`.
        let n = self.items.len();
        let mut hole = 0;
        loop {
            let first = ARITY * hole + 1;
            if first >= n {
                break;
            }
            let least = if first + ARITY <= n {
                // All four children: a tournament, which compiles to conditional moves.
                let c = &self.items[first..first + ARITY];
                let a = usize::from(c[1] < c[0]);
                let b = 2 + usize::from(c[3] < c[2]);
                first + if c[b] < c[a] { b } else { a }
            } else {
                let mut least = first;
                for child in first + 1..n {
                    if self.items[child] < self.items[least] {
                        least = child;
                    }
                }
                least
            };
            if self.items[least] >= last {
                break;
            }
            self.items[hole] = self.items[least];
            hole = least;
        }
        self.items[hole] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    /// Random interleavings of pushes and pops (many equal keys among them) give what a
    /// sorted list gives, at every size the heap passes through.
    #[test]
    fn pops_in_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for round in 0..200 {
            let mut heap = Heap::default();
            let mut model: Vec<u32> = Vec::new();
            let push_share = if round % 2 == 0 { 0.6 } else { 0.5 };
            for _ in 0..rng.random_range(0..400) {
                if rng.random::<f64>() < push_share {
                    let v = rng.random_range(0..60u32);
                    heap.push(v);
                    model.push(v);
                    model.sort_unstable_by(|a, b| b.cmp(a));
                } else {
                    assert_eq!(heap.pop(), model.pop());
                }
                assert_eq!(heap.len(), model.len());
                assert_eq!(heap.peek(), model.last());
            }
            while let Some(v) = model.pop() {
                assert_eq!(heap.pop(), Some(v));
            }
            assert!(heap.is_empty());
            assert_eq!(heap.pop(), None);
        }
    }
}
