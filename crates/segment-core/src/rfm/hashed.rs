//! Customers counted in a hash table: text ids, whose orders cannot be sorted in batches as
//! cheaply as bigint ids (a batch would copy and compare every id).
//!
//! A table of a million text ids (entries, and the ids on the heap) is far larger than the CPU
//! caches, and a lookup misses them twice: the entry, then the id it compares. Past
//! `SPLIT_AT` customers the table is split into `PARTITIONS` tables by a hash of the id, and
//! orders are buffered per partition (their ids copied into one buffer, not allocated one by
//! one) and applied a partition at a time: that partition's table is then small enough to stay
//! in cache, and a tight loop lets the CPU overlap the misses it still has.

use super::stats::CustomerStats;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};

/// Customers in one table before it is split: about what a core's L2 cache holds.
const SPLIT_AT: usize = 1 << 15;
const PARTITION_BITS: u32 = 8;
const PARTITIONS: usize = 1 << PARTITION_BITS;
/// Buffered orders are applied once there are this many, or twice as many as there are
/// customers: each partition's customers then see a few orders each while in cache.
const MIN_PENDING: usize = 1 << 16;

/// Orders of one partition not yet applied: their ids one after another in `ids`.
#[derive(Default)]
struct Pending {
    ids: String,
    /// (end of the id in `ids`, time, amount)
    orders: Vec<(usize, i64, f64)>,
}

pub struct HashedCustomers<K> {
    /// One table, or `PARTITIONS` tables, partition p holding the ids with `partition(id) == p`.
    parts: Vec<FxHashMap<K, CustomerStats>>,
    /// Per partition, once split.
    pending: Vec<Pending>,
    pending_orders: usize,
    /// Applies the pending orders; set by the first order buffered, which only text ids do
    /// (the generic code below cannot look up a borrowed text id itself).
    apply_pending: Option<fn(&mut Self)>,
    /// Customers in `parts`.
    customers: usize,
}

impl<K> Default for HashedCustomers<K> {
    fn default() -> Self {
        HashedCustomers {
            parts: vec![FxHashMap::default()],
            pending: Vec::new(),
            pending_orders: 0,
            apply_pending: None,
            customers: 0,
        }
    }
}

impl<K: Eq + Hash> HashedCustomers<K> {
    /// The partition of an id. FxHash's well-mixed bits are its low ones, which the tables also
    /// use to place entries; multiplied once more, they decide the partition from the top, so
    /// that the ids of one partition still spread over their own table.
    fn partition_of<Q: Hash + ?Sized>(&self, customer: &Q) -> usize {
        if self.parts.len() == 1 {
            return 0;
        }
        let hash = FxBuildHasher.hash_one(customer);
        (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - PARTITION_BITS)) as usize
    }

    /// Adds a customer's statistics (from a merged summary).
    pub fn merge_customer(&mut self, customer: K, stats: &CustomerStats) {
        let p = self.partition_of(&customer);
        let before = self.parts[p].len();
        self.parts[p].entry(customer).or_default().merge(stats);
        self.customers += self.parts[p].len() - before;
        self.split_when_large();
    }

    fn split_when_large(&mut self) {
        if self.parts.len() > 1 || self.customers < SPLIT_AT {
            return;
        }
        let whole = std::mem::take(&mut self.parts[0]);
        self.parts = (0..PARTITIONS).map(|_| FxHashMap::default()).collect();
        self.pending = (0..PARTITIONS).map(|_| Pending::default()).collect();
        for (customer, stats) in whole {
            let p = self.partition_of(&customer);
            self.parts[p].insert(customer, stats);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.customers == 0 && self.pending_orders == 0
    }

    /// Every customer, the buffered orders applied.
    pub fn into_entries(mut self) -> impl Iterator<Item = (K, CustomerStats)> {
        if let Some(apply_pending) = self.apply_pending.filter(|_| self.pending_orders > 0) {
            apply_pending(&mut self);
        }
        self.parts.into_iter().flatten()
    }
}

impl<K: Eq + Hash + Borrow<str> + for<'a> From<&'a str>> HashedCustomers<K> {
    /// Counts an order of a customer given by a borrowed id, copying the id only for a new
    /// customer.
    pub fn add(&mut self, customer: &str, at: i64, amount: f64) {
        let p = self.partition_of(customer);
        if self.parts.len() == 1 {
            self.apply(p, customer, at, amount);
            self.split_when_large();
            return;
        }
        self.apply_pending = Some(Self::apply_pending);
        let pending = &mut self.pending[p];
        pending.ids.push_str(customer);
        pending.orders.push((pending.ids.len(), at, amount));
        self.pending_orders += 1;
        if self.pending_orders >= MIN_PENDING.max(2 * self.customers) {
            self.apply_pending();
        }
    }

    fn apply(&mut self, p: usize, customer: &str, at: i64, amount: f64) {
        let part = &mut self.parts[p];
        match part.get_mut(customer) {
            Some(stats) => stats.add(at, amount),
            None => {
                part.entry(customer.into()).or_default().add(at, amount);
                self.customers += 1;
            }
        }
    }

    fn apply_pending(&mut self) {
        let mut pending = std::mem::take(&mut self.pending);
        for (p, part) in pending.iter_mut().enumerate() {
            let mut start = 0;
            for &(end, at, amount) in &part.orders {
                self.apply(p, &part.ids[start..end], at, amount);
                start = end;
            }
            part.ids.clear();
            part.orders.clear();
        }
        self.pending = pending;
        self.pending_orders = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Split into partitions, with orders still buffered, the table counts what one plain
    /// hash table counts.
    #[test]
    fn split_table_counts_like_a_plain_one() {
        let mut table = HashedCustomers::<Box<str>>::default();
        let mut plain: FxHashMap<Box<str>, CustomerStats> = FxHashMap::default();
        for i in 0..(4 * SPLIT_AT as i64 + 777) {
            let customer = format!("c{}", (i * 7919) % (2 * SPLIT_AT as i64 + 3));
            let amount = (i % 13) as f64 - 2.0;
            table.add(&customer, i, amount);
            plain.entry(customer.into()).or_default().add(i, amount);
        }
        let mut stats = CustomerStats::default();
        stats.add(5, 4.0);
        table.merge_customer("c3".into(), &stats);
        plain.entry("c3".into()).or_default().merge(&stats);
        assert!(table.parts.len() > 1 && table.pending_orders > 0);
        let mut entries: Vec<_> = table.into_entries().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut expected: Vec<_> = plain.into_iter().collect();
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(entries, expected);
    }
}
