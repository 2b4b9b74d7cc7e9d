//! Plumbing for aggregates with an `internal` transition state held in Rust.
//!
//! The state lives on the Rust heap, owned by the aggregate's memory context: it is created in
//! that context and dropped by a reset callback when PostgreSQL resets or deletes the context,
//! so a GROUP BY with many groups, or an error half-way, leaks nothing.

use pgrx::prelude::*;
use pgrx::{Internal, PgMemoryContexts};
use std::ffi::CStr;

/// The state behind `state`, created empty in the aggregate's memory context on first use.
///
/// # Safety
/// `fcinfo` is the current call's, and `state` is NULL or was made by this function with the
/// same `T`.
pub unsafe fn state_mut<'s, T: Default>(
    state: &'s mut Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> &'s mut T {
    if !state.initialized() {
        *state = unsafe { new_state(T::default(), fcinfo) };
    }
    unsafe { state.get_mut::<T>() }.expect("initialized above")
}

/// Moves `value` into the aggregate's memory context as a new `internal` state.
///
/// # Safety
/// `fcinfo` is the current call's.
pub unsafe fn new_state<T>(value: T, fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    let mut context: pg_sys::MemoryContext = std::ptr::null_mut();
    if unsafe { pg_sys::AggCheckCallContext(fcinfo, &mut context) } == 0 {
        error!("rfm_segment: an aggregate support function was called outside an aggregate");
    }
    let owned = PgMemoryContexts::For(context).leak_and_drop_on_delete(value);
    Internal::from(Some(pg_sys::Datum::from(owned)))
}

/// The name of the aggregate being computed, for error messages; `fallback` when PostgreSQL
/// does not say (an aggregate used as a window function).
pub fn aggregate_name(fcinfo: pg_sys::FunctionCallInfo, fallback: &str) -> String {
    unsafe {
        let aggref = pg_sys::AggGetAggref(fcinfo);
        if aggref.is_null() {
            return fallback.to_string();
        }
        let name = pg_sys::get_func_name((*aggref).aggfnoid);
        if name.is_null() {
            return fallback.to_string();
        }
        CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}

/// Lets a long pure-Rust loop honour a query cancel or `statement_timeout`.
pub fn check_for_interrupts() {
    pg_sys::check_for_interrupts!();
}
