//! `migration_matrix(from, to)`, `fluctuation_rate(from, to)` and `markov_projection`.

use crate::pg::errors;
use crate::v1_function;
use pgrx::prelude::*;
use pgrx::{IntoDatum, JsonB, PgSqlErrorCode};
use segment_core::codec::DecodeError;
use segment_core::dynamics::markov;
use segment_core::dynamics::migration::Migration;

v1_function!(
    migration_matrix_trans,
    pg_finfo_migration_matrix_trans,
    |call| {
        let (from, to) = (call.text(1), call.text(2));
        let (state, migration) = call.transition_state::<Migration>();
        migration.add(from, to);
        state
    }
);
v1_function!(
    migration_matrix_combine,
    pg_finfo_migration_matrix_combine,
    |call| { call.combine::<Migration>(|first, second| first.merge(second)) }
);
v1_function!(
    migration_matrix_serialize,
    pg_finfo_migration_matrix_serialize,
    |call| { call.serialize_state::<Migration>("migration_matrix") }
);
v1_function!(
    migration_matrix_deserialize,
    pg_finfo_migration_matrix_deserialize,
    |call| { call.deserialize_state(|bytes| Migration::from_bytes(bytes).map_err(DecodeError)) }
);
v1_function!(
    migration_matrix_final,
    pg_finfo_migration_matrix_final,
    |call| {
        let migration = call.state::<Migration>(0).expect("STRICT");
        JsonB(migration.to_json()).into_datum().expect("jsonb")
    }
);
v1_function!(
    fluctuation_rate_final,
    pg_finfo_fluctuation_rate_final,
    |call| {
        let migration = call.state::<Migration>(0).expect("STRICT");
        match migration.fluctuation_rate() {
            Some(rate) => pg_sys::Datum::from(rate.to_bits()),
            None => call.null(), // no customer in both snapshots
        }
    }
);

const PROJECTION_HINT: &str = "markov_projection(migration_matrix(...), '{\"Champions\": 0.2, ...}', 4): the matrix as migration_matrix returns it, shares of its segments adding up to 1.";

/// Steps a projection may take: its path is part of the result, one mix a step.
const MAX_PROJECTION_STEPS: i32 = 10_000;

// The jsonb arguments are read through their text (serde says what is wrong with a number
// beyond double range, where pgrx's conversion panics).
v1_function!(
    markov_projection_wrapper,
    pg_finfo_markov_projection_wrapper,
    |call| {
        let json = |index: usize, name: &str| -> serde_json::Value {
            let text = call.jsonb_text(index).expect("STRICT");
            serde_json::from_str(&text).unwrap_or_else(|why| {
                errors::raise(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    format!("markov_projection: {name} cannot be read: {why}"),
                    Some(PROJECTION_HINT.into()),
                )
            })
        };
        let (matrix, shares) = (json(0, "the matrix"), json(1, "the shares"));
        let steps = call.i32(2).expect("STRICT");
        if !(0..=MAX_PROJECTION_STEPS).contains(&steps) {
            errors::parameter_out_of_range(
                "markov_projection",
                "steps",
                steps,
                &format!("[0, {MAX_PROJECTION_STEPS}]"),
                PROJECTION_HINT,
            );
        }
        let projected = markov::project(&matrix, &shares, steps as u32).unwrap_or_else(|why| {
            errors::raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("markov_projection: {}", why.0),
                Some(PROJECTION_HINT.into()),
            )
        });
        JsonB(projected).into_datum().expect("jsonb")
    }
);
