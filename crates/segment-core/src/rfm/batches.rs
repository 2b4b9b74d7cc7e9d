//! Counting orders into per-customer statistics, fast on millions of orders.
//!
//! A hash-table lookup per order misses the CPU caches once the table has outgrown them (a
//! million customers take about 60 MB), and PostgreSQL's executor runs between two lookups, so
//! the misses are waited for one at a time: that was 200 ns an order. Instead, orders are kept
//! in a batch; a full batch is sorted by customer (a radix sort for bigint ids: a few
//! sequential passes), folded into one entry per customer, and merged into the customers so
//! far, which are kept as a run sorted by id. Every step reads memory in order.

use super::key::CustomerKey;
use super::stats::{CustomerStats, Order, Run};
use crate::codec::DecodeError;

/// A batch of orders is counted once it has this many, or as many as the customers counted so
/// far, whichever is more: merging the batch into the run then moves at most one entry per
/// order, and the batch with its sort buffer (24 + 24 bytes an order) takes about the memory
/// of the run (48 bytes a customer).
const MIN_BATCH: usize = 1 << 20;

/// Orders being counted into a run of customers.
pub struct OrderCounter<K> {
    batch: Vec<Order<K>>,
    run: Run<K>,
    /// Kept from one batch to the next: a fresh buffer of many megabytes costs a page fault
    /// every 4 kB.
    sort_scratch: Vec<Order<K>>,
}

impl<K> Default for OrderCounter<K> {
    fn default() -> Self {
        OrderCounter {
            batch: Vec::new(),
            run: Vec::new(),
            sort_scratch: Vec::new(),
        }
    }
}

impl<K: CustomerKey> OrderCounter<K> {
    #[inline]
    pub fn add(&mut self, customer: K, at: i64, amount: Option<f64>) {
        self.batch.push(Order {
            customer,
            at,
            amount: amount.unwrap_or(0.0),
        });
        if self.batch.len() >= MIN_BATCH.max(self.run.len()) {
            self.count_batch();
        }
    }

    /// Sorts the batch and merges it into the run in place, folding each customer's orders on
    /// the way: the run grows by the batch's new customers and is filled from its end, so no
    /// second copy of the run is needed.
    fn count_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        K::sort_orders(&mut self.batch, &mut self.sort_scratch);
        let batch = &mut self.batch;
        let run = &mut self.run;
        // run[..unmerged] is still to be merged, run[free..] is merged, and in between are the
        // places of the new customers still to come.
        let mut unmerged = run.len();
        let new = new_customers(batch, run);
        run.reserve_exact(new); // not doubled: the run is most of the memory
        run.resize_with(unmerged + new, Default::default);
        let mut free = run.len();
        let mut end = batch.len();
        while end > 0 {
            let mut start = end - 1;
            while start > 0 && batch[start - 1].customer == batch[start].customer {
                start -= 1;
            }
            let customer = &batch[start].customer;
            let mut above = unmerged;
            while above > 0 && run[above - 1].0 > *customer {
                above -= 1;
            }
            shift_right(run, above, unmerged, free - unmerged);
            free -= unmerged - above;
            unmerged = above;
            let orders = &batch[start..end];
            if unmerged > 0 && run[unmerged - 1].0 == *customer {
                unmerged -= 1;
                orders
                    .iter()
                    .for_each(|o| run[unmerged].1.add(o.at, o.amount));
                free -= 1;
                run.swap(unmerged, free);
            } else {
                let mut stats = CustomerStats::default();
                orders.iter().for_each(|o| stats.add(o.at, o.amount));
                free -= 1;
                run[free] = (std::mem::take(&mut batch[start].customer), stats);
            }
            end = start;
        }
        debug_assert_eq!(
            unmerged, free,
            "the customers below the batch's stayed in place"
        );
        batch.clear();
    }

    /// Every order counted: the customers, sorted by id.
    pub fn into_run(mut self) -> Run<K> {
        self.count_batch();
        self.run
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.run.is_empty()
    }
}

/// Moves run[lo..hi] `gap` places up, onto places that hold nothing yet, in time linear in
/// hi - lo (a rotation over the gap as well would be quadratic over a whole batch).
fn shift_right<T>(run: &mut [T], lo: usize, hi: usize, gap: usize) {
    let len = hi - lo;
    if gap == 0 || len == 0 {
        return;
    }
    if gap >= len {
        let (below, from_target) = run.split_at_mut(lo + gap);
        below[lo..hi].swap_with_slice(&mut from_target[..len]);
    } else {
        run[lo..hi + gap].rotate_right(gap);
    }
}

