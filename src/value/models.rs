//! The SQL surface of the buy-till-you-die models: `bgnbd_fit` and `gamma_gamma_fit`
//! aggregates building storable models, and the accessors that predict from them.

use super::histories::interval_days;
use crate::model::{fitted_model, model_in, model_out, receive, usable};
use crate::pg::datum;
use crate::pg::errors;
use crate::v1_function;
use pgrx::datum::Interval;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::value::bgnbd::BgNbd;
use segment_core::value::clv::{prospect_clv, ClvError, CustomerValuer};
use segment_core::value::gamma_gamma::{BadSpend, GammaGamma, NoFiniteMean, Spend, SpendCollector};
use segment_core::value::pareto_nbd::ParetoNbd;
use segment_core::value::triples::{self, BadTriple, Triples};
use std::ffi::{CStr, CString};

const TRIPLE_HINT: &str = "x is the number of repeat purchase days, t_x the age at the last of them and T the age at the end of the calibration, in one time unit: 0 <= t_x <= T, and t_x = 0 when x = 0.";

fn bad_triple(function: &str, why: BadTriple, (x, t_x, big_t): (f64, f64, f64)) -> ! {
    let what = match why {
        BadTriple::NotACount => "x, t_x and T must be finite and non-negative, x a whole number",
        BadTriple::Inconsistent => "t_x must be at most T, and 0 when x = 0",
    };
    errors::raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("{function}: customer (x = {x}, t_x = {t_x}, T = {big_t}): {what}"),
        Some(TRIPLE_HINT.into()),
    )
}

// ---------------------------------------------------------------------------------------------
// bgnbd_fit(x, t_x, T) -> bgnbd_model

v1_function!(btyd_fit_trans, pg_finfo_btyd_fit_trans, |call| {
    let (Some(x), Some(t_x), Some(big_t)) = (call.f64(1), call.f64(2), call.f64(3)) else {
        return call.unchanged_state(); // a customer with a NULL is skipped, like sum() skips
    };
    let (state, triples) = call.transition_state::<Triples>();
    if let Err(why) = triples.add(x, t_x, big_t) {
        let name = call.aggregate_name(&TRIPLE_AGGREGATES, "bgnbd_fit");
        bad_triple(&name, why, (x, t_x, big_t));
    }
    state
});

// bgnbd_fit(x, t_x, T, weight) and pareto_nbd_fit(...): a row of a histogram of triples stands for
// `weight` customers, so a distributed table ships (x, t_x, T, count(*)) per shard.
v1_function!(
    btyd_fit_weighted_trans,
    pg_finfo_btyd_fit_weighted_trans,
    |call| {
        let name = || call.aggregate_name(&TRIPLE_AGGREGATES, "bgnbd_fit");
        // As in the other weighted forms: a negative weight is an error even beside a NULL,
        // and a NULL anywhere skips the row.
        let weight = call.weight(4, &name());
        let (Some(x), Some(t_x), Some(big_t), Some(weight)) =
            (call.f64(1), call.f64(2), call.f64(3), weight)
        else {
            return call.unchanged_state();
        };
        if weight > MAX_EXACT_WEIGHT {
            errors::parameter_out_of_range(&name(), "weight", weight, "[0, 2^53]", WEIGHT_HINT);
        }
        let (state, triples) = call.transition_state::<Triples>();
        if let Err(why) = triples.add_weighted(x, t_x, big_t, weight) {
            bad_triple(&name(), why, (x, t_x, big_t));
        }
        state
    }
);

/// Weights are summed as doubles, exact up to 2^53 customers.
const MAX_EXACT_WEIGHT: u64 = 1 << 53;
const WEIGHT_HINT: &str =
    "The weight is how many customers share the row's (x, t_x, T), e.g. count(*) of a GROUP BY.";

/// The aggregates that share the (x, t_x, T) state and its support functions.
const TRIPLE_AGGREGATES: [&str; 2] = ["bgnbd_fit", "pareto_nbd_fit"];

v1_function!(btyd_fit_combine, pg_finfo_btyd_fit_combine, |call| {
    call.combine::<Triples>(|first, second| first.merge(second))
});

v1_function!(btyd_fit_serialize, pg_finfo_btyd_fit_serialize, |call| {
    call.serialize_state::<Triples>("bgnbd_fit or pareto_nbd_fit")
});

v1_function!(
    btyd_fit_deserialize,
    pg_finfo_btyd_fit_deserialize,
    |call| { call.deserialize_state(Triples::from_bytes) }
);

