//! RFM: recency, frequency and monetary scores per customer, and named segments.
//!
//! `scores` and `segments` hold the arithmetic, `sql` the window function and the functions.

pub mod breaks;
mod customers;
mod hashed;
mod one_pass_sql;
pub mod scores;
pub mod segments;
mod sql;
pub mod summary;
