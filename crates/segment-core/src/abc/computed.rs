//! Computed ABC analysis (Ultsch & Lötsch 2015, "Computed ABC Analysis for Rational Selection of
//! Most Informative Variables in Multivariate Data", PLoS ONE 10(6): e0129767): class limits
//! read off the data's own ABC curve instead of fixed 80 / 95 % shares.
//!
//! Our reading of the method, on the curve's data points (no spline):
//! - The ABC curve: values sorted largest first, points (k/n, share of the total held by the k
//!   largest), k = 0..n. Negative values are not on it (they are class D); zeros are.
//! - Pareto point: the point closest to (0, 1), the ideal of all yield for no effort.
//! - Break-even point: where the curve's slope falls to 1. Item k's segment has slope
//!   n·x₍ₖ₎/Σx, so this is the last item whose value is at least the mean.
//! - The A/B limit is whichever of the two points has the smaller effort; the B/C limit is the
//!   sub-marginal point, the point closest to (effort of the other of the two, 1).
//! - Closest means smallest Euclidean distance, the first point on a tie.
//!
//! On the paper's SwissInhabitants data this gives exactly the three points that CalculatedABC.jl
//! (a published implementation) pins in its tests; its class sizes 642/434/1820 become
//! 642/435/1819 here, because two equal values straddle the B/C limit and ties share a class.
//! (The R package ABCanalysis reads the points off a spline through the curve instead.)

use super::class::AbcClass;
use crate::codec::{DecodeError, Reader};
use crate::frame::FinalReads;
use crate::sum::{share_scale, CompensatedSum};
use crate::values::ValueCollector;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    /// Number of items, largest first, up to this point.
    pub items: usize,
    /// items / n.
    pub effort: f64,
    /// Share of the total held by those items.
    pub yield_share: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComputedLimits {
    pub pareto: CurvePoint,
    pub break_even: CurvePoint,
    pub submarginal: CurvePoint,
    /// Items, largest first, up to the A/B limit and up to the B/C limit.
    pub ab_items: usize,
    pub bc_items: usize,
}

/// The limits for non-negative values sorted ascending; None without items or with a zero total.
pub fn computed_limits(ascending: &[f64]) -> Option<ComputedLimits> {
    let n = ascending.len();
    let scale = share_scale(ascending.last().copied().unwrap_or(0.0));
    let total = ascending
        .iter()
        .rev()
        .map(|x| x * scale)
        .collect::<CompensatedSum>()
        .value();
    if n == 0 || total <= 0.0 {
        return None;
    }
    let mut curve = Vec::with_capacity(n + 1);
    curve.push(CurvePoint {
        items: 0,
        effort: 0.0,
        yield_share: 0.0,
    });
    let mut running = CompensatedSum::default();
    for (k, &x) in ascending.iter().rev().enumerate() {
        running.add(x * scale);
        let yield_share = if k + 1 == n {
            1.0
        } else {
            running.value() / total
        };
        curve.push(CurvePoint {
            items: k + 1,
            effort: (k + 1) as f64 / n as f64,
            yield_share,
        });
    }
    let closest_to = |effort: f64, yield_share: f64| -> CurvePoint {
        let distance =
            |p: &CurvePoint| (p.effort - effort).powi(2) + (p.yield_share - yield_share).powi(2);
        *curve
            .iter()
            .min_by(|p, q| distance(p).total_cmp(&distance(q)))
            .expect("the curve has points")
    };
    let pareto = closest_to(0.0, 1.0);
    // Values at least the mean: x·n >= total, without dividing.
    let above_mean = ascending
        .iter()
        .rev()
        .take_while(|&&x| x * scale * n as f64 >= total)
        .count();
    let break_even = curve[above_mean];
    let (first, second) = if break_even.items < pareto.items {
        (break_even, pareto)
    } else {
        (pareto, break_even)
    };
    let submarginal = closest_to(second.effort, 1.0);
    Some(ComputedLimits {
        pareto,
        break_even,
        submarginal,
        ab_items: first.items,
        bc_items: submarginal.items.max(first.items),
    })
}

/// The class of a non-negative value with `above` non-negative values ranked above it (its
/// group of ties ranks as its first member, so ties share a class).
pub fn class_of(above: usize, limits: Option<&ComputedLimits>) -> AbcClass {
    match limits {
        Some(limits) if above < limits.ab_items => AbcClass::A,
        Some(limits) if above < limits.bc_items => AbcClass::B,
        _ => AbcClass::C,
    }
}