/// The customers of a sorted batch that are not in the run yet.
fn new_customers<K: CustomerKey>(batch: &[Order<K>], run: &Run<K>) -> usize {
    let mut known = run.iter().map(|(customer, _)| customer).peekable();
    let mut new = 0;
    for (i, order) in batch.iter().enumerate() {
        if i > 0 && batch[i - 1].customer == order.customer {
            continue;
        }
        while known
            .next_if(|customer| **customer < order.customer)
            .is_some()
        {}
        if known.peek() != Some(&&order.customer) {
            new += 1;
        }
    }
    new
}

/// Customers sorted by id, from memory or read from a binary summary.
pub type Source<'a, K> = Box<dyn Iterator<Item = (K, CustomerStats)> + 'a>;

/// Merges any number of sources sorted by id in one pass, adding up a customer found in
/// several; Err when a source is out of order (a corrupted summary).
pub fn merge_sources<K: CustomerKey>(
    mut sources: Vec<Source<'_, K>>,
) -> Result<Run<K>, DecodeError> {
    let mut heads: Vec<Option<(K, CustomerStats)>> = sources.iter_mut().map(|s| s.next()).collect();
    let mut merged = Vec::with_capacity(sources.iter().map(|s| s.size_hint().0).max().unwrap_or(0));
    // Takes source i's head and reads its next one.
    let mut advance = |heads: &mut Vec<Option<(K, CustomerStats)>>, i: usize| {
        let taken = heads[i].take().expect("a head");
        heads[i] = sources[i].next();
        match &heads[i] {
            Some(next) if next.0 <= taken.0 => Err(DecodeError(format!(
                "{}: customer ids out of order",
                K::TYPE_NAME
            ))),
            _ => Ok(taken),
        }
    };
    loop {
        // Few sources (parallel workers, a handful of summaries): a scan beats a heap.
        let lowest = (0..heads.len())
            .filter(|&i| heads[i].is_some())
            .min_by(|&a, &b| {
                heads[a]
                    .as_ref()
                    .expect("some")
                    .0
                    .cmp(&heads[b].as_ref().expect("some").0)
            });
        let Some(lowest) = lowest else {
            return Ok(merged);
        };
        let (customer, mut stats) = advance(&mut heads, lowest)?;
        for i in lowest + 1..heads.len() {
            if heads[i].as_ref().is_some_and(|head| head.0 == customer) {
                stats.merge(&advance(&mut heads, i)?.1);
            }
        }
        merged.push((customer, stats));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    /// Counted in batches, sorted and merged, the orders give what a hash table of the
    /// customers gives.
    #[test]
    fn batches_count_like_a_hash_table() {
        let mut counter = OrderCounter::<i64>::default();
        let mut table: FxHashMap<i64, CustomerStats> = FxHashMap::default();
        let orders = 3 * MIN_BATCH as i64 + 1000;
        for i in 0..orders {
            let customer = (i * 7919) % 1_500_007 - 700_000; // negative ids too
            let amount = if i % 11 == 0 {
                None
            } else {
                Some((i % 13) as f64 - 2.0)
            };
            counter.add(customer, i, amount);
            table
                .entry(customer)
                .or_default()
                .add(i, amount.unwrap_or(0.0));
        }
        let run = counter.into_run();
        let mut expected: Vec<(i64, CustomerStats)> = table.into_iter().collect();
        expected.sort_by_key(|e| e.0);
        assert_eq!(run.len(), expected.len());
        for ((id, stats), (expected_id, expected_stats)) in run.iter().zip(&expected) {
            assert_eq!(id, expected_id);
            assert_eq!(
                (stats.first(), stats.last(), stats.purchases),
                (
                    expected_stats.first(),
                    expected_stats.last(),
                    expected_stats.purchases
                )
            );
            // Merged batches add a customer's amounts in another grouping.
            assert!((stats.monetary() - expected_stats.monetary()).abs() < 1e-9);
        }
    }

    #[test]
    fn a_source_out_of_order_is_an_error() {
        let run = vec![
            (3_i64, CustomerStats::default()),
            (2, CustomerStats::default()),
        ];
        assert!(merge_sources::<i64>(vec![Box::new(run.into_iter())]).is_err());
    }

    #[test]
    fn merging_runs_adds_up_shared_customers() {
        let stats = |purchases: u64| {
            let mut s = CustomerStats::default();
            (0..purchases).for_each(|day| s.add(day as i64, 1.0));
            s
        };
        let left = vec![(1_i64, stats(1)), (4, stats(2))];
        let right = vec![(2_i64, stats(1)), (4, stats(3)), (9, stats(1))];
        let sources: Vec<Source<i64>> =
            vec![Box::new(left.into_iter()), Box::new(right.into_iter())];
        let merged = merge_sources(sources).unwrap();
        let ids: Vec<(i64, u64)> = merged.iter().map(|(c, s)| (*c, s.purchases)).collect();
        assert_eq!(ids, vec![(1, 1), (2, 1), (4, 5), (9, 1)]);
    }
}
