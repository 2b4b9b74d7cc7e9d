//! The SQL surface of the concentration measures: aggregates over raw values, the storable
//! `concentration` summary and its accessors. Translation only; the arithmetic is in `measures`.
//!
//! Every function here is declared by hand in `concentration.sql` (hence `sql = false`): the
//! aggregates and the `concentration` type need SQL that pgrx does not generate, and one file
//! in declaration order reads better than attributes spread over this one.

use crate::pg::aggregate::check_for_interrupts;
use crate::pg::datum::{self, new_varlena};
use crate::pg::{errors, Call};
use crate::v1_function;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use segment_core::codec::DecodeError;
use segment_core::concentration::measures::{
    gini_of_runs, gini_unbiased_of_runs, hhi_normalized_of_runs, hhi_of_runs, Distribution,
};
use segment_core::concentration::report::{Report, TotalOverflow};
use segment_core::concentration::summary;
use segment_core::validate;
use segment_core::values::{FractionMismatch, ValueCollector};
use std::ffi::{CStr, CString};

pgrx::extension_sql_file!("concentration.sql", name = "concentration");

/// The aggregates that share `concentration_trans` and `concentration_combine`.
const AGGREGATES: [&str; 8] = [
    "gini",
    "gini_unbiased",
    "hhi",
    "hhi_normalized",
    "top_share",
    "pareto_ratio",
    "concentration_agg",
    "rollup",
];

/// Name used in messages when PostgreSQL cannot tell which aggregate is running.
const FALLBACK_NAME: &str = "concentration aggregate";

// ---------------------------------------------------------------------------------------------
// Transition, combine and (de)serialization: shared by every concentration aggregate.

// The transition functions are plain V1 functions rather than `#[pg_extern]`s: they run once
// per row, and a generic argument-unboxing wrapper was most of an aggregate's time (profiled).

// For gini(x), gini_unbiased(x), hhi(x), hhi_normalized(x), pareto_ratio(x), concentration_agg(x):
// x double precision, or numeric read without the cast's detour through text.
v1_function!(concentration_trans, pg_finfo_concentration_trans, |call| {
    collect(call, Call::f64)
});

v1_function!(
    concentration_numeric_trans,
    pg_finfo_concentration_numeric_trans,
    |call| { collect(call, |call: Call, i| call.numeric(i, &AGGREGATES)) }
);

/// (state, x) -> state, x read by `read`.
#[inline(always)]
fn collect(call: Call, read: impl Fn(Call, usize) -> Option<f64>) -> pg_sys::Datum {
    let Some(x) = read(call, 1) else {
        return call.unchanged_state(); // NULLs are skipped, like sum() does
    };
    let x = validate::non_negative(x).unwrap_or_else(|bad| {
        errors::bad_value(&call.aggregate_name(&AGGREGATES, FALLBACK_NAME), bad)
    });
    let (state, collector) = call.transition_state::<ValueCollector>();
    collector.push(x);
    state
}

// For concentration_agg(x, weight): a row of a histogram stands for `weight` equal values, so a
// distributed table ships (value, count(*)) per shard instead of every value.
v1_function!(
    concentration_weighted_trans,
    pg_finfo_concentration_weighted_trans,
    |call| {
        let (Some(x), Some(weight)) = (call.f64(1), call.weight(2, "concentration_agg")) else {
            return call.unchanged_state();
        };
        let x = validate::non_negative(x)
            .unwrap_or_else(|bad| errors::bad_value("concentration_agg", bad));
        let (state, collector) = call.transition_state::<ValueCollector>();
        let count = usize::try_from(weight).unwrap_or(usize::MAX);
        check_size(
            "concentration_agg",
            collector.len().saturating_add(count),
            SUMMARY_HINT,
        );
        if collector.push_repeated(x, count).is_err() {
            errors::out_of_memory("concentration_agg", count);
        }
        state
    }
);

v1_function!(top_share_trans, pg_finfo_top_share_trans, |call| {
    collect_with_fraction(call, Call::f64, "top_share", "p", TOP_SHARE_HINT)
});

v1_function!(
    top_share_numeric_trans,
    pg_finfo_top_share_numeric_trans,
    |call| {
        collect_with_fraction(
            call,
            |call: Call, i| call.numeric(i, &["top_share"]),
            "top_share",
            "p",
            TOP_SHARE_HINT,
        )
    }
);

v1_function!(pareto_ratio_trans, pg_finfo_pareto_ratio_trans, |call| {
    collect_with_fraction(call, Call::f64, "pareto_ratio", "q", PARETO_RATIO_HINT)
});

