//! The SQL surface of the one-pass RFM path: `rfm_agg` → `rfm_summary` (bigint customer ids) or
//! `rfm_summary_text` (text ids), `rollup`, and `rfm_scores`. Translation only; the arithmetic
//! is in `summary` and `scores`.

use super::segments;
use super::summary::{self, CustomerKey, RfmCollector};
use crate::aggregate::{new_state, state_mut, transition_state, unchanged_state, value_arg};
use crate::errors;
use crate::v1_function_info;
use crate::validate;
use pgrx::prelude::*;
use pgrx::{FromDatum, Internal, PgSqlErrorCode};
use std::ffi::{CStr, CString};

pgrx::extension_sql_file!(
    "rfm_one_pass.sql",
    name = "rfm_one_pass",
    requires = ["rfm"]
);

/// The order's time and amount (arguments 2 and 3), or None to skip a row without a time.
/// NaN or infinite amounts and infinite times are errors.
unsafe fn order(fcinfo: pg_sys::FunctionCallInfo) -> Option<(i64, Option<f64>)> {
    unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 2) {
            return None;
        }
        let at = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 2).value() as i64;
        if at == i64::MIN || at == i64::MAX {
            errors::raise(
                PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
                "rfm_agg: an order at -infinity or infinity has no time".into(),
                Some("Leave such orders out with WHERE isfinite(order_ts).".into()),
            );
        }
        let amount = value_arg(fcinfo, 3)
            .map(|x| validate::finite(x).unwrap_or_else(|bad| errors::bad_value("rfm_agg", bad)));
        Some((at, amount))
    }
}

/// rfm_agg(bigint, timestamptz, double precision): once per order row, so a plain V1 function.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn rfm_agg_trans(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let Some((at, amount)) = order(fcinfo) else {
            return unchanged_state(fcinfo);
        };
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
            return unchanged_state(fcinfo); // no customer
        }
        let customer = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1).value() as i64;
        let (state, collector) = transition_state::<RfmCollector<i64>>(fcinfo);
        collector.add(customer, at, amount);
        state
    }
}
v1_function_info!(pg_finfo_rfm_agg_trans);

/// rfm_agg(text, timestamptz, double precision).
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn rfm_agg_text_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let Some((at, amount)) = order(fcinfo) else {
            return unchanged_state(fcinfo);
        };
        let customer = <&str>::from_datum(
            pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1),
            pgrx::fcinfo::pg_arg_is_null(fcinfo, 1),
        );
        let Some(customer) = customer else {
            return unchanged_state(fcinfo);
        };
        let (state, collector) = transition_state::<RfmCollector<Box<str>>>(fcinfo);
        collector.add_text(customer, at, amount);
        state
    }
}
v1_function_info!(pg_finfo_rfm_agg_text_trans);

fn encoded<K: CustomerKey>(function: &str, collector: &RfmCollector<K>) -> Vec<u8> {
    too_large_is_an_error(function, collector, collector.to_bytes())
}

fn too_large_is_an_error<K: CustomerKey>(
    function: &str,
    collector: &RfmCollector<K>,
    bytes: Result<Vec<u8>, usize>,
) -> Vec<u8> {
    bytes.unwrap_or_else(|size| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("{function}: the summary of {} customers needs more than {size} bytes, over PostgreSQL's 1 GB limit for one value", collector.len()),
            Some("Build one summary per region or period (GROUP BY) and score them separately; about 22 million bigint customers fit in one.".into()),
        )
    })
}

fn decoded<K: CustomerKey>(bytes: &[u8]) -> RfmCollector<K> {
    RfmCollector::from_bytes(bytes).unwrap_or_else(|e| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("rfm_summary: {e}"),
            None,
        )
    })
}

fn combine<K: CustomerKey>(
    mut first: Internal,
    mut second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    if let Some(second) = unsafe { second.get_mut::<RfmCollector<K>>() } {
        unsafe { state_mut::<RfmCollector<K>>(&mut first, fcinfo) }.merge_from(second);
    }
    first
}

fn rollup_trans<K: CustomerKey>(
    mut state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    if let Some(summary) = summary {
        let part = decoded::<K>(summary);
        unsafe { state_mut::<RfmCollector<K>>(&mut state, fcinfo) }.merge(part);
    }
    state
}

