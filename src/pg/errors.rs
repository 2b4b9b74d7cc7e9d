//! ERRORs as users should see them: the function, the bad value, a SQLSTATE, and a hint.
//!
//! Raising unwinds through Rust frames (so destructors run) and becomes a PostgreSQL ERROR at the
//! function boundary; the backend carries on.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use segment_core::validate::BadValue;

pub fn raise(code: PgSqlErrorCode, message: String, hint: Option<String>) -> ! {
    let mut report = ErrorReport::new(code, message, "rfm_segment");
    if let Some(hint) = hint {
        report = report.set_hint(hint);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR does not return")
}

/// A data value that the function's domain excludes.
pub fn bad_value(function: &str, bad: BadValue) -> ! {
    use PgSqlErrorCode::*;
    match bad {
        BadValue::NaN => raise(
            ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{function}: NaN is not a valid value"),
            Some("Leave NaN out with WHERE x <> 'NaN'; it usually comes from 0/0 upstream.".into()),
        ),
        BadValue::Infinite(x) => raise(
            ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: value {x} is out of range"),
            Some("Leave infinite values out with WHERE x NOT IN ('Infinity', '-Infinity').".into()),
        ),
        BadValue::Negative(x) => raise(
            ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{function}: value {x} is negative, but concentration is measured on non-negative amounts"),
            Some(
                "Leave negative values out with WHERE x >= 0 (or FILTER (WHERE x >= 0)), \
                 or clamp them to zero with greatest(x, 0)."
                    .into(),
            ),
        ),
    }
}

/// A NULL where the function needs a value: never silently replaced by a default.
pub fn null_parameter(function: &str, parameter: &str, hint: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        format!("{function}: {parameter} must not be NULL"),
        Some(hint.into()),
    )
}

/// A parameter outside its allowed range, e.g. `allowed = "(0, 1]"`.
pub fn parameter_out_of_range(
    function: &str,
    parameter: &str,
    value: impl std::fmt::Display,
    allowed: &str,
    hint: &str,
) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("{function}: {parameter} = {value} is outside {allowed}"),
        Some(hint.into()),
    )
}

/// A result too large for one PostgreSQL value (1 GB).
pub fn too_many_values(function: &str, count: usize, limit: usize, hint: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        format!(
            "{function}: {count} values exceed the limit of {limit} values in one state or summary"
        ),
        Some(hint.into()),
    )
}

/// Memory for `count` values could not be had (a weighted row asking for too many).
pub fn out_of_memory(function: &str, count: usize) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OUT_OF_MEMORY,
        format!("{function}: out of memory for {count} more values"),
        Some("A weight is how many units the row stands for; check that it is a count.".into()),
    )
}

/// An aggregate in a running window frame, `f(x) OVER (ORDER BY ...)`: each row would read the
/// whole frame again (see `segment_core::frame`).
pub fn running_frame(function: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        format!("{function}: a running window frame (OVER (... ORDER BY ...)) is not supported"),
        Some(format!(
            "It would read the whole frame again for every row. For the whole partition write \
             {function}(...) OVER (PARTITION BY ...) without ORDER BY; for a measure per period, \
             aggregate per period with GROUP BY."
        )),
    )
}

/// A stored value or serialized state that breaks its format's invariants.
pub fn corrupted(why: &segment_core::codec::DecodeError) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        why.to_string(),
        None,
    )
}
