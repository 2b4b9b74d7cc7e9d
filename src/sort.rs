//! Sorting of non-negative `f64` values.
//!
//! Every value the concentration measures sort is finite and non-negative (they are validated on
//! the way in), and for such values the IEEE-754 bit pattern read as a `u64` orders exactly like
//! the number. That lets us use an LSD radix sort on the bits: on 10 million values it is several
//! times faster than a comparison sort, and sorting is most of the work of an exact Gini.

/// Bits per radix digit: 2,048 buckets keep the histograms in L1 cache; 6 passes cover 64 bits.
const DIGIT_BITS: u32 = 11;
const BUCKETS: usize = 1 << DIGIT_BITS;
const PASSES: usize = 64_usize.div_ceil(DIGIT_BITS as usize);
/// Below this, a comparison sort wins over six histogram passes.
const RADIX_THRESHOLD: usize = 4_096;

/// Sorts finite, non-negative values ascending. `-0.0` must already be normalised to `0.0`.
///
/// `between_passes` is called between the O(n) passes so that the caller can honour a query
/// cancel; it may unwind.
pub fn sort_non_negative(values: &mut [f64], between_passes: &mut dyn FnMut()) {
    debug_assert!(values.iter().all(|v| v.is_finite() && v.is_sign_positive()));
    if values.len() < RADIX_THRESHOLD {
        values.sort_unstable_by(f64::total_cmp);
        return;
    }
    let histograms = digit_histograms(values);
    between_passes();
    let n = values.len();
    let mut scratch: Vec<f64> = vec![0.0; n];
    // `from` and `to` alternate between the caller's slice and the scratch buffer.
    let mut sorted_in_scratch = false;
    for (pass, counts) in histograms.iter().enumerate() {
        // A digit that is the same in every value does not reorder anything: skip the pass.
        if counts.contains(&n) {
            continue;
        }
        let mut offsets = [0usize; BUCKETS];
        let mut next = 0;
        for (offset, &count) in offsets.iter_mut().zip(counts.iter()) {
            *offset = next;
            next += count;
        }
        let shift = pass as u32 * DIGIT_BITS;
        let (from, to): (&[f64], &mut [f64]) = if sorted_in_scratch {
            (&scratch[..], &mut *values)
        } else {
            (&*values, &mut scratch[..])
        };
        // Safe aliasing: `from` and `to` are always different buffers.
        let to_ptr = to.as_mut_ptr();
        for &v in from {
            let digit = digit(v, shift);
            // SAFETY: offsets[digit] < n, since the offsets are prefix sums of the digit counts.
            unsafe { *to_ptr.add(offsets[digit]) = v };
            offsets[digit] += 1;
        }
        sorted_in_scratch = !sorted_in_scratch;
        between_passes();
    }
    if sorted_in_scratch {
        values.copy_from_slice(&scratch);
    }
}

#[inline(always)]
fn digit(v: f64, shift: u32) -> usize {
    ((v.to_bits() >> shift) as usize) & (BUCKETS - 1)
}

/// One read of the data counts the digits of every pass.
fn digit_histograms(values: &[f64]) -> Vec<[usize; BUCKETS]> {
    let mut histograms = vec![[0usize; BUCKETS]; PASSES];
    for &v in values {
        for (pass, counts) in histograms.iter_mut().enumerate() {
            counts[digit(v, pass as u32 * DIGIT_BITS)] += 1;
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
    fn all_equal_and_already_sorted_inputs() {
        check_against_std(vec![3.25; 10_000]);
        check_against_std((0..10_000).map(f64::from).collect());
        check_against_std((0..10_000).rev().map(f64::from).collect());
        check_against_std(vec![0.0, f64::MAX, f64::MIN_POSITIVE, 5e-324].repeat(2_000));
    }
}
