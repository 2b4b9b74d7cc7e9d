//! Sorts by a 64-bit key whose unsigned order is the order wanted.
//!
//! For a finite, non-negative `f64` the IEEE-754 bit pattern read as a `u64` orders exactly like
//! the number; `f64_key` and `i64_key` map any double or bigint to such a key. Sorting is most
//! of the work of an exact Gini or of ranking a million customers, so there are two sorts:
//! - `sort_by_key`, stable: an LSD radix sort, which needs a pass per 11 bits that vary (orders
//!   by customer id: 2 passes below 2^22 customers) and is several times faster than a
//!   comparison sort there;
//! - `sort_unstable_by_key`, for keys whose equal items are interchangeable (plain values): one
//!   pass into buckets by the top varying bits, then each bucket sorted in cache. A double
//!   varies in most of its 64 bits, and six LSD passes over millions of them, whose scattered
//!   writes miss the TLB, take twice as long.

/// Bits per radix digit: 2,048 buckets keep the histograms in L1 cache; 6 passes cover 64 bits.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
const PASSES: usize = 64_usize.div_ceil(DIGIT_BITS as usize);
/// Below this, a comparison sort wins over six histogram passes.
pub const RADIX_THRESHOLD: usize = 4_096;

/// Sorts finite, non-negative values ascending. `-0.0` must already be normalised to `0.0`.
///
/// `between_passes` is called now and then (see `sort_unstable_by_key`) so that the caller can
/// honour a query cancel; it may unwind.
pub fn sort_non_negative(values: &mut [f64], between_passes: &mut dyn FnMut()) {
    debug_assert!(values.iter().all(|v| v.is_finite() && v.is_sign_positive()));
    sort_unstable_by_key(values, |v| v.to_bits(), between_passes);
}

/// A key that orders like the double (−0.0 and 0.0 alike). Not for NaN, which has no place.
#[inline(always)]
pub fn f64_key(x: f64) -> u64 {
    debug_assert!(!x.is_nan());
    let bits = (x + 0.0).to_bits(); // -0.0 + 0.0 is 0.0
    if bits >> 63 == 1 {
        !bits // negative: larger magnitudes first
    } else {
        bits | 1 << 63
    }
}

/// The double whose key is `key` (`f64_key`'s inverse; −0.0 comes back as 0.0).
#[inline(always)]
pub fn f64_from_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key ^ 1 << 63 } else { !key })
}

/// A key that orders like the bigint.
#[inline(always)]
pub fn i64_key(x: i64) -> u64 {
    x as u64 ^ 1 << 63
}

/// Sorts by `key`, ascending; stable (items with equal keys keep their order).
pub fn sort_by_key<T: Copy>(
    items: &mut [T],
    key: impl Fn(&T) -> u64,
    between_passes: &mut dyn FnMut(),
) {
    sort_by_key_with_scratch(items, &mut Vec::new(), key, between_passes);
}

/// `sort_by_key` with a scratch buffer of the caller's, which keeps its capacity for the next
/// sort: a fresh buffer of many megabytes costs a page fault every 4 kB.
pub fn sort_by_key_with_scratch<T: Copy>(
    items: &mut [T],
    scratch: &mut Vec<T>,
    key: impl Fn(&T) -> u64,
    between_passes: &mut dyn FnMut(),
) {
    if items.len() < RADIX_THRESHOLD {
        items.sort_by_key(&key);
        return;
    }
    let varying = varying_bits(items, &key);
    let histograms = digit_histograms(items, &key, varying);
    crate::interrupt::check();
    between_passes();
    let n = items.len();
    // The scratch buffer is written through raw pointers and only read after a pass has
    // written all n places, so it needs no initialising copy; its length stays 0.
    scratch.clear();
    scratch.reserve(n);
    let (items_ptr, scratch_ptr) = (items.as_mut_ptr(), scratch.as_mut_ptr());
    let mut sorted_in_scratch = false;
    // A digit that is the same in every item would not reorder anything: it has no pass.
    for (shift, counts) in &histograms {
        let mut offsets = [0usize; BUCKETS];
        let mut next = 0;
        for (offset, &count) in offsets.iter_mut().zip(counts.iter()) {
            *offset = next;
            next += count;
        }
        let mut ends = [0usize; BUCKETS];
        for ((end, offset), count) in ends.iter_mut().zip(&offsets).zip(counts) {
            *end = offset + count;
        }
        let (from, to) = if sorted_in_scratch {
            (scratch_ptr as *const T, items_ptr)
        } else {
            (items_ptr as *const T, scratch_ptr)
        };
        for i in 0..n {
            // SAFETY: `from` holds n items (the caller's, or all written by the last pass, as
            // checked below), `to` has room for n, and they do not overlap.
            unsafe {
                let item = *from.add(i);
                let digit = digit(key(&item), *shift);
                // Holds for a key that gives what it gave when counting; checked, so that any
                // other key cannot write out of bounds.
                assert!(
                    offsets[digit] < ends[digit],
                    "the sort key changed while sorting"
                );
                std::ptr::write(to.add(offsets[digit]), item);
                offsets[digit] += 1;
            }
        }
        // Every bucket full: all n places were written.
        assert!(offsets == ends, "the sort key changed while sorting");
        sorted_in_scratch = !sorted_in_scratch;
        crate::interrupt::check();
        between_passes();
    }
    if sorted_in_scratch {
        // SAFETY: the last pass wrote all n items into the scratch buffer.
        unsafe { std::ptr::copy_nonoverlapping(scratch_ptr, items_ptr, n) };
    }
}

