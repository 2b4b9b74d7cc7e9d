//! ABC classification: which customers bring the revenue (or margin), per partition.
//!
//! `classes` and `computed` hold the arithmetic, `sql` the window functions and the
//! `abc_limits` aggregate.

pub mod classes;
pub mod computed;
mod sql;
