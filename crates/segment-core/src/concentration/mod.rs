//! Concentration: how unequally a total (revenue, margin) is spread over units (customers).
//!
//! `measures` holds the arithmetic and `summary` the storable `concentration` value; the
//! aggregates' transition state is the shared `crate::values::ValueCollector`.

pub mod measures;
pub mod report;
pub mod summary;
