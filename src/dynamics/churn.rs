//! `churn_rate(churned)` and `value_churn_rate(churned, value)`: rates with their 95 %
//! intervals, for GROUP BY segment.

use crate::pg::{errors, Call};
use crate::v1_function;
use pgrx::pg_sys::Datum;
use segment_core::dynamics::churn::{ChurnCounts, Estimate, ValueChurn};
use segment_core::validate;

const CHURN_HINT: &str = "churn_rate(churned): one row per customer, churned true or false; use coalesce(churned, false) if NULL means kept.";
const VALUE_HINT: &str = "value_churn_rate(churned, value): one row per customer, value >= 0 (revenue or CLV); use coalesce(value, 0) if NULL means none.";

/// The churn flag of argument 1: NULL is an error, not a skipped customer (a customer of
/// unknown fate would bias the rate silently).
fn churned(call: Call, function: &str, hint: &str) -> bool {
    call.bool(1)
        .unwrap_or_else(|| errors::null_parameter(function, "churned", hint))
}

/// The `churn_estimate` composite: rate, low, high, customers, churned; NULL without an estimate.
fn estimate(call: Call, estimate: Option<Estimate>, counts: ChurnCounts) -> Datum {
    let Some(e) = estimate else {
        return call.null();
    };
    let float = |x: f64| Some(Datum::from(x.to_bits()));
    let count = |n: u64| {
        Some(Datum::from(
            i64::try_from(n).expect("counted rows fit a bigint"),
        ))
    };
    call.composite(&[
        float(e.rate),
        float(e.low),
        float(e.high),
        count(counts.customers),
        count(counts.churned),
    ])
}

v1_function!(churn_rate_trans, pg_finfo_churn_rate_trans, |call| {
    let churned = churned(call, "churn_rate", CHURN_HINT);
    let (state, counts) = call.transition_state::<ChurnCounts>();
    counts.add(churned);
    state
});
v1_function!(churn_rate_combine, pg_finfo_churn_rate_combine, |call| {
    call.combine::<ChurnCounts>(|first, second| first.merge(second))
});
v1_function!(
    churn_rate_serialize,
    pg_finfo_churn_rate_serialize,
    |call| { call.serialize_state::<ChurnCounts>("churn_rate") }
);
v1_function!(
    churn_rate_deserialize,
    pg_finfo_churn_rate_deserialize,
    |call| { call.deserialize_state(ChurnCounts::from_bytes) }
);
v1_function!(churn_rate_final, pg_finfo_churn_rate_final, |call| {
    let counts = *call.state::<ChurnCounts>(0).expect("STRICT");
    estimate(call, counts.estimate(), counts)
});

v1_function!(
    value_churn_rate_trans,
    pg_finfo_value_churn_rate_trans,
    |call| {
        let churned = churned(call, "value_churn_rate", VALUE_HINT);
        let value = call
            .f64(2)
            .unwrap_or_else(|| errors::null_parameter("value_churn_rate", "value", VALUE_HINT));
        let value = validate::finite(value)
            .unwrap_or_else(|bad| errors::bad_value("value_churn_rate", bad));
        if value < 0.0 {
            errors::parameter_out_of_range(
                "value_churn_rate",
                "value",
                value,
                "[0, infinity)",
                VALUE_HINT,
            );
        }
        let (state, values) = call.transition_state::<ValueChurn>();
        values.add(churned, value);
        state
    }
);
v1_function!(
    value_churn_rate_combine,
    pg_finfo_value_churn_rate_combine,
    |call| { call.combine::<ValueChurn>(|first, second| first.merge(second)) }
);
v1_function!(
    value_churn_rate_serialize,
    pg_finfo_value_churn_rate_serialize,
    |call| { call.serialize_state::<ValueChurn>("value_churn_rate") }
);
v1_function!(
    value_churn_rate_deserialize,
    pg_finfo_value_churn_rate_deserialize,
    |call| { call.deserialize_state(ValueChurn::from_bytes) }
);
v1_function!(
    value_churn_rate_final,
    pg_finfo_value_churn_rate_final,
    |call| {
        let values = *call.state::<ValueChurn>(0).expect("STRICT");
        estimate(call, values.estimate(), values.counts)
    }
);