/// A bucket this small is sorted by the standard library's unstable sort, in cache.
const IN_CACHE: usize = 1 << 14;
/// The items sorted between two interrupt checks, some tens of milliseconds' work.
const CHECK_EVERY: usize = 1 << 20;

/// Sorts by `key`, ascending, in no particular order among equal keys: for items that equal
/// keys make interchangeable. `between_buckets` is called now and then, as `between_passes`.
pub fn sort_unstable_by_key<T: Copy>(
    items: &mut [T],
    key: impl Fn(&T) -> u64 + Copy,
    between_buckets: &mut dyn FnMut(),
) {
    sort_in_buckets(items, &mut Vec::new(), key, between_buckets);
}

/// Moves the items into buckets by the 11 highest bits that vary among them (a copy into
/// `scratch`, then one pass back), then sorts each bucket: in cache when small, else the same
/// way by its own varying bits.
fn sort_in_buckets<T: Copy>(
    items: &mut [T],
    scratch: &mut Vec<T>,
    key: impl Fn(&T) -> u64 + Copy,
    between_buckets: &mut dyn FnMut(),
) {
    if items.len() <= IN_CACHE {
        items.sort_unstable_by_key(key);
        return;
    }
    let varying = varying_bits(items, &key);
    if varying == 0 {
        return; // all keys equal
    }
    let shift = (63 - varying.leading_zeros()).saturating_sub(DIGIT_BITS - 1);
    // On the heap: a level of recursion keeps them while the next one runs.
    let mut starts = vec![0usize; BUCKETS]; // the sizes first
    for item in items.iter() {
        starts[digit(key(item), shift)] += 1;
    }
    let mut next = 0;
    for start in starts.iter_mut() {
        (*start, next) = (next, next + *start);
    }
    scratch.clear();
    scratch.extend_from_slice(items);
    let mut ends = starts.clone(); // where each bucket's next item goes; its end once all are placed
    for item in scratch.iter() {
        let bucket = digit(key(item), shift);
        items[ends[bucket]] = *item;
        ends[bucket] += 1;
    }
    crate::interrupt::check();
    between_buckets();
    let mut unchecked = 0; // items sorted since the last interrupt check
    for (&start, &end) in starts.iter().zip(&ends) {
        if unchecked >= CHECK_EVERY {
            crate::interrupt::check();
            between_buckets();
            unchecked = 0;
        }
        if end - start > 1 {
            sort_in_buckets(&mut items[start..end], scratch, key, between_buckets);
        }
        unchecked += end - start;
    }
}

#[inline(always)]
fn digit(key: u64, shift: u32) -> usize {
    ((key >> shift) as usize) & (BUCKETS - 1)
}

/// The key bits that are not the same in every item: only their digits need a pass (ids
/// below 2^22 need 2 passes, not 6). One cheap read of the keys.
fn varying_bits<T>(items: &[T], key: &impl Fn(&T) -> u64) -> u64 {
    let (mut all, mut any) = (u64::MAX, 0);
    for item in items {
        let key = key(item);
        all &= key;
        any |= key;
    }
    all ^ any
}

