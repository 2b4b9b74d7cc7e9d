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
pub unsafe fn state_mut<T: Default>(
    state: &mut Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> &mut T {
    if !state.initialized() {
        *state = unsafe { new_state(T::default(), fcinfo) };
    }
    unsafe { state.get_mut::<T>() }.expect("initialized above")
}

/// For a hand-written V1 transition function: the state datum (argument 0, created empty in the
/// aggregate's context when NULL) and the state behind it.
///
/// # Safety
/// `fcinfo` is the current call's and argument 0 is NULL or a state of type `T` made here.
pub unsafe fn transition_state<'s, T: Default>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> (pg_sys::Datum, &'s mut T) {
    unsafe {
        let datum = if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            new_state(T::default(), fcinfo)
                .unwrap()
                .expect("a new state is not NULL")
        } else {
            pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)
        };
        (datum, &mut *datum.cast_mut_ptr::<T>())
    }
}

/// Returns argument 0, the state, as it came (NULL stays NULL).
///
/// # Safety
/// `fcinfo` is the current call's.
pub unsafe fn unchanged_state(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            pgrx::fcinfo::pg_return_null(fcinfo)
        } else {
            pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0)
        }
    }
}

/// A `double precision` argument of a V1 function, None when NULL.
///
/// # Safety
/// Argument `index` of the current call is a float8.
#[inline]
pub unsafe fn value_arg(fcinfo: pg_sys::FunctionCallInfo, index: usize) -> Option<f64> {
    unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, index) {
            None
        } else {
            Some(f64::from_bits(
                pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, index).value() as u64,
            ))
        }
    }
}

/// Declares a hand-written function `f` as version-1 calling convention, like C's
/// PG_FUNCTION_INFO_V1(f): `v1_function_info!(pg_finfo_f);`.
#[macro_export]
macro_rules! v1_function_info {
    ($finfo:ident) => {
        #[no_mangle]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1: ::pgrx::pg_sys::Pg_finfo_record =
                ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
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

/// A new varlena (bytea-like) datum of `len` payload bytes in the current memory context,
/// filled in place by `fill`: large results are written once, not built and then copied.
pub fn new_varlena(len: usize, fill: impl FnOnce(&mut [u8])) -> pg_sys::Datum {
    let total = len + pg_sys::VARHDRSZ;
    unsafe {
        let varlena = pg_sys::palloc(total) as *mut pg_sys::varlena;
        pgrx::set_varsize_4b(varlena, total as i32);
        let payload = (varlena as *mut u8).add(pg_sys::VARHDRSZ);
        fill(std::slice::from_raw_parts_mut(payload, len));
        pg_sys::Datum::from(varlena)
    }
}

/// Lets a long pure-Rust loop honour a query cancel or `statement_timeout`.
pub fn check_for_interrupts() {
    pg_sys::check_for_interrupts!();
}
