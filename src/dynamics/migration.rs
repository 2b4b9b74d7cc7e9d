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

#[pg_extern(sql = false)]
fn markov_projection(matrix: JsonB, shares: JsonB, steps: i32) -> JsonB {
    let steps = u32::try_from(steps).unwrap_or_else(|_| {
        errors::parameter_out_of_range(
            "markov_projection",
            "steps",
            steps,
            "[0, 2147483647]",
            PROJECTION_HINT,
        )
    });
    let projected = markov::project(&matrix.0, &shares.0, steps).unwrap_or_else(|why| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("markov_projection: {}", why.0),
            Some(PROJECTION_HINT.into()),
        )
    });
    JsonB(projected)
}
