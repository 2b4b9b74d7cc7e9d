//! Concentration: how unequally a total (revenue, margin) is spread over units (customers).
//!
//! `measures` holds the arithmetic, `collector` the aggregates' transition state, `summary` the
//! storable `concentration` value, and `sql` the PostgreSQL surface built on them.

pub mod collector;
pub mod measures;
mod sql;
pub mod summary;