v1_function!(bgnbd_fit_final, pg_finfo_bgnbd_fit_final, |call| {
    let triples = call.state::<Triples>(0).expect("STRICT");
    if triples.customers() == 0.0 {
        return call.null();
    }
    refuse_without_repeat_purchases("bgnbd_fit", triples);
    let fitted = BgNbd::fit(triples);
    fitted_model("bgnbd_fit", &fitted, fitted.iterations, TRIPLES_ADVICE)
});

// pareto_nbd_fit(x, t_x, T) -> pareto_nbd_model: the same state as bgnbd_fit, another final.
v1_function!(
    pareto_nbd_fit_final,
    pg_finfo_pareto_nbd_fit_final,
    |call| {
        let triples = call.state::<Triples>(0).expect("STRICT");
        if triples.customers() == 0.0 {
            return call.null();
        }
        refuse_without_repeat_purchases("pareto_nbd_fit", triples);
        let fitted = ParetoNbd::fit(triples);
        fitted_model("pareto_nbd_fit", &fitted, fitted.iterations, TRIPLES_ADVICE)
    }
);

// ---------------------------------------------------------------------------------------------
// gamma_gamma_fit(x, mean_spend) -> gamma_gamma_model

v1_function!(
    gamma_gamma_fit_trans,
    pg_finfo_gamma_gamma_fit_trans,
    |call| {
        let (Some(x), Some(mean)) = (call.f64(1), call.f64(2)) else {
            return call.unchanged_state();
        };
        if x == 0.0 {
            return call.unchanged_state(); // no repeat purchase, no repeat spend
        }
        let spend = Spend::checked(x, mean).unwrap_or_else(|bad| bad_spend("gamma_gamma_fit", bad));
        let (state, collector) = call.transition_state::<SpendCollector>();
        collector.spends.push(spend);
        state
    }
);

fn bad_spend(function: &str, bad: BadSpend) -> ! {
    let (what, value) = match bad {
        BadSpend::Count(x) => ("x must be a whole number of repeat purchases", x),
        BadSpend::Mean(m) => ("the mean spend must be a positive number", m),
    };
    errors::raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("{function}: {what}, got {value}"),
        Some("Pass the repeat purchase days x and the mean spend of those days; customers with x = 0 are left out by the fit.".into()),
    )
}

v1_function!(
    gamma_gamma_fit_combine,
    pg_finfo_gamma_gamma_fit_combine,
    |call| { call.combine::<SpendCollector>(|first, second| first.merge(second)) }
);

v1_function!(
    gamma_gamma_fit_serialize,
    pg_finfo_gamma_gamma_fit_serialize,
    |call| { call.serialize_state::<SpendCollector>("gamma_gamma_fit") }
);

v1_function!(
    gamma_gamma_fit_deserialize,
    pg_finfo_gamma_gamma_fit_deserialize,
    |call| { call.deserialize_state(SpendCollector::from_bytes) }
);

v1_function!(
    gamma_gamma_fit_final,
    pg_finfo_gamma_gamma_fit_final,
    |call| {
        let collector = call.state::<SpendCollector>(0).expect("STRICT");
        if collector.spends.is_empty() {
            return call.null();
        }
        let fitted = GammaGamma::fit(&collector.spends);
        fitted_model(
            "gamma_gamma_fit",
            &fitted,
            fitted.iterations,
            "Check the input: enough repeat customers, mean spends in one currency.",
        )
    }
);

const TRIPLES_ADVICE: &str =
    "Check the input: enough customers, repeat purchases among them, one time unit for x, t_x and T.";

