//! The SQL surface of ABC classification: window functions over a partition.
//! Translation only; the arithmetic is in `classes`.

use super::classes::{self, AbcClass};
use super::computed::{class_sizes, computed_limits, CurvePoint, LimitsCollector};
use crate::aggregate::{
    check_for_interrupts, new_state, new_varlena, state_mut, transition_state, unchanged_state,
    value_arg,
};
use crate::errors;
use crate::v1_function_info;
use crate::validate;
use crate::window::Window;
use pgrx::prelude::*;
use pgrx::{Internal, IntoDatum, JsonB};
use serde_json::json;

pgrx::extension_sql_file!("abc.sql", name = "abc", requires = ["concentration"]);

/// Every row's value, checked: NaN and infinities are errors, NULLs stay None.
fn checked_values(window: &Window, rows: usize) -> Vec<Option<f64>> {
    window
        .partition_f64s(0, rows)
        .into_iter()
        .map(|v| {
            v.map(|x| {
                validate::finite(x).unwrap_or_else(|bad| errors::bad_value(window.function(), bad))
            })
        })
        .collect()
}

/// A parameter, read on the partition's first row (it must be the same for all, like ntile's).
fn parameter(window: &Window, argno: i32, name: &str, hint: &str) -> f64 {
    match window.current_f64(argno) {
        None => errors::null_parameter(window.function(), name, hint),
        Some(v) => v,
    }
}

fn out_of_range(window: &Window, name: &str, value: f64, allowed: &str, hint: &str) -> ! {
    errors::parameter_out_of_range(window.function(), name, value, allowed, hint)
}

/// Class codes per row: 0 for NULL, else the `AbcClass` discriminant.
fn encoded(classes: Vec<Option<AbcClass>>) -> Vec<u8> {
    classes
        .into_iter()
        .map(|c| c.map_or(0, |c| c as u8))
        .collect()
}

unsafe fn class_datum(fcinfo: pg_sys::FunctionCallInfo, code: u8) -> pg_sys::Datum {
    let class = [AbcClass::A, AbcClass::B, AbcClass::C, AbcClass::D]
        .into_iter()
        .find(|&c| c as u8 == code);
    match class.and_then(|c| c.letter().into_datum()) {
        Some(datum) => datum,
        None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
    }
}

const ABC_CLASS_HINT: &str = "abc_class(value, a => 0.8, b => 0.95): A until 80 % of the total, B until 95 %, 0 < a < b <= 1.";

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn abc_class(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let window = unsafe { Window::of(fcinfo, "abc_class") };
    let code = window.answer(|rows| {
        let a = parameter(&window, 1, "a", ABC_CLASS_HINT);
        let b = parameter(&window, 2, "b", ABC_CLASS_HINT);
        if !(a > 0.0 && a < 1.0) {
            out_of_range(&window, "a", a, "(0, 1)", ABC_CLASS_HINT);
        }
        if !(b > a && b <= 1.0) {
            out_of_range(
                &window,
                "b",
                b,
                &format!("(a, 1] = ({a}, 1]"),
                ABC_CLASS_HINT,
            );
        }
        encoded(classes::by_value(&checked_values(&window, rows), a, b))
    });
    unsafe { class_datum(fcinfo, code) }
}
v1_function_info!(pg_finfo_abc_class);

const BY_RANK_HINT: &str = "abc_class_by_rank(value, a => 0.2, c => 0.2): the best 20 % are A, the worst 20 % C; a in (0, 1), c in [0, 1), a + c <= 1.";

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn abc_class_by_rank(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let window = unsafe { Window::of(fcinfo, "abc_class_by_rank") };
    let code = window.answer(|rows| {
        let a = parameter(&window, 1, "a", BY_RANK_HINT);
        let c = parameter(&window, 2, "c", BY_RANK_HINT);
        if !(a > 0.0 && a < 1.0) {
            out_of_range(&window, "a", a, "(0, 1)", BY_RANK_HINT);
        }
        if !((0.0..1.0).contains(&c) && a + c <= 1.0) {
            out_of_range(
                &window,
                "c",
                c,
                &format!("[0, 1 - a] = [0, {}]", 1.0 - a),
                BY_RANK_HINT,
            );
        }
        encoded(classes::by_rank(&checked_values(&window, rows), a, c))
    });
    unsafe { class_datum(fcinfo, code) }
}
v1_function_info!(pg_finfo_abc_class_by_rank);

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn cumulative_share(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let window = unsafe { Window::of(fcinfo, "cumulative_share") };
    let share = window.answer(|rows| classes::cumulative_shares(&checked_values(&window, rows)));
    match share {
        Some(share) => share.into_datum().expect("a float8 datum"),
        None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
    }
}
v1_function_info!(pg_finfo_cumulative_share);

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn abc_class_computed(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let window = unsafe { Window::of(fcinfo, "abc_class_computed") };
    let code =
        window.answer(|rows| encoded(classes::by_computed_limits(&checked_values(&window, rows))));
    unsafe { class_datum(fcinfo, code) }
}
v1_function_info!(pg_finfo_abc_class_computed);

// ---------------------------------------------------------------------------------------------
// abc_limits(value): the computed limits as jsonb, a parallel-safe aggregate.

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn abc_limits_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let Some(x) = value_arg(fcinfo, 1) else {
            return unchanged_state(fcinfo);
        };
        let x = validate::finite(x).unwrap_or_else(|bad| errors::bad_value("abc_limits", bad));
        let (state, collector) = transition_state::<LimitsCollector>(fcinfo);
        collector.push(x);
        state
    }
}
v1_function_info!(pg_finfo_abc_limits_trans);

#[pg_extern(sql = false)]
fn abc_limits_combine(
    mut first: Internal,
    mut second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    if let Some(second) = unsafe { second.get_mut::<LimitsCollector>() } {
        unsafe { state_mut::<LimitsCollector>(&mut first, fcinfo) }.merge(second);
    }
    first
}

/// (STRICT: the state is not NULL.) Sorts in the worker, like the concentration aggregates.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn abc_limits_serialize(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let collector = unsafe {
        &mut *pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<LimitsCollector>()
    };
    collector.non_negative.sorted(&mut check_for_interrupts);
    new_varlena(collector.serialized_len(), |out| collector.write_to(out))
}
v1_function_info!(pg_finfo_abc_limits_serialize);

#[pg_extern(sql = false)]
fn abc_limits_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    unsafe { new_state(LimitsCollector::from_bytes(bytes), fcinfo) }
}

#[pg_extern(sql = false)]
fn abc_limits_final(mut state: Internal) -> Option<JsonB> {
    let collector = unsafe { state.get_mut::<LimitsCollector>() }?;
    let negatives = collector.negatives as usize;
    let ascending = collector.non_negative.sorted(&mut check_for_interrupts);
    if ascending.is_empty() && negatives == 0 {
        return None;
    }
    let limits = computed_limits(ascending);
    let [a, b, c] = class_sizes(ascending, limits.as_ref());
    let point =
        |p: CurvePoint| json!({ "items": p.items, "effort": p.effort, "yield": p.yield_share });
    Some(JsonB(json!({
        "n": ascending.len() + negatives,
        "a_count": a.0, "b_count": b.0, "c_count": c.0, "d_count": negatives,
        "a_min_value": a.1, "b_min_value": b.1,
        "pareto_point": limits.map(|l| point(l.pareto)),
        "break_even_point": limits.map(|l| point(l.break_even)),
        "submarginal_point": limits.map(|l| point(l.submarginal)),
    })))
}
