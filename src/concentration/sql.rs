//! The SQL surface of the concentration measures: aggregates over raw values, the storable
//! `concentration` summary and its accessors. Translation only; the arithmetic is in `measures`.
//!
//! Every function here is declared by hand in `concentration.sql` (hence `sql = false`): the
//! aggregates and the `concentration` type need SQL that pgrx does not generate, and one file
//! in declaration order reads better than attributes spread over this one.

use super::collector::{FractionMismatch, ValueCollector};
use super::measures::Distribution;
use super::summary;
use crate::aggregate::{
    aggregate_name, check_for_interrupts, new_state, new_varlena, state_mut, transition_state,
    unchanged_state, value_arg,
};
use crate::errors;
use crate::v1_function_info;
use crate::validate;
use pgrx::prelude::*;
use pgrx::{Internal, JsonB, PgSqlErrorCode};
use std::ffi::{CStr, CString};

pgrx::extension_sql_file!("concentration.sql", name = "concentration");

/// Name used in messages when PostgreSQL cannot tell which aggregate is running.
const FALLBACK_NAME: &str = "concentration aggregate";

// ---------------------------------------------------------------------------------------------
// Transition, combine and (de)serialization: shared by every concentration aggregate.

// The transition functions are plain V1 functions rather than `#[pg_extern]`s: they run once
// per row, and a generic argument-unboxing wrapper was most of an aggregate's time (profiled).

/// For gini(x), gini_unbiased(x), hhi(x), hhi_normalized(x), pareto_ratio(x), concentration_agg(x).
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn concentration_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let Some(x) = value_arg(fcinfo, 1) else {
            return unchanged_state(fcinfo); // NULLs are skipped, like sum() does
        };
        let x = validate::non_negative(x)
            .unwrap_or_else(|bad| errors::bad_value(&aggregate_name(fcinfo, FALLBACK_NAME), bad));
        let (state, collector) = transition_state::<ValueCollector>(fcinfo);
        collector.push(x);
        state
    }
}
v1_function_info!(pg_finfo_concentration_trans);

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn top_share_trans(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe { collect_with_fraction(fcinfo, "top_share", "p", TOP_SHARE_HINT) }
}
v1_function_info!(pg_finfo_top_share_trans);

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn pareto_ratio_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe { collect_with_fraction(fcinfo, "pareto_ratio", "q", PARETO_RATIO_HINT) }
}
v1_function_info!(pg_finfo_pareto_ratio_trans);

const TOP_SHARE_HINT: &str =
    "p is the fraction of units, largest first: top_share(x, 0.2) is the share of the top 20 %.";
const PARETO_RATIO_HINT: &str = "q is the share of the total: pareto_ratio(x, 0.8) is the fraction of units that makes 80 % of it.";

/// (state, x, fraction) -> state, for top_share(x, p) and pareto_ratio(x, q).
unsafe fn collect_with_fraction(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
    parameter: &str,
    hint: &str,
) -> pg_sys::Datum {
    unsafe {
        let fraction = checked_fraction(function, parameter, value_arg(fcinfo, 2), hint);
        let (state, collector) = transition_state::<ValueCollector>(fcinfo);
        if let Err(mismatch) = collector.set_fraction(fraction) {
            fraction_mismatch(function, parameter, mismatch);
        }
        if let Some(x) = value_arg(fcinfo, 1) {
            let x =
                validate::non_negative(x).unwrap_or_else(|bad| errors::bad_value(function, bad));
            collector.push(x);
        }
        state
    }
}

fn checked_fraction(function: &str, parameter: &str, value: Option<f64>, hint: &str) -> f64 {
    match value {
        None => errors::null_parameter(function, parameter, hint),
        Some(v) if !validate::fraction(v) => {
            errors::parameter_out_of_range(function, parameter, v, "(0, 1]", hint)
        }
        Some(v) => v,
    }
}

fn fraction_mismatch(
    function: &str,
    parameter: &str,
    FractionMismatch(a, b): FractionMismatch,
) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("{function}: {parameter} must be the same on every row, got {a} and {b}"),
        Some(format!(
            "For several fractions at once, build one summary with concentration_agg(x) and call {function}(summary, {parameter}) for each."
        )),
    )
}

#[pg_extern(sql = false)]
fn concentration_combine(
    mut first: Internal,
    mut second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    let Some(second) = (unsafe { second.get_mut::<ValueCollector>() }) else {
        return first;
    };
    // A NULL first state becomes a new state in the aggregate's context; `second` is never
    // returned, and only a transient (just deserialized) one gives its values up.
    let merged = unsafe { state_mut::<ValueCollector>(&mut first, fcinfo) }.merge(second);
    if let Err(mismatch) = merged {
        let name = aggregate_name(fcinfo, FALLBACK_NAME);
        let parameter = if name == "top_share" { "p" } else { "q" };
        fraction_mismatch(&name, parameter, mismatch);
    }
    first
}

