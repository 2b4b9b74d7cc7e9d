//! `sbg_fit(period, survivors)` → `sbg_model`, and its survival, retention and DERL.

use crate::model::{fitted_model, model_in, model_out, receive, usable};
use crate::pg::{datum, errors};
use crate::v1_function;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::dynamics::sbg::{BadSurvivors, Sbg};
use std::ffi::{CStr, CString};

const FIT_HINT: &str = "sbg_fit(period, survivors): one row per period of a cohort, periods 0, 1, ..., T, survivors the customers still subscribed (never more than the period before).";

/// The rows (period, survivors) of the cohort.
#[derive(Default)]
struct Cohort(Vec<(i64, i64)>);

impl segment_core::codec::EncodedState for Cohort {
    fn encoded_len(&self) -> usize {
        segment_core::codec::records_len::<2>(self.0.len())
    }
    fn write_to(&self, out: &mut [u8]) {
        // Periods and counts are below 2^53 (checked when added): exact as doubles.
        let records = self.0.iter().map(|&(p, n)| [p as f64, n as f64]);
        segment_core::codec::write_records(out, 1, records);
    }
}

fn cohort_from_bytes(bytes: &[u8]) -> Result<Cohort, segment_core::codec::DecodeError> {
    let whole = |v: f64| (v.fract() == 0.0 && v.abs() < 2f64.powi(53)).then_some(v as i64);
    let rows = segment_core::codec::read_records(bytes, "sbg_fit state", 1, |[p, n]| {
        match (whole(p), whole(n)) {
            (Some(p), Some(n)) => Ok((p, n)),
            _ => Err("not whole numbers"),
        }
    })?;
    Ok(Cohort(rows))
}

v1_function!(sbg_fit_trans, pg_finfo_sbg_fit_trans, |call| {
    let period = call
        .i32(1)
        .unwrap_or_else(|| errors::null_parameter("sbg_fit", "period", FIT_HINT));
    let survivors = call
        .i64(2)
        .unwrap_or_else(|| errors::null_parameter("sbg_fit", "survivors", FIT_HINT));
    if survivors.unsigned_abs() >= 1 << 53 {
        errors::parameter_out_of_range("sbg_fit", "survivors", survivors, "[0, 2^53)", FIT_HINT);
    }
    let (state, cohort) = call.transition_state::<Cohort>();
    cohort.0.push((i64::from(period), survivors));
    state
});
v1_function!(sbg_fit_combine, pg_finfo_sbg_fit_combine, |call| {
    call.combine::<Cohort>(|first, second| first.0.append(&mut second.0))
});
v1_function!(sbg_fit_serialize, pg_finfo_sbg_fit_serialize, |call| {
    call.serialize_state::<Cohort>("sbg_fit")
});
v1_function!(sbg_fit_deserialize, pg_finfo_sbg_fit_deserialize, |call| {
    call.deserialize_state(cohort_from_bytes)
});
v1_function!(sbg_fit_final, pg_finfo_sbg_fit_final, |call| {
    let cohort = call.state::<Cohort>(0).expect("STRICT");
    let survivors = Sbg::survivors(&cohort.0).unwrap_or_else(|bad| {
        let why = match bad {
            BadSurvivors::Periods(p) => format!("period {p} is missing or repeated: the periods must be 0, 1, ..., T, each once"),
            BadSurvivors::Count(p, n) => format!("period {p} has {n} survivors: counts are >= 0, and the cohort (period 0) has at least one"),
            BadSurvivors::Grows(p, n, before) => format!("period {p} has {n} survivors, more than the {before} of the period before"),
            BadSurvivors::OnePeriod => "only period 0: a fit needs at least periods 0 and 1".into(),
        };
        errors::raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("sbg_fit: {why}"), Some(FIT_HINT.into()))
    });
    let fitted = Sbg::fit(&survivors);
    fitted_model(
        "sbg_fit",
        &fitted,
        fitted.iterations,
        "Check the survivors: a cohort where nobody or everybody leaves has no finite fit.",
    )
});

#[pg_extern(sql = false)]
fn sbg_model_in(input: &CStr) -> Vec<u8> {
    model_in::<Sbg>(input)
}
#[pg_extern(sql = false)]
fn sbg_model_out(bytes: &[u8]) -> CString {
    model_out::<Sbg>(bytes)
}
v1_function!(sbg_model_send, pg_finfo_sbg_model_send, |call| {
    datum::send(call, "sbg_model")
});
v1_function!(sbg_model_recv, pg_finfo_sbg_model_recv, |call| {
    receive::<Sbg>(call)
});

fn period(function: &str, t: i32, lowest: i32) -> u32 {
    if t < lowest {
        errors::parameter_out_of_range(
            function,
            "period",
            t,
            &format!("[{lowest}, 2147483647]"),
            "A period is a whole number of the cohort's periods since it started.",
        );
    }
    t as u32
}

#[pg_extern(sql = false)]
fn sbg_survival(model: &[u8], t: i32) -> f64 {
    usable::<Sbg>("sbg_survival", model).survival(period("sbg_survival", t, 0))
}

#[pg_extern(sql = false)]
fn sbg_retention(model: &[u8], t: i32) -> f64 {
    usable::<Sbg>("sbg_retention", model).retention(period("sbg_retention", t, 1))
}

#[pg_extern(sql = false)]
fn sbg_derl(model: &[u8], discount: f64, renewals: i32) -> f64 {
    const HINT: &str = "sbg_derl(model, discount, renewals): discount > 0 per period (0 only when alpha > 1), renewals >= 0.";
    let model = usable::<Sbg>("sbg_derl", model);
    if !(discount >= 0.0 && discount.is_finite()) {
        errors::parameter_out_of_range("sbg_derl", "discount", discount, "[0, infinity)", HINT);
    }
    let renewals = u32::try_from(renewals).unwrap_or_else(|_| {
        errors::parameter_out_of_range("sbg_derl", "renewals", renewals, "[0, 2147483647]", HINT)
    });
    model.derl(discount, renewals).unwrap_or_else(|| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("sbg_derl: the expected lifetime is infinite or too long to sum at discount {discount} (alpha = {})", model.alpha),
            Some(HINT.into()),
        )
    })
}