/// Without any repeat purchase the likelihood says nothing of dropping out: the fit would
/// "converge" with its dropout parameters where they started. An error rather than that model.
fn refuse_without_repeat_purchases(function: &str, triples: &Triples) {
    if triples.groups().iter().all(|g| g.x == 0.0) {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{function}: no customer has a repeat purchase (x > 0), so the model cannot be fitted"),
            Some("Fit on a longer calibration period, or on more customers.".into()),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The model types: text and binary forms, both checked.

#[pg_extern(sql = false)]
fn bgnbd_model_in(input: &CStr) -> Vec<u8> {
    model_in::<BgNbd>(input)
}
#[pg_extern(sql = false)]
fn bgnbd_model_out(bytes: &[u8]) -> CString {
    model_out::<BgNbd>(bytes)
}
#[pg_extern(sql = false)]
fn pareto_nbd_model_in(input: &CStr) -> Vec<u8> {
    model_in::<ParetoNbd>(input)
}
#[pg_extern(sql = false)]
fn pareto_nbd_model_out(bytes: &[u8]) -> CString {
    model_out::<ParetoNbd>(bytes)
}
#[pg_extern(sql = false)]
fn gamma_gamma_model_in(input: &CStr) -> Vec<u8> {
    model_in::<GammaGamma>(input)
}
#[pg_extern(sql = false)]
fn gamma_gamma_model_out(bytes: &[u8]) -> CString {
    model_out::<GammaGamma>(bytes)
}

v1_function!(bgnbd_model_send, pg_finfo_bgnbd_model_send, |call| {
    datum::send(call, "bgnbd_model")
});
v1_function!(bgnbd_model_recv, pg_finfo_bgnbd_model_recv, |call| {
    receive::<BgNbd>(call)
});
v1_function!(
    pareto_nbd_model_send,
    pg_finfo_pareto_nbd_model_send,
    |call| { datum::send(call, "pareto_nbd_model") }
);
v1_function!(
    pareto_nbd_model_recv,
    pg_finfo_pareto_nbd_model_recv,
    |call| { receive::<ParetoNbd>(call) }
);
v1_function!(
    gamma_gamma_model_send,
    pg_finfo_gamma_gamma_model_send,
    |call| { datum::send(call, "gamma_gamma_model") }
);
v1_function!(
    gamma_gamma_model_recv,
    pg_finfo_gamma_gamma_model_recv,
    |call| { receive::<GammaGamma>(call) }
);

// ---------------------------------------------------------------------------------------------
// Predictions.

fn checked_horizon(function: &str, t: f64) -> f64 {
    if !(t >= 0.0 && t.is_finite()) {
        errors::parameter_out_of_range(
            function,
            "t",
            t,
            "[0, infinity)",
            "t is the length of the period to predict, in the unit the model was fitted in.",
        );
    }
    t
}

fn series_result(function: &str, value: Option<f64>, t: f64) -> f64 {
    let value = value.unwrap_or_else(|| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: the hypergeometric series does not converge for t = {t}"),
            Some("t is far beyond the customers' observed ages; predict a shorter period.".into()),
        )
    });
    finite_result(function, value)
}

/// A prediction that overflowed (inputs near the limits of double precision) is an error, as
/// PostgreSQL's own arithmetic gives one, not Infinity or NaN.
fn finite_result(function: &str, value: f64) -> f64 {
    if !value.is_finite() {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: the result is out of the range of double precision"),
            Some(
                "x, t_x and T are far beyond any customer's; check the data and its time unit."
                    .into(),
            ),
        );
    }
    value
}

#[pg_extern(sql = false)]
fn bgnbd_expected_purchases(model: &[u8], t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
    const NAME: &str = "expected_purchases";
    let fitted = usable::<BgNbd>(NAME, model);
    let t = checked_horizon(NAME, t);
    if let Err(why) = triples::check(x, t_x, big_t) {
        bad_triple(NAME, why, (x, t_x, big_t));
    }
    series_result(NAME, fitted.expected_purchases(t, x, t_x, big_t), t)
}

#[pg_extern(sql = false)]
fn bgnbd_expected_purchases_new(model: &[u8], t: f64) -> f64 {
    const NAME: &str = "expected_purchases";
    let fitted = usable::<BgNbd>(NAME, model);
    let t = checked_horizon(NAME, t);
    series_result(NAME, fitted.expected_purchases_new(t), t)
}

#[pg_extern(sql = false)]
fn bgnbd_p_alive(model: &[u8], x: f64, t_x: f64, big_t: f64) -> f64 {
    let fitted = usable::<BgNbd>("p_alive", model);
    if let Err(why) = triples::check(x, t_x, big_t) {
        bad_triple("p_alive", why, (x, t_x, big_t));
    }
    finite_result("p_alive", fitted.p_alive(x, t_x, big_t))
}

#[pg_extern(sql = false)]
fn bgnbd_p_purchases(model: &[u8], n: i32, t: f64) -> f64 {
    const NAME: &str = "p_purchases";
    let fitted = usable::<BgNbd>(NAME, model);
    let t = checked_horizon(NAME, t);
    let n = u32::try_from(n).unwrap_or_else(|_| {
        errors::parameter_out_of_range(
            NAME,
            "n",
            n,
            "[0, 2147483647]",
            "n is a number of purchases.",
        )
    });
    fitted.p_purchases(n, t).unwrap_or_else(|| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{NAME}: the probability of {n} purchases in t = {t} needs more than ten million terms"),
            Some("t is far beyond the customers' observed ages; predict a shorter period.".into()),
        )
    })
}

