//! Compensated (Neumaier) summation.
//!
//! The concentration measures divide sums of millions of values by each other; a plain running
//! sum loses about log2(n) bits. Neumaier's variant of Kahan summation keeps the error at a few
//! ulps whatever n, so the results agree with numpy's pairwise sums to 1e-12 and better.

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    #[inline]
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }

    #[inline]
    pub fn value(&self) -> f64 {
        self.sum + self.compensation
    }

    /// The running sum and the error it has not absorbed yet, to store a sum and resume it.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn compensation(&self) -> f64 {
        self.compensation
    }

    pub fn from_parts(sum: f64, compensation: f64) -> Self {
        CompensatedSum { sum, compensation }
    }
}

/// Values up to this are summed unscaled: a sum of up to 2^28 of them, each weighted by up
/// to 2^28 (a Gini's rank weights), stays below 2^1024.
const LARGEST_UNSCALED: f64 = 1e280;

/// 1, or for values up to `largest` (in magnitude) beyond `LARGEST_UNSCALED`, the power of two
/// that brings `largest` into [1, 2). Shares and ratios are unchanged by a common scale, and
/// scaling by a power of two is exact, so values near the largest double (1.8e308) give the
/// right shares where their plain sum would overflow.
pub fn share_scale(largest: f64) -> f64 {
    if largest.abs() > LARGEST_UNSCALED {
        // log2 of the largest doubles rounds up to 1024, whose power would overflow: 1023 is
        // the exponent of every double above 2^1023.
        let exponent = (largest.abs().log2().floor() as i32).min(1023);
        2f64.powi(-exponent)
    } else {
        1.0
    }
}

/// Lanes of `sum_of`: independent running sums break the add-latency chain of one accumulator,
/// which made a single compensated sum three times slower than memory could feed it.
const LANES: usize = 4;

/// The compensated sum of `f(i, x)` over a slice, with a fixed lane per index, so the result
/// depends only on the slice, never on timing or threads. (`LaneSum` repeats the lane of each
/// index for values that come one at a time: change both together.)
pub fn sum_of(values: &[f64], f: impl Fn(usize, f64) -> f64) -> f64 {
    let mut lanes = [CompensatedSum::default(); LANES];
    let whole = values.len() / LANES * LANES;
    for (chunk_index, chunk) in values[..whole].chunks_exact(LANES).enumerate() {
        for (lane, (&x, sum)) in chunk.iter().zip(lanes.iter_mut()).enumerate() {
            sum.add(f(chunk_index * LANES + lane, x));
        }
    }
    for (i, &x) in values.iter().enumerate().skip(whole) {
        lanes[0].add(f(i, x));
    }
    lanes_total(lanes)
}

/// The lanes of `sum_of` added up, in lane order.
fn lanes_total(lanes: [CompensatedSum; LANES]) -> f64 {
    let mut total = CompensatedSum::default();
    for lane in lanes {
        total.add(lane.sum);
        total.add(lane.compensation);
    }
    total.value()
}

/// `sum_of` fed one value at a time, for values that are never in one slice (sorted runs
/// merged on the fly): the i-th of `n` values goes to the lane `sum_of` gives index i, so the
/// two agree to the bit.
pub struct LaneSum {
    lanes: [CompensatedSum; LANES],
    /// Values below this index fill whole rounds of the lanes; the rest go to lane 0.
    whole: usize,
    /// The index of the next value.
    index: usize,
    /// How many values the sum is of: another count would put values in other lanes.
    n: usize,
}

impl LaneSum {
    pub fn new(n: usize) -> Self {
        LaneSum {
            lanes: [CompensatedSum::default(); LANES],
            whole: n / LANES * LANES,
            index: 0,
            n,
        }
    }

    #[inline]
    pub fn add(&mut self, x: f64) {
        let lane = if self.index < self.whole {
            self.index % LANES
        } else {
            0
        };
        self.lanes[lane].add(x);
        self.index += 1;
    }

    pub fn value(self) -> f64 {
        debug_assert_eq!(
            self.index, self.n,
            "a LaneSum gets the values it was made for"
        );
        lanes_total(self.lanes)
    }
}

impl FromIterator<f64> for CompensatedSum {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut sum = CompensatedSum::default();
        iter.into_iter().for_each(|x| sum.add(x));
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_what_a_plain_sum_loses() {
        // 1 + 1e100 + 1 - 1e100 is 2; a naive left-to-right sum gives 0.
        let sum: CompensatedSum = [1.0, 1e100, 1.0, -1e100].into_iter().collect();
        assert_eq!(sum.value(), 2.0);
        let naive: f64 = [1.0, 1e100, 1.0, -1e100].iter().sum();
        assert_eq!(naive, 0.0);
    }

    #[test]
    fn lanes_sum_like_one_accumulator() {
        let values: Vec<f64> = (1..=1003).map(|i| 1.0 / i as f64).collect();
        let one: CompensatedSum = values.iter().copied().collect();
        assert!((sum_of(&values, |_, x| x) - one.value()).abs() < 1e-15);
        let weighted: CompensatedSum = values
            .iter()
            .enumerate()
            .map(|(i, x)| i as f64 * x)
            .collect();
        assert!((sum_of(&values, |i, x| i as f64 * x) - weighted.value()).abs() < 1e-12);
        assert_eq!(sum_of(&[], |_, x| x), 0.0);
    }

    #[test]
    fn sum_of_and_lane_sum_give_the_bits_of_their_lanes() {
        // Values of very different sizes, so that the lanes' rounding shows in the last bits;
        // weighted by their index, so that a wrong index shows too.
        let f = |i: usize, x: f64| (i + 1) as f64 * x;
        for n in [0, 1, 3, 4, 5, 1003] {
            let values: Vec<f64> = (1..=n)
                .map(|i| (i as f64).powi(7) / 3.0 + 1e-3 / i as f64)
                .collect();
            // The definition: value i in lane i % 4, those past the last whole round of the
            // lanes in lane 0, the lanes added up in order.
            let whole = n / 4 * 4;
            let mut lanes = [CompensatedSum::default(); 4];
            for (i, &x) in values.iter().enumerate() {
                lanes[if i < whole { i % 4 } else { 0 }].add(f(i, x));
            }
            let mut expected = CompensatedSum::default();
            for lane in lanes {
                expected.add(lane.sum());
                expected.add(lane.compensation());
            }
            assert_eq!(
                sum_of(&values, f).to_bits(),
                expected.value().to_bits(),
                "n = {n}"
            );
            let mut streamed = LaneSum::new(n);
            values
                .iter()
                .enumerate()
                .for_each(|(i, &x)| streamed.add(f(i, x)));
            assert_eq!(
                streamed.value().to_bits(),
                expected.value().to_bits(),
                "n = {n}"
            );
        }
    }

    #[test]
    fn a_million_tenths() {
        let sum: CompensatedSum = std::iter::repeat_n(0.1, 1_000_000).collect();
        assert!((sum.value() - 100_000.0).abs() < 1e-9);
    }
}
