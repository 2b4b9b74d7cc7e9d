//! Telling a running window frame from a plain aggregate.
//!
//! `gini(x) OVER (ORDER BY t)` feeds one state row by row and calls the final function after
//! each row. Our final functions sort or merge the whole state, so that would cost O(n) or
//! O(n log n) per row: quadratic. A plain aggregate, or `OVER ()` / `OVER (PARTITION BY ...)`,
//! calls the final function only once the state is complete (maybe several times, unchanged).
//! So a state that grew after a final call is in a running frame, which the SQL layer refuses.

/// Remembers how many rows a state held when a final function last read it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FinalReads {
    rows_at_last_final: Option<u64>,
}

/// A state read by its final function, then grown by more rows, then read again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunningFrame;

impl FinalReads {
    /// Records a final call on a state of `rows` rows; Err if it grew since the last one.
    pub fn check(&mut self, rows: u64) -> Result<(), RunningFrame> {
        match self.rows_at_last_final {
            Some(before) if before != rows => Err(RunningFrame),
            _ => {
                self.rows_at_last_final = Some(rows);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_between_final_calls_is_a_running_frame() {
        let mut reads = FinalReads::default();
        assert_eq!(reads.check(3), Ok(()));
        assert_eq!(
            reads.check(3),
            Ok(()),
            "several final functions on one state"
        );
        assert_eq!(reads.check(4), Err(RunningFrame));
    }
}
