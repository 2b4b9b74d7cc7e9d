//! The SQL surface of customer value. Translation only; the arithmetic is in
//! `segment_core::value`.

use crate::pg::errors;
use pgrx::prelude::*;
use segment_core::validate;
use segment_core::value::simple::{clv_finite, clv_infinite, BadRate};

pgrx::extension_sql_file!("value.sql", name = "value", requires = ["rfm_one_pass"]);

const HINT: &str = "clv_simple(margin, retention, discount [, periods]): retention in [0, 1), discount > -1, both per period, e.g. clv_simple(100, 0.8, 0.1).";

/// The rates, checked for NULL; None for a NULL margin (a customer without one has no value).
fn arguments(
    margin: Option<f64>,
    retention: Option<f64>,
    discount: Option<f64>,
) -> Option<(f64, f64, f64)> {
    let retention =
        retention.unwrap_or_else(|| errors::null_parameter("clv_simple", "retention", HINT));
    let discount =
        discount.unwrap_or_else(|| errors::null_parameter("clv_simple", "discount", HINT));
    let margin =
        validate::finite(margin?).unwrap_or_else(|bad| errors::bad_value("clv_simple", bad));
    Some((margin, retention, discount))
}

fn checked(value: Result<f64, BadRate>) -> f64 {
    value.unwrap_or_else(|bad| match bad {
        BadRate::Retention(r) => errors::parameter_out_of_range("clv_simple", "retention", r, "[0, 1)", HINT),
        BadRate::Discount(d) => errors::parameter_out_of_range("clv_simple", "discount", d, "(-1, infinity)", HINT),
        BadRate::Diverges => errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "clv_simple: retention >= 1 + discount, so the margins over an infinite horizon add up without bound".into(),
            Some("Give a finite horizon: clv_simple(margin, retention, discount, periods).".into()),
        ),
    })
}

#[pg_extern(sql = false)]
fn clv_simple(margin: Option<f64>, retention: Option<f64>, discount: Option<f64>) -> Option<f64> {
    let (margin, retention, discount) = arguments(margin, retention, discount)?;
    Some(checked(clv_infinite(margin, retention, discount)))
}

#[pg_extern(sql = false)]
fn clv_simple_periods(
    margin: Option<f64>,
    retention: Option<f64>,
    discount: Option<f64>,
    periods: Option<i32>,
) -> Option<f64> {
    let periods = match periods {
        None => errors::null_parameter("clv_simple", "periods", HINT),
        Some(p) if p < 0 => {
            errors::parameter_out_of_range("clv_simple", "periods", p, "[0, 2147483647]", HINT)
        }
        Some(p) => p as u32,
    };
    let (margin, retention, discount) = arguments(margin, retention, discount)?;
    Some(checked(clv_finite(margin, retention, discount, periods)))
}