#[pg_extern(sql = false)]
fn pareto_nbd_expected_purchases(model: &[u8], t: f64, x: f64, t_x: f64, big_t: f64) -> f64 {
    const NAME: &str = "expected_purchases";
    let fitted = usable::<ParetoNbd>(NAME, model);
    let t = checked_horizon(NAME, t);
    if let Err(why) = triples::check(x, t_x, big_t) {
        bad_triple(NAME, why, (x, t_x, big_t));
    }
    series_result(NAME, fitted.expected_purchases(t, x, t_x, big_t), t)
}

#[pg_extern(sql = false)]
fn pareto_nbd_expected_purchases_new(model: &[u8], t: f64) -> f64 {
    const NAME: &str = "expected_purchases";
    let fitted = usable::<ParetoNbd>(NAME, model);
    finite_result(
        NAME,
        fitted.expected_purchases_new(checked_horizon(NAME, t)),
    )
}

#[pg_extern(sql = false)]
fn pareto_nbd_p_alive(model: &[u8], x: f64, t_x: f64, big_t: f64) -> f64 {
    let fitted = usable::<ParetoNbd>("p_alive", model);
    if let Err(why) = triples::check(x, t_x, big_t) {
        bad_triple("p_alive", why, (x, t_x, big_t));
    }
    series_result("p_alive", fitted.p_alive(x, t_x, big_t), big_t)
}

fn finite_mean(function: &str, value: Result<f64, NoFiniteMean>) -> f64 {
    value.unwrap_or_else(|NoFiniteMean(q)| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: the model has q = {q} <= 1, so spend has no finite mean"),
            Some("The customers' spend varies too much for a mean: use median spend instead, or fit on more repeat customers.".into()),
        )
    })
}

/// Not STRICT: a customer without repeat purchases (x = 0) spends the population's mean, and
/// their mean spend (often NULL) is not used.
#[pg_extern(sql = false)]
fn gamma_gamma_expected_spend(
    model: Option<&[u8]>,
    x: Option<f64>,
    mean_spend: Option<f64>,
) -> Option<f64> {
    let fitted = usable::<GammaGamma>("expected_spend", model?);
    let x = x?;
    if x == 0.0 {
        // Fader & Hardie 2013, eq. 5 with x = 0.
        return Some(finite_mean("expected_spend", fitted.population_mean()));
    }
    let spend =
        Spend::checked(x, mean_spend?).unwrap_or_else(|bad| bad_spend("expected_spend", bad));
    Some(finite_mean("expected_spend", fitted.expected_spend(spend)))
}

#[pg_extern(sql = false)]
fn gamma_gamma_expected_spend_new(model: &[u8]) -> f64 {
    finite_mean(
        "expected_spend",
        usable::<GammaGamma>("expected_spend", model).population_mean(),
    )
}

// ---------------------------------------------------------------------------------------------
// CLV from the models.

const CLV_HINT: &str = "clv(purchases, spend, x, t_x, \"T\", mean_spend, unit => '7 days', months => 12, monthly_discount => 0.01): unit is the time unit x, t_x and T were measured in when the model was fitted.";

/// 30 days in the model's time unit, from the unit the caller states (an interval of its
/// months as 30 days, days, and time).
fn month_in_units(unit: Option<Interval>) -> f64 {
    let unit = unit.unwrap_or_else(|| errors::null_parameter("clv", "unit", CLV_HINT));
    let days = interval_days(unit);
    if days <= 0.0 {
        errors::parameter_out_of_range("clv", "unit", unit, "a positive interval", CLV_HINT);
    }
    30.0 / days
}

/// A century: a longer horizon means nothing for a customer, and each month costs a series.
const MAX_CLV_MONTHS: i32 = 1200;

fn clv_parameters(months: Option<i32>, monthly_discount: Option<f64>) -> (u32, f64) {
    let months = match months {
        None => errors::null_parameter("clv", "months", CLV_HINT),
        Some(m) if !(0..=MAX_CLV_MONTHS).contains(&m) => errors::parameter_out_of_range(
            "clv",
            "months",
            m,
            &format!("[0, {MAX_CLV_MONTHS}]"),
            CLV_HINT,
        ),
        Some(m) => m as u32,
    };
    let discount = monthly_discount
        .unwrap_or_else(|| errors::null_parameter("clv", "monthly_discount", CLV_HINT));
    (months, discount)
}