fn final_summary<K: CustomerKey>(state: Internal) -> Option<Vec<u8>> {
    let collector = unsafe { state.get::<RfmCollector<K>>() }?;
    (!collector.is_empty()).then(|| encoded("rfm_agg", collector))
}

fn summary_in<K: CustomerKey>(input: &CStr) -> Vec<u8> {
    let parsed = input
        .to_str()
        .map_err(|_| "not UTF-8".to_string())
        .and_then(RfmCollector::<K>::from_json);
    let collector = parsed.unwrap_or_else(|why| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for an rfm summary: {why}"),
            Some("The text form is {\"customers\": [[id, first, last, purchases, amount, amount_error], ...]}, times in microseconds since 2000-01-01.".into()),
        )
    });
    encoded("rfm_summary", &collector)
}

fn summary_out<K: CustomerKey>(bytes: &[u8]) -> CString {
    CString::new(decoded::<K>(bytes).to_json().to_string()).expect("JSON has no NUL")
}

/// A row of rfm_scores: customer_id, first_order, last_order, recency_days, frequency,
/// monetary, r, f, m, rfm_cell, rfm_total, segment (column names are in rfm_one_pass.sql).
type ScoreRow<Id> = (
    Id,
    Option<TimestampWithTimeZone>,
    Option<TimestampWithTimeZone>,
    Option<f64>,
    i64,
    f64,
    Option<i16>,
    Option<i16>,
    Option<i16>,
    Option<String>,
    Option<i32>,
    Option<String>,
);

const SCORES_HINT: &str =
    "rfm_scores(summary, as_of => '2025-01-01', bins => 5); bins from 2 to 100.";

fn scores<K: CustomerKey, Id>(
    summary: &[u8],
    as_of: Option<Option<TimestampWithTimeZone>>,
    bins: Option<i32>,
    id: impl Fn(&K) -> Id,
) -> Vec<ScoreRow<Id>> {
    let bins = match bins {
        None => errors::null_parameter("rfm_scores", "bins", SCORES_HINT),
        Some(b) if !(2..=100).contains(&b) => {
            errors::parameter_out_of_range("rfm_scores", "bins", b, "[2, 100]", SCORES_HINT)
        }
        Some(b) => b as u32,
    };
    let entries = summary::entries_from_bytes::<K>(summary).unwrap_or_else(|e| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
            format!("rfm_summary: {e}"),
            None,
        )
    });
    let latest = summary::latest_purchase(&entries);
    let as_of = match as_of {
        None => latest.unwrap_or(0), // no as_of given: the latest purchase in the summary
        Some(None) => errors::null_parameter("rfm_scores", "as_of", SCORES_HINT),
        Some(Some(t)) => pg_sys::TimestampTz::from(t),
    };
    if let Some(latest) = latest.filter(|&l| l > as_of) {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("rfm_scores: as_of {} is before the last purchase in the summary, {}", timestamp_text(as_of), timestamp_text(latest)),
            Some("Build the summary from the orders up to as_of: rfm_agg(...) FILTER (WHERE order_ts <= as_of), or WHERE order_ts <= as_of.".into()),
        );
    }
    let rules = segments::default_rules();
    let timestamp = |t: Option<i64>| t.and_then(|t| TimestampWithTimeZone::try_from(t).ok());
    summary::score(&entries, as_of, bins)
        .into_iter()
        .map(|s| {
            let cell = match (s.r, s.f, s.m) {
                (Some(r), Some(f), Some(m)) => Some((r, f, m)),
                _ => None,
            };
            (
                id(s.customer),
                timestamp(s.stats.first()),
                timestamp(s.stats.last()),
                s.recency_days,
                s.stats.purchases as i64,
                s.stats.monetary(),
                s.r,
                s.f,
                s.m,
                cell.map(|(r, f, m)| {
                    if bins <= 9 {
                        format!("{r}{f}{m}")
                    } else {
                        format!("{r}-{f}-{m}")
                    }
                }),
                cell.map(|(r, f, m)| i32::from(r) + i32::from(f) + i32::from(m)),
                cell.filter(|_| bins == 5).map(|(r, f, m)| {
                    segments::segment(&rules, r.into(), f.into(), m.into()).to_string()
                }),
            )
        })
        .collect()
}

fn timestamp_text(micros: i64) -> String {
    TimestampWithTimeZone::try_from(micros)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| micros.to_string())
}

// The functions for each kind of customer id.

