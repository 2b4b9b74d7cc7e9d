//! Letting the host cancel a long computation.
//!
//! A sort of a hundred million values takes seconds; PostgreSQL must be able to stop it within
//! a fraction of that when a query is cancelled or hits `statement_timeout`. The extension
//! installs its interrupt check here once (at load), and every long loop of this crate calls
//! `check()` between passes. The check may unwind (a PostgreSQL ERROR); the crate's code leaves
//! nothing half-done that outlives the unwinding.

use std::sync::OnceLock;

static CHECK: OnceLock<fn()> = OnceLock::new();

/// Installs the host's interrupt check; later calls are ignored.
pub fn install(check: fn()) {
    let _ = CHECK.set(check);
}

/// Runs the host's interrupt check, if any.
#[inline]
pub fn check() {
    if let Some(check) = CHECK.get() {
        check();
    }
}