/// Runs in each parallel worker: sorting here spreads the sort over the workers, and the
/// leader merely merges sorted runs. (STRICT: the state is not NULL.)
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn concentration_serialize(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let collector = unsafe {
        &mut *pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<ValueCollector>()
    };
    check_size(
        "parallel concentration aggregate",
        collector.len(),
        SERIALIZE_HINT,
    );
    collector.sorted(&mut check_for_interrupts);
    new_varlena(collector.serialized_len(), |out| collector.write_to(out))
}
v1_function_info!(pg_finfo_concentration_serialize);

const SERIALIZE_HINT: &str = "Run this query without parallel workers (SET max_parallel_workers_per_gather = 0), or aggregate per group.";

#[pg_extern(sql = false)]
fn concentration_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    unsafe { new_state(ValueCollector::from_bytes(bytes), fcinfo) }
}

fn check_size(function: &str, count: usize, hint: &str) {
    if count > summary::MAX_VALUES {
        errors::too_many_values(function, count, summary::MAX_VALUES, hint);
    }
}

/// rollup(concentration): merges stored summaries (per day into per month, per region into all)
/// as sorted runs, with no re-sort.
#[pg_extern(sql = false)]
fn concentration_rollup_trans(
    mut state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    if let Some(summary) = summary {
        let mut run = ValueCollector::from_sorted(decoded(summary));
        let collector = unsafe { state_mut::<ValueCollector>(&mut state, fcinfo) };
        collector
            .merge(&mut run)
            .expect("summaries carry no fraction");
    }
    state
}

// ---------------------------------------------------------------------------------------------
// Final functions. They sort the state in place, which leaves its contents unchanged.

fn with_distribution<R>(
    mut state: Internal,
    measure: impl FnOnce(Distribution) -> Option<R>,
) -> Option<R> {
    let collector = unsafe { state.get_mut::<ValueCollector>() }?;
    measure(Distribution::new(
        collector.sorted(&mut check_for_interrupts),
    ))
}

fn collected_fraction(state: &Internal) -> Option<f64> {
    unsafe { state.get::<ValueCollector>() }.and_then(ValueCollector::fraction)
}

#[pg_extern(sql = false)]
fn gini_final(state: Internal) -> Option<f64> {
    with_distribution(state, |d| d.gini())
}

#[pg_extern(sql = false)]
fn gini_unbiased_final(state: Internal) -> Option<f64> {
    with_distribution(state, |d| d.gini_unbiased())
}

#[pg_extern(sql = false)]
fn hhi_final(state: Internal) -> Option<f64> {
    with_distribution(state, |d| d.hhi())
}

#[pg_extern(sql = false)]
fn hhi_normalized_final(state: Internal) -> Option<f64> {
    with_distribution(state, |d| d.hhi_normalized())
}

/// The share the Pareto principle names: "x % of customers make 80 % of revenue".
const DEFAULT_PARETO_SHARE: f64 = 0.8;

#[pg_extern(sql = false)]
fn pareto_ratio_final(state: Internal) -> Option<f64> {
    let q = collected_fraction(&state).unwrap_or(DEFAULT_PARETO_SHARE);
    with_distribution(state, |d| d.pareto_ratio(q))
}

#[pg_extern(sql = false)]
fn top_share_final(state: Internal) -> Option<f64> {
    let p = collected_fraction(&state)?;
    with_distribution(state, |d| d.top_share(p))
}

/// (STRICT: the state is not NULL.)
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn concentration_agg_final(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    let collector = unsafe {
        &mut *pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<ValueCollector>()
    };
    if collector.is_empty() {
        return unsafe { pgrx::fcinfo::pg_return_null(fcinfo) }; // only NULLs: no summary
    }
    check_size("concentration_agg", collector.len(), SUMMARY_HINT);
    let values = collector.sorted(&mut check_for_interrupts);
    new_varlena(summary::encoded_len(values.len()), |out| {
        summary::encode_into(out, values)
    })
}
v1_function_info!(pg_finfo_concentration_agg_final);

const SUMMARY_HINT: &str = "Build one summary per group (GROUP BY), or use the aggregates gini(x), top_share(x, p), ... directly: they have no such limit when run serially.";

// ---------------------------------------------------------------------------------------------
// The `concentration` type and its accessors.

#[pg_extern(sql = false)]
fn concentration_in(input: &CStr) -> Vec<u8> {
    let text = input.to_str().unwrap_or_else(|_| bad_text("not UTF-8"));
    let values = summary::from_text(text).unwrap_or_else(|e| bad_text(&e.to_string()));
    summary::encode(&values)
}