#[pg_extern(sql = false)]
fn rfm_agg_combine(
    first: Internal,
    second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    combine::<i64>(first, second, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_agg_text_combine(
    first: Internal,
    second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    combine::<Box<str>>(first, second, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_agg_serialize(state: Internal) -> Vec<u8> {
    {
        let collector = unsafe { state.get::<RfmCollector<i64>>() }.expect("STRICT");
        too_large_is_an_error("rfm_agg", collector, collector.to_bytes_unsorted())
    }
}
#[pg_extern(sql = false)]
fn rfm_agg_text_serialize(state: Internal) -> Vec<u8> {
    {
        let collector = unsafe { state.get::<RfmCollector<Box<str>>>() }.expect("STRICT");
        too_large_is_an_error("rfm_agg", collector, collector.to_bytes_unsorted())
    }
}
#[pg_extern(sql = false)]
fn rfm_agg_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    unsafe { new_state(decoded::<i64>(bytes), fcinfo) }
}
#[pg_extern(sql = false)]
fn rfm_agg_text_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    unsafe { new_state(decoded::<Box<str>>(bytes), fcinfo) }
}
#[pg_extern(sql = false)]
fn rfm_agg_final(state: Internal) -> Option<Vec<u8>> {
    final_summary::<i64>(state)
}
#[pg_extern(sql = false)]
fn rfm_agg_text_final(state: Internal) -> Option<Vec<u8>> {
    final_summary::<Box<str>>(state)
}
#[pg_extern(sql = false)]
fn rfm_rollup_trans(
    state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    rollup_trans::<i64>(state, summary, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_rollup_text_trans(
    state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    rollup_trans::<Box<str>>(state, summary, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_summary_in(input: &CStr) -> Vec<u8> {
    summary_in::<i64>(input)
}
#[pg_extern(sql = false)]
fn rfm_summary_text_in(input: &CStr) -> Vec<u8> {
    summary_in::<Box<str>>(input)
}
#[pg_extern(sql = false)]
fn rfm_summary_out(bytes: &[u8]) -> CString {
    summary_out::<i64>(bytes)
}
#[pg_extern(sql = false)]
fn rfm_summary_text_out(bytes: &[u8]) -> CString {
    summary_out::<Box<str>>(bytes)
}
/// rfm_scores for one kind of customer id: as of the latest purchase, and as of a given time.
/// (A macro because pgrx reads a set-returning function's columns off the written-out tuple.)
macro_rules! rfm_scores_functions {
    ($latest:ident, $as_of:ident, $key:ty, $id:ty, $to_id:expr) => {
        #[pg_extern(sql = false)]
        fn $latest(
            summary: &[u8],
            bins: Option<i32>,
        ) -> TableIterator<
            'static,
            (
                name!(customer_id, $id),
                name!(first_order, Option<TimestampWithTimeZone>),
                name!(last_order, Option<TimestampWithTimeZone>),
                name!(recency_days, Option<f64>),
                name!(frequency, i64),
                name!(monetary, f64),
                name!(r, Option<i16>),
                name!(f, Option<i16>),
                name!(m, Option<i16>),
                name!(rfm_cell, Option<String>),
                name!(rfm_total, Option<i32>),
                name!(segment, Option<String>),
            ),
        > {
            TableIterator::new(scores::<$key, $id>(summary, None, bins, $to_id))
        }

        #[pg_extern(sql = false)]
        fn $as_of(
            summary: &[u8],
            as_of: Option<TimestampWithTimeZone>,
            bins: Option<i32>,
        ) -> TableIterator<
            'static,
            (
                name!(customer_id, $id),
                name!(first_order, Option<TimestampWithTimeZone>),
                name!(last_order, Option<TimestampWithTimeZone>),
                name!(recency_days, Option<f64>),
                name!(frequency, i64),
                name!(monetary, f64),
                name!(r, Option<i16>),
                name!(f, Option<i16>),
                name!(m, Option<i16>),
                name!(rfm_cell, Option<String>),
                name!(rfm_total, Option<i32>),
                name!(segment, Option<String>),
            ),
        > {
            TableIterator::new(scores::<$key, $id>(summary, Some(as_of), bins, $to_id))
        }
    };
}

rfm_scores_functions!(rfm_scores_latest, rfm_scores_as_of, i64, i64, |id: &i64| {
    *id
});
rfm_scores_functions!(
    rfm_scores_text_latest,
    rfm_scores_text_as_of,
    Box<str>,
    String,
    Box::<str>::to_string
);
