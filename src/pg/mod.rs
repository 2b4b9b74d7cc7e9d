//! Every contact with PostgreSQL's C interface, and so every `unsafe` block of the extension:
//! the call and its typed arguments, aggregate states in the right memory context, the
//! window-function API, new values, set-returning functions, errors. The family modules build
//! on these and hold no `unsafe` code of their own.

pub mod aggregate;
mod call;
pub mod datum;
pub mod errors;
pub mod srf;
pub mod window;

pub use call::Call;

/// Runs once when PostgreSQL loads the library: lets the core crate's long loops (sorts of
/// millions of values) honour a query cancel or `statement_timeout`.
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    segment_core::interrupt::install(aggregate::check_for_interrupts);
}
