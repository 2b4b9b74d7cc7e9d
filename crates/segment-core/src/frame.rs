//! Telling a running window frame from a plain aggregate.
//!
//! `gini(x) OVER (ORDER BY t)` feeds one state row by row and calls the final function after
//! each row. Our final functions sort or merge the whole state, so that would cost O(n) or
//! O(n log n) per row: quadratic. A plain aggregate, or `OVER ()` / `OVER (PARTITION BY ...)`,
//! calls the final function only once the state is complete (maybe several times, unchanged).
//! A state that grew after a final call is in a growing frame: the SQL layer refuses it when
//! the frame starts at the partition's start (a running frame), and lets a sliding frame
//! (`ROWS BETWEEN 2 PRECEDING AND CURRENT ROW`) be, whose states PostgreSQL rebuilds per row.

/// Remembers how many rows a state held when a final function last read it.
#[derive(Clone, Copy, Debug, Default)]
pub struct FinalReads {
    rows_at_last_final: Option<u64>,
}

impl FinalReads {
    /// Records a final call on a state of `rows` rows: whether it grew since the last one.
    pub fn grew(&mut self, rows: u64) -> bool {
        let grew = self.rows_at_last_final.is_some_and(|before| before != rows);
        self.rows_at_last_final = Some(rows);
        grew
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_between_final_calls_is_told() {
        let mut reads = FinalReads::default();
        assert!(!reads.grew(3));
        assert!(!reads.grew(3), "several final functions on one state");
        assert!(reads.grew(4));
        assert!(!reads.grew(4));
    }
}
