//! Concentration: how unequally a total (revenue, margin) is spread over units (customers).
//!
//! `measures` holds the arithmetic, `summary` the storable `concentration` value, and `sql` the
//! PostgreSQL aggregates and functions built on both.

pub mod measures;