fn bad_text(why: &str) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type concentration: {why}"),
        Some(
            "The text form is {\"n\": 3, \"values\": [1, 2.5, 4]}: n non-negative, finite values."
                .into(),
        ),
    )
}

#[pg_extern(sql = false)]
fn concentration_out(bytes: &[u8]) -> CString {
    CString::new(summary::to_text(&decoded(bytes))).expect("JSON has no NUL")
}

fn decoded(bytes: &[u8]) -> Vec<f64> {
    summary::decode(bytes).unwrap_or_else(|e| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("concentration: {e}"),
            None,
        )
    })
}

fn read_summary<R>(bytes: &[u8], measure: impl FnOnce(Distribution) -> Option<R>) -> Option<R> {
    let values = decoded(bytes);
    measure(Distribution::new(&values))
}

#[pg_extern(sql = false)]
fn concentration_gini(c: &[u8]) -> Option<f64> {
    read_summary(c, |d| d.gini())
}

#[pg_extern(sql = false)]
fn concentration_gini_unbiased(c: &[u8]) -> Option<f64> {
    read_summary(c, |d| d.gini_unbiased())
}

#[pg_extern(sql = false)]
fn concentration_hhi(c: &[u8]) -> Option<f64> {
    read_summary(c, |d| d.hhi())
}

#[pg_extern(sql = false)]
fn concentration_hhi_normalized(c: &[u8]) -> Option<f64> {
    read_summary(c, |d| d.hhi_normalized())
}

#[pg_extern(sql = false)]
fn concentration_top_share(c: Option<&[u8]>, p: Option<f64>) -> Option<f64> {
    let p = checked_fraction("top_share", "p", p, TOP_SHARE_HINT);
    read_summary(c?, |d| d.top_share(p))
}

#[pg_extern(sql = false)]
fn concentration_pareto_ratio(c: Option<&[u8]>, q: Option<f64>) -> Option<f64> {
    let q = checked_fraction("pareto_ratio", "q", q, PARETO_RATIO_HINT);
    read_summary(c?, |d| d.pareto_ratio(q))
}

/// Enough for any chart; a curve of more points than that is a table, not a chart.
const MAX_LORENZ_POINTS: i32 = 1_000_000;

#[pg_extern(sql = false)]
fn lorenz_curve(
    c: Option<&[u8]>,
    points: Option<i32>,
) -> TableIterator<'static, (name!(population_share, f64), name!(value_share, f64))> {
    const HINT: &str = "points is the number of steps of the curve, e.g. 100 for percentiles.";
    let points = match points {
        None => errors::null_parameter("lorenz_curve", "points", HINT),
        Some(p) if !(1..=MAX_LORENZ_POINTS).contains(&p) => errors::parameter_out_of_range(
            "lorenz_curve",
            "points",
            p,
            &format!("[1, {MAX_LORENZ_POINTS}]"),
            HINT,
        ),
        Some(p) => p as usize,
    };
    let curve = c
        .and_then(|c| read_summary(c, |d| d.lorenz_curve(points)))
        .unwrap_or_default();
    TableIterator::new(curve)
}

/// The fractions of units and shares of the total that the report reads.
const REPORT_TOP_FRACTIONS: [(&str, f64); 4] = [
    ("top_1pct_share", 0.01),
    ("top_5pct_share", 0.05),
    ("top_10pct_share", 0.10),
    ("top_20pct_share", 0.20),
];
const REPORT_PARETO_SHARES: [(&str, f64); 2] = [("pareto_80", 0.8), ("pareto_50", 0.5)];

#[pg_extern(sql = false)]
fn concentration_report(c: &[u8]) -> JsonB {
    let values = decoded(c);
    let d = Distribution::new(&values);
    let mut report = serde_json::Map::new();
    report.insert("n".into(), d.len().into());
    report.insert("total".into(), d.total().into());
    report.insert("gini".into(), d.gini().into());
    report.insert("gini_unbiased".into(), d.gini_unbiased().into());
    report.insert("hhi".into(), d.hhi().into());
    report.insert("hhi_normalized".into(), d.hhi_normalized().into());
    let fractions = REPORT_TOP_FRACTIONS.map(|(_, p)| p);
    let shares = d.top_shares(&fractions);
    for (i, (key, _)) in REPORT_TOP_FRACTIONS.iter().enumerate() {
        report.insert((*key).into(), shares.as_ref().map(|s| s[i]).into());
    }
    let ratios = d.pareto_ratios(&REPORT_PARETO_SHARES.map(|(_, q)| q));
    for (i, (key, _)) in REPORT_PARETO_SHARES.iter().enumerate() {
        report.insert((*key).into(), ratios.as_ref().map(|r| r[i]).into());
    }
    JsonB(serde_json::Value::Object(report))
}