v1_function!(
    pareto_ratio_numeric_trans,
    pg_finfo_pareto_ratio_numeric_trans,
    |call| {
        collect_with_fraction(
            call,
            |call: Call, i| call.numeric(i, &["pareto_ratio"]),
            "pareto_ratio",
            "q",
            PARETO_RATIO_HINT,
        )
    }
);

const TOP_SHARE_HINT: &str =
    "p is the fraction of units, largest first: top_share(x, 0.2) is the share of the top 20 %.";
const PARETO_RATIO_HINT: &str = "q is the share of the total: pareto_ratio(x, 0.8) is the fraction of units that makes 80 % of it.";

/// (state, x, fraction) -> state, for top_share(x, p) and pareto_ratio(x, q), x read by `read`.
#[inline(always)]
fn collect_with_fraction(
    call: Call,
    read: impl Fn(Call, usize) -> Option<f64>,
    function: &str,
    parameter: &str,
    hint: &str,
) -> pg_sys::Datum {
    let fraction = checked_fraction(function, parameter, call.f64(2), hint);
    let (state, collector) = call.transition_state::<ValueCollector>();
    if let Err(mismatch) = collector.set_fraction(fraction) {
        fraction_mismatch(function, parameter, mismatch);
    }
    if let Some(x) = read(call, 1) {
        let x = validate::non_negative(x).unwrap_or_else(|bad| errors::bad_value(function, bad));
        collector.push(x);
    }
    state
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

// The support functions' symbols keep the names pgrx gave them in 0.1.0 (`_wrapper`), which
// its install script refers to.

v1_function!(
    concentration_combine_wrapper,
    pg_finfo_concentration_combine_wrapper,
    |call| {
        // A NULL first state becomes a new state in the aggregate's context; the second is never
        // returned, and only a transient (just deserialized) one gives its values up.
        call.combine::<ValueCollector>(|first, second| {
            if let Err(mismatch) = first.merge(second) {
                let name = call.aggregate_name(&AGGREGATES, FALLBACK_NAME);
                let parameter = if name == "top_share" { "p" } else { "q" };
                fraction_mismatch(&name, parameter, mismatch);
            }
        })
    }
);

// Runs in each parallel worker: sorting here spreads the sort over the workers, and the
// leader merely merges sorted runs. (STRICT: the state is not NULL.)
v1_function!(
    concentration_serialize,
    pg_finfo_concentration_serialize,
    |call| {
        let collector = call.state::<ValueCollector>(0).expect("STRICT");
        check_size(
            "parallel concentration aggregate",
            collector.len(),
            SERIALIZE_HINT,
        );
        collector.sorted(&mut check_for_interrupts);
        new_varlena(
            "concentration_serialize",
            collector.serialized_len(),
            |out| collector.write_to(out),
        )
    }
);

const SERIALIZE_HINT: &str = "Run this query without parallel workers (SET max_parallel_workers_per_gather = 0), or aggregate per group.";

v1_function!(
    concentration_deserialize_wrapper,
    pg_finfo_concentration_deserialize_wrapper,
    |call| { call.deserialize_state(ValueCollector::from_bytes) }
);

fn check_size(function: &str, count: usize, hint: &str) {
    if count > summary::MAX_VALUES {
        errors::too_many_values(function, count, summary::MAX_VALUES, hint);
    }
}

// rollup(concentration): merges stored summaries (per day into per month, per region into all)
// as sorted runs, with no re-sort.
v1_function!(
    concentration_rollup_trans_wrapper,
    pg_finfo_concentration_rollup_trans_wrapper,
    |call| {
        let Some(summary) = call.bytes(1) else {
            return call.unchanged_state();
        };
        let mut run = ValueCollector::from_sorted(decoded(summary));
        let (state, collector) = call.transition_state::<ValueCollector>();
        collector
            .merge(&mut run)
            .expect("summaries carry no fraction");
        state
    }
);

// ---------------------------------------------------------------------------------------------
// Final functions. They sort the state in place, which leaves its contents unchanged, so they
// are READ_ONLY as PostgreSQL means it: the state may be read again, or grow.

/// The state, for a final function (STRICT: the state is not NULL).
fn final_state<'a>(call: Call, function: &str) -> &'a mut ValueCollector {
    let collector = call.state::<ValueCollector>(0).expect("STRICT");
    call.refuse_running_frame(function, collector.grew_since_last_final());
    collector
}

/// The state's values ascending.
fn final_values<'a>(call: Call, function: &str) -> &'a [f64] {
    final_state(call, function).sorted(&mut check_for_interrupts)
}

/// A measure's final function: `measure` of the values, NULL when it is undefined.
fn final_measure(
    call: Call,
    function: &str,
    measure: impl FnOnce(Distribution) -> Option<f64>,
) -> pg_sys::Datum {
    measure_datum(
        call,
        measure(Distribution::new(final_values(call, function))),
    )
}

/// The final function of a measure read in one pass over the sorted runs of a parallel plan,
/// merged on the fly (see `gini_of_runs`): the leader never writes the merged values.
fn final_runs_measure(
    call: Call,
    function: &str,
    measure: impl FnOnce(&[&[f64]]) -> Option<f64>,
) -> pg_sys::Datum {
    let runs = final_state(call, function).sorted_runs(&mut check_for_interrupts);
    measure_datum(call, measure(&runs))
}

fn measure_datum(call: Call, measure: Option<f64>) -> pg_sys::Datum {
    match measure {
        Some(x) => x.into_datum().expect("a float8"),
        None => call.null(),
    }
}

fn collected_fraction(call: Call) -> Option<f64> {
    call.state::<ValueCollector>(0).expect("STRICT").fraction()
}

v1_function!(gini_final_wrapper, pg_finfo_gini_final_wrapper, |call| {
    final_runs_measure(call, "gini", gini_of_runs)
});

v1_function!(
    gini_unbiased_final_wrapper,
    pg_finfo_gini_unbiased_final_wrapper,
    |call| { final_runs_measure(call, "gini_unbiased", gini_unbiased_of_runs) }
);

v1_function!(hhi_final_wrapper, pg_finfo_hhi_final_wrapper, |call| {
    final_runs_measure(call, "hhi", hhi_of_runs)
});

v1_function!(
    hhi_normalized_final_wrapper,
    pg_finfo_hhi_normalized_final_wrapper,
    |call| { final_runs_measure(call, "hhi_normalized", hhi_normalized_of_runs) }
);

/// The share the Pareto principle names: "x % of customers make 80 % of revenue".
const DEFAULT_PARETO_SHARE: f64 = 0.8;

v1_function!(
    pareto_ratio_final_wrapper,
    pg_finfo_pareto_ratio_final_wrapper,
    |call| {
        let q = collected_fraction(call).unwrap_or(DEFAULT_PARETO_SHARE);
        final_measure(call, "pareto_ratio", |d| d.pareto_ratio(q))
    }
);

v1_function!(
    top_share_final_wrapper,
    pg_finfo_top_share_final_wrapper,
    |call| {
        match collected_fraction(call) {
            Some(p) => final_measure(call, "top_share", |d| d.top_share(p)),
            None => call.null(), // no row, so no p
        }
    }
);

// (STRICT: the state is not NULL.)
v1_function!(
    concentration_agg_final,
    pg_finfo_concentration_agg_final,
    |call| {
        let collector = call.state::<ValueCollector>(0).expect("STRICT");
        if collector.is_empty() {
            return call.null(); // only NULLs: no summary
        }
        check_size("concentration_agg", collector.len(), SUMMARY_HINT);
        let values = final_values(call, "concentration_agg");
        new_varlena(
            "concentration_agg",
            summary::encoded_len(values.len()),
            |out| summary::encode_into(out, values),
        )
    }
);

const SUMMARY_HINT: &str = "Build one summary per group (GROUP BY), or use the aggregates gini(x), top_share(x, p), ... directly: they have no such limit when run serially.";

// ---------------------------------------------------------------------------------------------
// The `concentration` type and its accessors.

#[pg_extern(sql = false)]
fn concentration_in(input: &CStr) -> Vec<u8> {
    let text = input.to_str().unwrap_or_else(|_| bad_text("not UTF-8"));
    let values = summary::from_text(text).unwrap_or_else(|e| bad_text(&e.to_string()));
    summary::encode(&values)
}

v1_function!(concentration_send, pg_finfo_concentration_send, |call| {
    datum::send(call, "concentration")
});

v1_function!(concentration_recv, pg_finfo_concentration_recv, |call| {
    datum::receive(call, "concentration", |bytes| {
        summary::decode(bytes)
            .map(drop)
            .map_err(|e| DecodeError(e.to_string()))
    })
});

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
    summary::decode(bytes).unwrap_or_else(|e| corrupted(&e.to_string()))
}

fn corrupted(why: &str) -> ! {
    errors::raise(
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        why.to_string(),
        None,
    )
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

#[pg_extern(sql = false)]
fn concentration_report(c: &[u8]) -> JsonB {
    let values = decoded(c);
    let report = Report::of(&Distribution::new(&values)).unwrap_or_else(|TotalOverflow| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            "concentration_report: the total of the values is out of the range of double precision".into(),
            Some("gini(c), top_share(c, p), ... still read such a summary; only its total cannot be shown.".into()),
        )
    });
    JsonB(serde_json::to_value(report).expect("a report is plain JSON"))
}
