//! segment-core: the arithmetic of rfm_segment, in plain Rust that knows nothing of PostgreSQL.
//!
//! Every algorithm the extension runs lives here, unit-tested with `cargo test -p segment-core`
//! on any machine: sorting and summing, the concentration measures, ABC classes, RFM scores and
//! the one-pass customer collectors, and the codec of every stored value. The extension's SQL
//! layer reads arguments, calls into this crate and writes results.
//!
//! Modules depend downwards only: `sort`, `sum`, `codec`, `validate`, `decimal`, `special` (functions of
//! mathematics), `optimize` (maximum likelihood) at the bottom, `values` and `model` (fitted
//! models as stored values) above them, the feature families (`concentration`, `abc`, `rfm`,
//! `value`, `dynamics`) on top, none reaching into another.

pub mod abc;
pub mod codec;
pub mod concentration;
pub mod decimal;
pub mod dynamics;
pub mod frame;
pub mod interrupt;
pub mod model;
pub mod optimize;
pub mod rfm;
pub mod sort;
pub mod special;
pub mod sum;
pub mod validate;
pub mod value;
pub mod values;
