//! The SQL surface of customers' purchase histories for the models: `btyd_history` per
//! customer under GROUP BY, `btyd_histories` for all customers in one pass; the same numbers.

use crate::pg::{errors, Call};
use crate::v1_function;
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::validate;
use segment_core::value::histories::CustomerDays;
use segment_core::value::history::{Calibration, CalibrationMismatch, History, OrderDays};

/// The calibration (arguments `end` and `end + 1`), checked, the same on every row.
fn calibration(call: Call, function: &str, end: usize, hint: &str) -> Calibration {
    let unit_days = match call.interval(end + 1) {
        None => errors::null_parameter(function, "unit", hint),
        Some(unit) => interval_days(unit),
    };
    if unit_days <= 0.0 {
        errors::parameter_out_of_range(function, "unit", unit_days, "a positive interval", hint);
    }
    let end_day = match call.date(end) {
        None => errors::null_parameter(function, "calibration_end", hint),
        Some(day) if day == i32::MIN || day == i32::MAX => errors::raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("{function}: calibration_end must be a finite date"),
            Some(hint.into()),
        ),
        Some(day) => day,
    };
    Calibration { end_day, unit_days }
}

fn mismatch(
    function: &str,
    CalibrationMismatch(known, given): CalibrationMismatch,
    hint: &str,
) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("{function}: calibration_end and unit must be the same on every row, got {known:?} and {given:?}"),
        Some(hint.into()),
    )
}

/// The order's day (argument `index`), None when NULL (the order is skipped).
fn order_day(call: Call, function: &str, index: usize) -> Option<i32> {
    let day = call.date(index)?;
    if day == i32::MIN || day == i32::MAX {
        errors::raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!("{function}: an order on -infinity or infinity has no day"),
            Some("Leave such orders out with WHERE isfinite(order_date).".into()),
        );
    }
    Some(day)
}

/// The order's amount (argument `index`); a NULL amount is a purchase of unknown value, 0.
fn order_amount(call: Call, function: &str, index: usize) -> f64 {
    call.f64(index).map_or(0.0, |a| {
        validate::finite(a).unwrap_or_else(|bad| errors::bad_value(function, bad))
    })
}

fn float(x: f64) -> pg_sys::Datum {
    pg_sys::Datum::from(x.to_bits())
}

/// A history as the composite's (x, t_x, T, mean_spend).
fn history_values(h: &History) -> [Option<pg_sys::Datum>; 4] {
    [
        Some(float(h.x)),
        Some(float(h.t_x)),
        Some(float(h.big_t)),
        h.mean_spend.map(float),
    ]
}

// ---------------------------------------------------------------------------------------------
// btyd_history(order_date, amount, calibration_end, unit) -> btyd_history: a customer's
// (x, t_x, T, mean_spend) from their orders.

const HISTORY_HINT: &str = "btyd_history(order_date, amount, calibration_end => '1997-09-30', unit => '7 days'), per customer with GROUP BY customer_id; the same calibration_end and unit on every row.";

v1_function!(btyd_history_trans, pg_finfo_btyd_history_trans, |call| {
    let calibration = calibration(call, "btyd_history", 3, HISTORY_HINT);
    let (state, orders) = call.transition_state::<OrderDays>();
    if let Err(bad) = orders.set_calibration(calibration) {
        mismatch("btyd_history", bad, HISTORY_HINT);
    }
    let Some(day) = order_day(call, "btyd_history", 1) else {
        return state; // an order without a date is skipped
    };
    orders.add(day, order_amount(call, "btyd_history", 2));
    state
});

/// An interval in days, its months as 30 days.
pub(super) fn interval_days(unit: Interval) -> f64 {
    f64::from(unit.months()) * 30.0
        + f64::from(unit.days())
        + unit.micros() as f64 / 86_400_000_000.0
}

v1_function!(
    btyd_history_combine,
    pg_finfo_btyd_history_combine,
    |call| {
        call.combine::<OrderDays>(|first, second| {
            if let Err(bad) = first.merge(second) {
                mismatch("btyd_history", bad, HISTORY_HINT);
            }
        })
    }
);

v1_function!(
    btyd_history_serialize,
    pg_finfo_btyd_history_serialize,
    |call| { call.serialize_state::<OrderDays>("btyd_history") }
);

v1_function!(
    btyd_history_deserialize,
    pg_finfo_btyd_history_deserialize,
    |call| { call.deserialize_state(OrderDays::from_bytes) }
);

v1_function!(btyd_history_final, pg_finfo_btyd_history_final, |call| {
    let orders = call.state::<OrderDays>(0).expect("STRICT");
    let Some(history) = orders.history() else {
        return call.null(); // no purchase day up to the calibration end
    };
    call.composite(&history_values(&history))
});

// ---------------------------------------------------------------------------------------------
// btyd_histories(customer_id, order_date, amount, calibration_end, unit) -> btyd_customer[]:
// every customer's history in one pass.

const HISTORIES_HINT: &str = "SELECT h.* FROM unnest((SELECT btyd_histories(customer_id, order_date, amount, calibration_end => '1997-09-30', unit => '7 days') FROM orders)) AS h; the same calibration_end and unit on every row.";

v1_function!(
    btyd_histories_trans,
    pg_finfo_btyd_histories_trans,
    |call| {
        let calibration = calibration(call, "btyd_histories", 4, HISTORIES_HINT);
        let (state, days) = call.transition_state::<CustomerDays>();
        if let Err(bad) = days.set_calibration(calibration) {
            mismatch("btyd_histories", bad, HISTORIES_HINT);
        }
        let (Some(customer), Some(day)) = (call.i64(1), order_day(call, "btyd_histories", 2))
        else {
            return state; // an order without a customer or a date is skipped
        };
        days.add(customer, day, order_amount(call, "btyd_histories", 3));
        state
    }
);

v1_function!(
    btyd_histories_combine,
    pg_finfo_btyd_histories_combine,
    |call| {
        call.combine::<CustomerDays>(|first, second| {
            if let Err(bad) = first.merge(second) {
                mismatch("btyd_histories", bad, HISTORIES_HINT);
            }
        })
    }
);

v1_function!(
    btyd_histories_serialize,
    pg_finfo_btyd_histories_serialize,
    |call| {
        call.state::<CustomerDays>(0)
            .expect("STRICT")
            .prepare_to_encode();
        call.serialize_state::<CustomerDays>("btyd_histories")
    }
);

v1_function!(
    btyd_histories_deserialize,
    pg_finfo_btyd_histories_deserialize,
    |call| { call.deserialize_state(CustomerDays::from_bytes) }
);

v1_function!(
    btyd_histories_final,
    pg_finfo_btyd_histories_final,
    |call| {
        let histories = call.state::<CustomerDays>(0).expect("STRICT").histories();
        call.composite_array(histories.iter().map(|(customer, h)| {
            let [x, t_x, big_t, mean_spend] = history_values(h);
            [
                Some(pg_sys::Datum::from(*customer)),
                x,
                t_x,
                big_t,
                mean_spend,
            ]
        }))
    }
);
