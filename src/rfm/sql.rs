//! The SQL surface of RFM: the `rfm_score` window function (for numbers and timestamps) and the
//! segment functions. Translation only; the arithmetic is in `scores` and `segments`.

use crate::pg::datum::{self, new_varlena};
use crate::pg::window::Window;
use crate::pg::{errors, Call};
use crate::v1_function;
use pgrx::prelude::*;
use pgrx::{IntoDatum, JsonB, PgSqlErrorCode};
use segment_core::codec::MAX_ENCODED_BYTES;
use segment_core::rfm::breaks::{self, BreaksCollector};
use segment_core::rfm::scores::{f64_keys, i64_keys, ntile_scores, rank_scores};
use segment_core::rfm::segments::{self, Rule, MAX_SCORE};
use segment_core::validate;

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
    let method = match window.current_text(3) {
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

/// This row's score, from the partition's values read as score keys by `read` (given
/// `descending`).
fn score(call: Call, read: impl Fn(&Window, usize, bool) -> Vec<Option<u64>>) -> pg_sys::Datum {
    let window = call.window("rfm_score");
    let score = window.answer(|rows| {
        let (bins, descending, method) = score_parameters(&window);
        let keys = read(&window, rows, descending);
        match method {
            Method::Rank => rank_scores(&keys, bins),
            Method::Ntile => ntile_scores(&keys, bins),
        }
    });
    match score {
        Some(s) => s.into_datum().expect("a smallint datum"),
        None => call.null(),
    }
}

v1_function!(rfm_score, pg_finfo_rfm_score, |call| {
    score(call, |window, rows, descending| {
        let values = window.partition_f64s(0, rows);
        if let Some(&bad) = values.iter().flatten().find(|x| !x.is_finite()) {
            errors::bad_value("rfm_score", validate::finite(bad).unwrap_err());
        }
        f64_keys(&values, descending)
    })
});

// For timestamptz (and date, by PostgreSQL's implicit cast): a later time scores higher.
v1_function!(
    rfm_score_timestamptz,
    pg_finfo_rfm_score_timestamptz,
    |call| {
        score(call, |window, rows, descending| {
            let times = window.partition_i64s(0, rows);
            if times
                .iter()
                .flatten()
                .any(|&t| t == i64::MIN || t == i64::MAX)
            {
                errors::raise(
                    PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
                    "rfm_score: timestamp -infinity or infinity has no recency".into(),
                    Some("Leave infinite timestamps out with WHERE isfinite(ts).".into()),
                )
            }
            // Scored by the times themselves: exact, where a double holds microseconds exactly
            // only within 285 years of 2000.
            i64_keys(&times, descending)
        })
    }
);

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

// rfm_segment(r, f, m, rules jsonb). The symbol keeps its 0.1.0 name.
v1_function!(
    rfm_segment_with_rules_wrapper,
    pg_finfo_rfm_segment_with_rules_wrapper,
    |call| {
        const HINT: &str = "Start from rfm_segment_rules(), the default table: [{\"name\": \"Champions\", \"r\": [5, 5], \"f\": [5, 5], \"m\": [5, 5]}, ...].";
        let Some(table) = call.jsonb_text(3) else {
            errors::null_parameter("rfm_segment", "rules", HINT)
        };
        let rules: Vec<Rule> = segments::parse_rules(&table).unwrap_or_else(|why| {
            errors::raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("rfm_segment: invalid rules: {why}"),
                Some(HINT.into()),
            )
        });
        let (Some(r), Some(f), Some(m)) = (call.i32(0), call.i32(1), call.i32(2)) else {
            return call.null();
        };
        let (r, f, m) = checked_scores("rfm_segment", r, f, m);
        datum::text(segments::segment(&rules, r, f, m))
    }
);

#[pg_extern(sql = false)]
fn rfm_segment_rules() -> JsonB {
    JsonB(
        serde_json::from_str(&segments::default_rules_json()).expect("the default rules are JSON"),
    )
}

// ---------------------------------------------------------------------------------------------
// rfm_breaks(value [, bins [, descending]]) and rfm_bin(value, edges, descending).

const BREAKS_HINT: &str = "rfm_breaks(value, bins, descending): bins from 2 to 100, the same on every row; score later with rfm_bin(value, edges, descending).";

/// (state, value, bins, descending) -> state, for the three forms of rfm_breaks; a form without
/// bins or descending has the defaults 5 and false.
fn collect_breaks(call: Call, bins: Option<i32>, descending: Option<bool>) -> pg_sys::Datum {
    collect_weighted_breaks(call, bins, descending, None)
}