fn clv_result(value: Result<f64, ClvError>) -> f64 {
    finite_result("clv", value.unwrap_or_else(|why| clv_error(why)))
}

fn clv_error(why: ClvError) -> ! {
    match why {
        ClvError::Discount(d) => errors::parameter_out_of_range("clv", "monthly_discount", d, "(-1, infinity)", CLV_HINT),
        ClvError::Month(m) => errors::parameter_out_of_range("clv", "unit", m, "a positive interval", CLV_HINT),
        ClvError::Series => errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            "clv: the hypergeometric series does not converge over this horizon".into(),
            Some("Predict fewer months, or check the unit: a model fitted in weeks needs unit => '7 days'.".into()),
        ),
    }
}

/// What `clv` keeps from one customer's row to the next: the decoded models, and the valuer
/// with its memo, rebuilt when a row brings other models or parameters.
#[derive(Default)]
struct ClvCache {
    purchases: Option<(Vec<u8>, BgNbd)>,
    spend: Option<(Vec<u8>, GammaGamma)>,
    valuer: Option<CustomerValuer>,
}

/// The model decoded from `bytes`, decoded again only when they differ from the last row's.
fn cached<'a, M>(
    slot: &'a mut Option<(Vec<u8>, M)>,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> M,
) -> &'a M {
    if slot
        .as_ref()
        .is_none_or(|(known, _)| known.as_slice() != bytes)
    {
        *slot = Some((bytes.to_vec(), decode(bytes)));
    }
    &slot.as_ref().expect("set").1
}

// clv(purchases, spend, x, t_x, T, mean_spend, unit, months, monthly_discount)
v1_function!(
    clv_customer_wrapper,
    pg_finfo_clv_customer_wrapper,
    |call| {
        let month = month_in_units(call.interval(6));
        let (months, discount) = clv_parameters(call.i32(7), call.f64(8));
        let (Some(purchases), Some(spend)) = (call.bytes(0), call.bytes(1)) else {
            return call.null();
        };
        let cache = call.function_cache(ClvCache::default);
        let purchases = cached(&mut cache.purchases, purchases, |b| {
            usable::<BgNbd>("clv", b)
        });
        let spend = cached(&mut cache.spend, spend, |b| usable::<GammaGamma>("clv", b));
        let (Some(x), Some(t_x), Some(big_t)) = (call.f64(2), call.f64(3), call.f64(4)) else {
            return call.null();
        };
        if let Err(why) = triples::check(x, t_x, big_t) {
            bad_triple("clv", why, (x, t_x, big_t));
        }
        let per_purchase = if x == 0.0 {
            // No repeat spend: the population's mean; the customer's mean spend is not used (and
            // may be NULL).
            finite_mean("clv", spend.population_mean())
        } else {
            let Some(mean_spend) = call.f64(5) else {
                return call.null();
            };
            let checked = Spend::checked(x, mean_spend).unwrap_or_else(|bad| bad_spend("clv", bad));
            finite_mean("clv", spend.expected_spend(checked))
        };
        if !cache
            .valuer
            .as_ref()
            .is_some_and(|v| v.is_for(purchases, months, discount, month))
        {
            let valuer = CustomerValuer::new(purchases.clone(), months, discount, month);
            cache.valuer = Some(valuer.unwrap_or_else(|why| clv_error(why)));
        }
        let valuer = cache.valuer.as_mut().expect("set");
        let value = clv_result(valuer.clv((x, t_x, big_t), per_purchase));
        pg_sys::Datum::from(value.to_bits())
    }
);

#[pg_extern(sql = false)]
fn clv_prospect(
    purchases: Option<&[u8]>,
    spend: Option<&[u8]>,
    unit: Option<Interval>,
    months: Option<i32>,
    monthly_discount: Option<f64>,
) -> Option<f64> {
    let month = month_in_units(unit);
    let (months, discount) = clv_parameters(months, monthly_discount);
    let (purchases, spend) = (
        usable::<BgNbd>("clv", purchases?),
        usable::<GammaGamma>("clv", spend?),
    );
    let per_purchase = finite_mean("clv", spend.population_mean());
    Some(clv_result(prospect_clv(
        &purchases,
        per_purchase,
        months,
        discount,
        month,
    )))
}