/// One read of the data counts the digits of every pass whose bits vary: (shift, counts) for
/// each pass needed, in order.
fn digit_histograms<T>(
    items: &[T],
    key: &impl Fn(&T) -> u64,
    varying: u64,
) -> Vec<(u32, [usize; BUCKETS])> {
    let mut histograms: Vec<(u32, [usize; BUCKETS])> = (0..PASSES as u32)
        .map(|pass| pass * DIGIT_BITS)
        .filter(|&shift| digit(varying, shift) != 0)
        .map(|shift| (shift, [0; BUCKETS]))
        .collect();
    for item in items {
        let key = key(item);
        for (shift, counts) in histograms.iter_mut() {
            counts[digit(key, *shift)] += 1;
        }
    }
    histograms
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*), so the tests need no crate.
    fn pseudo_random(seed: u64, n: usize) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                // Skewed, with repeats and zeros, across many orders of magnitude.
                let mantissa = (r >> 11) as f64 / (1u64 << 53) as f64;
                match r % 7 {
                    0 => 0.0,
                    1 => (r % 50) as f64,
                    _ => (mantissa * 40.0).exp(),
                }
            })
            .collect()
    }

    fn check_against_std(values: Vec<f64>) {
        let mut expected = values.clone();
        expected.sort_by(f64::total_cmp);
        let mut actual = values;
        let mut passes = 0;
        sort_non_negative(&mut actual, &mut || passes += 1);
        assert_eq!(actual, expected);
    }

    #[test]
    fn radix_sort_matches_std_sort() {
        for (seed, n) in [
            (1, 0),
            (2, 1),
            (3, 100),
            (4, 4_095),
            (5, 4_096),
            (6, 100_000),
        ] {
            check_against_std(pseudo_random(seed, n));
        }
    }

    #[test]
    fn keys_order_like_the_numbers() {
        let doubles = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            1.0,
            f64::INFINITY,
        ];
        for pair in doubles.windows(2) {
            assert!(f64_key(pair[0]) <= f64_key(pair[1]), "{pair:?}");
        }
        assert_eq!(f64_key(-0.0), f64_key(0.0));
        for x in doubles {
            assert_eq!(f64_from_key(f64_key(x)), x + 0.0, "{x}");
        }
        let ints = [i64::MIN, -7, -1, 0, 1, i64::MAX];
        assert!(ints.windows(2).all(|p| i64_key(p[0]) < i64_key(p[1])));
    }

    #[test]
    fn unstable_sort_matches_std_sort() {
        for (seed, n) in [(7, 0), (8, 1), (9, 20_000), (10, 100_000), (11, 300_000)] {
            let values = pseudo_random(seed, n);
            let mut expected = values.clone();
            expected.sort_by(f64::total_cmp);
            let mut actual = values.clone();
            let mut calls = 0;
            sort_unstable_by_key(&mut actual, |v| v.to_bits(), &mut || calls += 1);
            assert_eq!(actual, expected);
            assert!(n < 100_000 || calls > 0, "a large sort can be interrupted");
        }
        // Keys over the whole range, one bucket holding almost everything, and all equal.
        let mut keys: Vec<u64> = (0..200_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        keys.extend([u64::MAX, 0, u64::MAX]);
        let mut skewed: Vec<u64> = (0..100_000u64).map(|i| i % 1_000).collect();
        skewed.push(u64::MAX);
        for mut case in [keys, skewed, vec![42; 50_000]] {
            let mut expected = case.clone();
            expected.sort_unstable();
            sort_unstable_by_key(&mut case, |&k| k, &mut || ());
            assert_eq!(case, expected);
        }
    }

    #[test]
    fn sort_by_key_is_stable() {
        // (value, original position): equal values must keep their positions in order.
        let mut items: Vec<(i64, usize)> = (0..50_000)
            .map(|i| ((i * 7919 % 1000) - 500, i as usize))
            .collect();
        let mut expected = items.clone();
        expected.sort_by_key(|e| e.0);
        sort_by_key(&mut items, |e| i64_key(e.0), &mut || ());
        assert_eq!(items, expected);
    }

    #[test]
    fn all_equal_and_already_sorted_inputs() {
        check_against_std(vec![3.25; 10_000]);
        check_against_std((0..10_000).map(f64::from).collect());
        check_against_std((0..10_000).rev().map(f64::from).collect());
        check_against_std(vec![0.0, f64::MAX, f64::MIN_POSITIVE, 5e-324].repeat(2_000));
    }
}
