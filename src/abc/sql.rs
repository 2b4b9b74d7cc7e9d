//! The SQL surface of ABC classification: window functions over a partition.
//! Translation only; the arithmetic is in `classes`.

use crate::pg::aggregate::check_for_interrupts;
use crate::pg::datum::{self, new_varlena};
use crate::pg::window::Window;
use crate::pg::{errors, Call};
use crate::v1_function;
use pgrx::prelude::*;
use pgrx::{IntoDatum, JsonB};
use segment_core::abc::class::AbcClass;
use segment_core::abc::classes;
use segment_core::abc::computed::{class_sizes, computed_limits, CurvePoint, LimitsCollector};
use segment_core::validate;
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

fn class_datum(call: Call, code: u8) -> pg_sys::Datum {
    let class = [AbcClass::A, AbcClass::B, AbcClass::C, AbcClass::D]
        .into_iter()
        .find(|&c| c as u8 == code);
    match class {
        Some(class) => datum::text(class.letter()),
        None => call.null(),
    }
}

const ABC_CLASS_HINT: &str = "abc_class(value, a => 0.8, b => 0.95): A until 80 % of the total, B until 95 %, 0 < a < b <= 1.";

v1_function!(abc_class, pg_finfo_abc_class, |call| {
    let window = call.window("abc_class");
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
    class_datum(call, code)
});

const BY_RANK_HINT: &str = "abc_class_by_rank(value, a => 0.2, c => 0.2): the best 20 % are A, the worst 20 % C; a in (0, 1), c in [0, 1), a + c <= 1.";

v1_function!(abc_class_by_rank, pg_finfo_abc_class_by_rank, |call| {
    let window = call.window("abc_class_by_rank");
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
    class_datum(call, code)
});

v1_function!(cumulative_share, pg_finfo_cumulative_share, |call| {
    let window = call.window("cumulative_share");
    let share = window.answer(|rows| classes::cumulative_shares(&checked_values(&window, rows)));
    match share {
        Some(share) => share.into_datum().expect("a float8 datum"),
        None => call.null(),
    }
});

v1_function!(abc_class_computed, pg_finfo_abc_class_computed, |call| {
    let window = call.window("abc_class_computed");
    let code =
        window.answer(|rows| encoded(classes::by_computed_limits(&checked_values(&window, rows))));
    class_datum(call, code)
});

// ---------------------------------------------------------------------------------------------
// abc_limits(value): the computed limits as jsonb, a parallel-safe aggregate.

v1_function!(abc_limits_trans, pg_finfo_abc_limits_trans, |call| {
    let Some(x) = call.f64(1) else {
        return call.unchanged_state();
    };
    let x = validate::finite(x).unwrap_or_else(|bad| errors::bad_value("abc_limits", bad));
    let (state, collector) = call.transition_state::<LimitsCollector>();
    collector.push(x);
    state
});

// The support functions' symbols keep the names pgrx gave them in 0.1.0 (`_wrapper`), which
// its install script refers to.

v1_function!(
    abc_limits_combine_wrapper,
    pg_finfo_abc_limits_combine_wrapper,
    |call| { call.combine::<LimitsCollector>(|first, second| first.merge(second)) }
);

// (STRICT: the state is not NULL.) Sorts in the worker, like the concentration aggregates.
v1_function!(
    abc_limits_serialize,
    pg_finfo_abc_limits_serialize,
    |call| {
        let collector = call.state::<LimitsCollector>(0).expect("STRICT");
        collector.non_negative.sorted(&mut check_for_interrupts);
        new_varlena("abc_limits", collector.serialized_len(), |out| {
            collector.write_to(out)
        })
    }
);

v1_function!(
    abc_limits_deserialize_wrapper,
    pg_finfo_abc_limits_deserialize_wrapper,
    |call| { call.deserialize_state(LimitsCollector::from_bytes) }
);

v1_function!(
    abc_limits_final_wrapper,
    pg_finfo_abc_limits_final_wrapper,
    |call| {
        let collector = call.state::<LimitsCollector>(0).expect("STRICT");
        let negatives = collector.negatives as usize;
        call.refuse_running_frame("abc_limits", collector.grew_since_last_final());
        let ascending = collector.non_negative.sorted(&mut check_for_interrupts);
        if ascending.is_empty() && negatives == 0 {
            return call.null();
        }
        let limits = computed_limits(ascending);
        let [a, b, c] = class_sizes(ascending, limits.as_ref());
        let point =
            |p: CurvePoint| json!({ "items": p.items, "effort": p.effort, "yield": p.yield_share });
        JsonB(json!({
            "n": ascending.len() + negatives,
            "a_count": a.0, "b_count": b.0, "c_count": c.0, "d_count": negatives,
            "a_min_value": a.1, "b_min_value": b.1,
            "pareto_point": limits.map(|l| point(l.pareto)),
            "break_even_point": limits.map(|l| point(l.break_even)),
            "submarginal_point": limits.map(|l| point(l.submarginal)),
        }))
        .into_datum()
        .expect("a jsonb datum")
    }
);
