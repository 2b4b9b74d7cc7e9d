//! rfm_segment: value-oriented customer segmentation inside PostgreSQL.
//!
//! The arithmetic lives in the `segment-core` crate (plain Rust, no PostgreSQL). Here: `pg`,
//! the one module that touches PostgreSQL's C interface, and one module per feature family
//! holding its SQL functions and their declarations.

pub mod abc;
pub mod concentration;
pub mod dynamics;
mod model;
mod pg;
pub mod rfm;
pub mod value;

::pgrx::pg_module_magic!();