/// For each of A, B, C: how many values, and the smallest of them (None for an empty class).
pub fn class_sizes(
    ascending: &[f64],
    limits: Option<&ComputedLimits>,
) -> [(usize, Option<f64>); 3] {
    let mut sizes = [(0, None); 3];
    let mut above = 0;
    let mut descending = ascending.iter().rev().peekable();
    while let Some(&x) = descending.next() {
        let mut ties = 1;
        while descending.next_if(|&&y| y == x).is_some() {
            ties += 1;
        }
        let slot = &mut sizes[class_of(above, limits) as usize - 1];
        slot.0 += ties;
        slot.1 = Some(x);
        above += ties;
    }
    sizes
}

/// The transition state of `abc_limits`: the non-negative values, and how many were negative.
#[derive(Debug, Default)]
pub struct LimitsCollector {
    pub non_negative: ValueCollector,
    pub negatives: u64,
    final_reads: FinalReads,
}

impl LimitsCollector {
    pub fn push(&mut self, x: f64) {
        if x < 0.0 {
            self.negatives += 1;
        } else {
            self.non_negative.push(x + 0.0);
        }
    }

    pub fn merge(&mut self, other: &mut LimitsCollector) {
        self.negatives += other.negatives;
        self.non_negative
            .merge(&mut other.non_negative)
            .expect("abc_limits has no fraction");
    }

    /// For a final function: whether values came since the last final call (see `frame`).
    pub fn grew_since_last_final(&mut self) -> bool {
        let rows = self.non_negative.len() as u64 + self.negatives;
        self.final_reads.grew(rows)
    }

    pub fn serialized_len(&self) -> usize {
        8 + self.non_negative.serialized_len()
    }

    pub fn write_to(&mut self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.negatives.to_le_bytes());
        self.non_negative.write_to(&mut out[8..]);
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<LimitsCollector, DecodeError> {
        let mut reader = Reader::new(bytes, "abc_limits aggregate state");
        let negatives = reader.u64()?;
        let non_negative = ValueCollector::from_bytes(&bytes[8..])?;
        if non_negative.fraction().is_some() {
            return Err(reader.error("a fraction parameter in an abc_limits state"));
        }
        Ok(LimitsCollector {
            non_negative,
            negatives,
            final_reads: FinalReads::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_equal_steps() {
        // 1..10: mean 5.5, so five values (10, 9, 8, 7, 6) are at least the mean.
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let limits = computed_limits(&values).unwrap();
        assert_eq!(limits.break_even.items, 5);
        // The point closest to (0, 1) by hand: k = 4 gives 0.16 + (1 - 34/55)^2 = 0.3057,
        // k = 5 gives 0.25 + (1 - 40/55)^2 = 0.3244, k = 3 gives 0.09 + (1 - 27/55)^2 = 0.3490.
        assert_eq!(limits.pareto.items, 4);
        assert_eq!(limits.ab_items, 4);
        // Closest to (0.5, 1): k = 6 gives 0.01 + (1 - 45/55)^2 = 0.0431, k = 7: 0.04 + (1 - 49/55)^2 = 0.0519.
        assert_eq!(limits.submarginal.items, 6);
        assert_eq!(limits.bc_items, 6);
    }

    #[test]
    fn sizes_keep_ties_together() {
        let values: Vec<f64> = (1..=10).map(f64::from).collect();
        let limits = computed_limits(&values);
        assert_eq!(
            class_sizes(&values, limits.as_ref()),
            [(4, Some(7.0)), (2, Some(5.0)), (4, Some(1.0))]
        );
        assert_eq!(
            class_sizes(&[0.0, 0.0], None),
            [(0, None), (0, None), (2, Some(0.0))]
        );
    }

    #[test]
    fn limits_state_round_trip() {
        let mut state = LimitsCollector::default();
        [3.0, -1.0, 2.0, -0.5]
            .into_iter()
            .for_each(|x| state.push(x));
        let mut bytes = vec![0; state.serialized_len()];
        state.write_to(&mut bytes);
        let mut back = LimitsCollector::from_bytes(&bytes).unwrap();
        assert_eq!(back.negatives, 2);
        assert_eq!(back.non_negative.sorted(&mut || {}), &[2.0, 3.0]);
    }

    #[test]
    fn nothing_to_analyse() {
        assert_eq!(computed_limits(&[]), None);
        assert_eq!(computed_limits(&[0.0, 0.0]), None);
    }

    #[test]
    fn one_dominant_value() {
        let mut values = vec![1.0; 99];
        values.push(10_000.0);
        let limits = computed_limits(&values).unwrap();
        assert_eq!(limits.ab_items, 1);
        assert_eq!(limits.pareto.items, 1);
    }
}
