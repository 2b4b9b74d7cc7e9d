//! rfm_segment: value-oriented customer segmentation inside PostgreSQL.
//!
//! Each feature family is a module: its arithmetic in plain Rust (unit-tested with `cargo test`),
//! its SQL surface in a `sql` submodule that does nothing but translate to and from PostgreSQL.

pub mod abc;
mod aggregate;
pub mod bytes;
pub mod compensated;
pub mod concentration;
mod errors;
pub mod rfm;
pub mod sort;
pub mod validate;
mod window;

::pgrx::pg_module_magic!();
