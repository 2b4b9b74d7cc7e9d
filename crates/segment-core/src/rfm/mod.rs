//! RFM: recency, frequency and monetary scores per customer, and named segments.
//!
//! The window path: `scores` (ranks and ntiles), `breaks` (score edges learned once), `segments`
//! (named rules). The one-pass path, in the order data flows: `key` and `stats` (a customer and
//! its purchases), `batches` and `hashed` (counting orders), `collector` (the aggregate's
//! state), `summary` (its stored form), `edges` (scoring a summary).

pub mod batches;
pub mod breaks;
pub mod collector;
pub mod edges;
pub mod hashed;
pub mod key;
pub mod scores;
pub mod segments;
pub mod stats;
pub mod summary;
