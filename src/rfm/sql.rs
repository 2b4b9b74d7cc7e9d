//! The SQL surface of RFM: the `rfm_score` window function (for numbers and timestamps) and the
//! segment functions. Translation only; the arithmetic is in `scores` and `segments`.

use super::scores::{ntile_scores, rank_scores};
use super::segments::{self, Rule, MAX_SCORE};
use crate::errors;
use crate::v1_function_info;
use crate::validate;
use crate::window::Window;
use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum, JsonB, PgSqlErrorCode};

pgrx::extension_sql_file!("rfm.sql", name = "rfm", requires = ["abc"]);

const SCORE_HINT: &str = "rfm_score(value, bins => 5, descending => false, method => 'rank' | 'ntile'); bins from 2 to 100.";

/// How a score is computed from the partition's values.
#[derive(Clone, Copy)]
enum Method {
    Rank,
    Ntile,
}

/// bins, descending and method, read on the partition's first row.
fn score_parameters(window: &Window) -> (u32, bool, Method) {
    let bins = match window.current_arg(1).map(|d| d.value() as i32) {
        None => errors::null_parameter(window.function(), "bins", SCORE_HINT),
        Some(b) if !(2..=MAX_SCORE as i32).contains(&b) => {
            errors::parameter_out_of_range(window.function(), "bins", b, "[2, 100]", SCORE_HINT)
        }
        Some(b) => b as u32,
    };
    let descending = match window.current_arg(2) {
        None => errors::null_parameter(window.function(), "descending", SCORE_HINT),
        Some(d) => d.value() != 0,
    };
    let method = match window.current_arg(3).and_then(|d| unsafe { String::from_datum(d, false) }) {
        None => errors::null_parameter(window.function(), "method", SCORE_HINT),
        Some(m) if m == "rank" => Method::Rank,
        Some(m) if m == "ntile" => Method::Ntile,
        Some(m) => errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{}: unknown method '{m}'", window.function()),
            Some("method is 'rank' (equal values score the same, the default) or 'ntile' (equal-sized bins).".into()),
        ),
    };
    (bins, descending, method)
}

/// This row's score, from values read by `read`.
unsafe fn score(
    fcinfo: pg_sys::FunctionCallInfo,
    read: impl Fn(&Window, usize) -> Vec<Option<f64>>,
) -> pg_sys::Datum {
    let window = unsafe { Window::of(fcinfo, "rfm_score") };
    let score = window.answer(|rows| {
        let (bins, descending, method) = score_parameters(&window);
        let values = read(&window, rows);
        match method {
            Method::Rank => rank_scores(&values, bins, descending),
            Method::Ntile => ntile_scores(&values, bins, descending),
        }
    });
    match score {
        Some(s) => s.into_datum().expect("a smallint datum"),
        None => unsafe { pgrx::fcinfo::pg_return_null(fcinfo) },
    }
}

#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn rfm_score(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        score(fcinfo, |window, rows| {
            window
                .partition_f64s(0, rows)
                .into_iter()
                .map(|v| {
                    v.map(|x| {
                        validate::finite(x)
                            .unwrap_or_else(|bad| errors::bad_value("rfm_score", bad))
                    })
                })
                .collect()
        })
    }
}
v1_function_info!(pg_finfo_rfm_score);

/// For timestamptz (and date, by PostgreSQL's implicit cast): a later time scores higher.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn rfm_score_timestamptz(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        score(fcinfo, |window, rows| {
            window
                .partition_values(0, rows, |d| d.value() as i64)
                .into_iter()
                .map(|v| {
                    v.map(|micros| {
                        if micros == i64::MIN || micros == i64::MAX {
                            errors::raise(
                                PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
                                "rfm_score: timestamp -infinity or infinity has no recency".into(),
                                Some(
                                    "Leave infinite timestamps out with WHERE isfinite(ts).".into(),
                                ),
                            )
                        }
                        micros as f64 // microseconds since 2000: exact in a double for ±285 years
                    })
                })
                .collect()
        })
    }
}
v1_function_info!(pg_finfo_rfm_score_timestamptz);

// ---------------------------------------------------------------------------------------------
// Segments.

fn checked_scores(function: &str, r: i32, f: i32, m: i32) -> (i64, i64, i64) {
    for (name, score) in [("r", r), ("f", f), ("m", m)] {
        if !(1..=MAX_SCORE as i32).contains(&score) {
            errors::parameter_out_of_range(
                function,
                name,
                score,
                "[1, 100]",
                "Scores come from rfm_score(...): 1 up to its number of bins.",
            );
        }
    }
    (r.into(), f.into(), m.into())
}

#[pg_extern(sql = false)]
fn rfm_segment_default(r: i32, f: i32, m: i32) -> String {
    let (r, f, m) = checked_scores("rfm_segment", r, f, m);
    segments::segment(&segments::default_rules(), r, f, m).to_string()
}

#[pg_extern(sql = false)]
fn rfm_segment_with_rules(
    r: Option<i32>,
    f: Option<i32>,
    m: Option<i32>,
    rules: Option<JsonB>,
) -> Option<String> {
    const HINT: &str = "Start from rfm_segment_rules(), the default table: [{\"name\": \"Champions\", \"r\": [5, 5], \"f\": [5, 5], \"m\": [5, 5]}, ...].";
    let Some(JsonB(table)) = rules else {
        errors::null_parameter("rfm_segment", "rules", HINT)
    };
    let rules: Vec<Rule> = segments::parse_rules(&table).unwrap_or_else(|why| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("rfm_segment: invalid rules: {why}"),
            Some(HINT.into()),
        )
    });
    let (r, f, m) = checked_scores("rfm_segment", r?, f?, m?);
    Some(segments::segment(&rules, r, f, m).to_string())
}

#[pg_extern(sql = false)]
fn rfm_segment_rules() -> JsonB {
    JsonB(segments::default_rules_json())
}