/// As `collect_breaks`, the value counted `weight` times (None: once).
fn collect_weighted_breaks(
    call: Call,
    bins: Option<i32>,
    descending: Option<bool>,
    weight: Option<u64>,
) -> pg_sys::Datum {
    let bins = match bins {
        None => errors::null_parameter("rfm_breaks", "bins", BREAKS_HINT),
        Some(b) if !(2..=MAX_SCORE as i32).contains(&b) => {
            errors::parameter_out_of_range("rfm_breaks", "bins", b, "[2, 100]", BREAKS_HINT)
        }
        Some(b) => b as u32,
    };
    let descending = descending
        .unwrap_or_else(|| errors::null_parameter("rfm_breaks", "descending", BREAKS_HINT));
    let (state, collector) = call.transition_state::<BreaksCollector>();
    if let Err(known) = collector.set_parameters(bins, descending) {
        breaks_mismatch(known, (bins, descending));
    }
    if let Some(v) = call.f64(1) {
        let v = validate::finite(v).unwrap_or_else(|bad| errors::bad_value("rfm_breaks", bad));
        match weight {
            None => collector.values.push(v),
            Some(count) => {
                let count = usize::try_from(count).unwrap_or(usize::MAX);
                let total = collector.values.len().saturating_add(count);
                if total > MAX_BREAKS_VALUES {
                    errors::too_many_values("rfm_breaks", total, MAX_BREAKS_VALUES, WEIGHT_HINT);
                }
                if collector.push_repeated(v, count).is_err() {
                    errors::out_of_memory("rfm_breaks", count);
                }
            }
        }
    }
    state
}

/// The most values rfm_breaks(value, bins, descending, weight) expands its weights into: as
/// many as its serialized state can hold (8 bytes each in 1 GB, after its 8-byte header).
const MAX_BREAKS_VALUES: usize = (MAX_ENCODED_BYTES - 8) / 8;
const WEIGHT_HINT: &str = "The weights add up to more values than one state holds; check that the weight is a count of customers.";

fn breaks_mismatch(known: (u32, bool), given: (u32, bool)) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("rfm_breaks: bins and descending must be the same on every row, got {known:?} and {given:?}"),
        Some(BREAKS_HINT.into()),
    )
}

// The support functions' symbols keep the names pgrx gave them in 0.1.0 (`_wrapper`), which
// its install script refers to.

v1_function!(
    rfm_breaks_trans_wrapper,
    pg_finfo_rfm_breaks_trans_wrapper,
    |call| { collect_breaks(call, Some(5), Some(false)) }
);

v1_function!(
    rfm_breaks_bins_trans_wrapper,
    pg_finfo_rfm_breaks_bins_trans_wrapper,
    |call| { collect_breaks(call, call.i32(2), Some(false)) }
);

v1_function!(
    rfm_breaks_full_trans_wrapper,
    pg_finfo_rfm_breaks_full_trans_wrapper,
    |call| { collect_breaks(call, call.i32(2), call.bool(3)) }
);

// rfm_breaks(value, bins, descending, weight): a NULL weight skips the row, as a NULL value does.
v1_function!(
    rfm_breaks_weighted_trans,
    pg_finfo_rfm_breaks_weighted_trans,
    |call| {
        let weight = call.weight(4, "rfm_breaks").unwrap_or(0);
        collect_weighted_breaks(call, call.i32(2), call.bool(3), Some(weight))
    }
);

v1_function!(
    rfm_breaks_combine_wrapper,
    pg_finfo_rfm_breaks_combine_wrapper,
    |call| {
        call.combine::<BreaksCollector>(|first, second| {
            if let Err(known) = first.merge(second) {
                breaks_mismatch(
                    known,
                    second.parameters.expect("a mismatch needs parameters"),
                );
            }
        })
    }
);

v1_function!(
    rfm_breaks_serialize_wrapper,
    pg_finfo_rfm_breaks_serialize_wrapper,
    |call| {
        let collector = call.state::<BreaksCollector>(0).expect("STRICT");
        let bytes = collector.to_bytes();
        new_varlena("rfm_breaks", bytes.len(), |out| out.copy_from_slice(&bytes))
    }
);

v1_function!(
    rfm_breaks_deserialize_wrapper,
    pg_finfo_rfm_breaks_deserialize_wrapper,
    |call| { call.deserialize_state(BreaksCollector::from_bytes) }
);

v1_function!(
    rfm_breaks_final_wrapper,
    pg_finfo_rfm_breaks_final_wrapper,
    |call| {
        let collector = call.state::<BreaksCollector>(0).expect("STRICT");
        call.refuse_running_frame("rfm_breaks", collector.grew_since_last_final());
        match collector.edges() {
            Some(edges) => edges.into_datum().expect("a float8[] datum"),
            None => call.null(),
        }
    }
);

#[pg_extern(sql = false)]
fn rfm_bin(
    value: Option<f64>,
    edges: Option<Vec<Option<f64>>>,
    descending: Option<bool>,
) -> Option<i16> {
    const HINT: &str =
        "Pass the edges rfm_breaks(value, bins, descending) returned, with the same descending.";
    let Some(edges) = edges else {
        errors::null_parameter("rfm_bin", "edges", HINT)
    };
    let descending =
        descending.unwrap_or_else(|| errors::null_parameter("rfm_bin", "descending", HINT));
    let edges: Vec<f64> = edges
        .into_iter()
        .map(|e| match e {
            Some(e) if !e.is_nan() => e,
            _ => errors::raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "rfm_bin: the edges hold a NULL or NaN".into(),
                Some(HINT.into()),
            ),
        })
        .collect();
    if edges.len() + 1 > MAX_SCORE as usize || !breaks::edges_in_order(&edges, descending) {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "rfm_bin: {} edges that are not {}",
                edges.len(),
                if descending {
                    "descending (at most 99)"
                } else {
                    "ascending (at most 99)"
                }
            ),
            Some(HINT.into()),
        );
    }
    let value = validate::finite(value?).unwrap_or_else(|bad| errors::bad_value("rfm_bin", bad));
    Some(breaks::bin(value, &edges, descending))
}
