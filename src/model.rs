//! Fitted models as SQL values, for every family that fits one: the text form (checked JSON),
//! the binary form, the stored datum, and the warning of a fit that did not converge.

use crate::pg::datum::{self, new_varlena};
use crate::pg::{errors, Call};
use pgrx::prelude::*;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use segment_core::model::{self, StoredModel};
use std::ffi::{CStr, CString};

/// A fit's result as a stored model. Parameters out of the model's domain (a fit that ran off to
/// infinity on extreme data) are an error: stored, they could never be read back. A fit that
/// did not converge is kept, flagged, with a warning.
pub(crate) fn fitted_model<M: StoredModel>(
    function: &str,
    fitted: &M,
    iterations: usize,
    advice: &str,
) -> pg_sys::Datum {
    if let Err(why) = fitted.check() {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: the fit gives no usable model: {why}"),
            Some(format!(
                "The data are beyond what the model can fit. {advice}"
            )),
        );
    }
    if !fitted.converged() {
        pgrx::ereport!(
            PgLogLevel::WARNING,
            PgSqlErrorCode::ERRCODE_WARNING,
            format!("{function}: the fit did not converge in {iterations} iterations; the model is flagged \"converged\": false and its predictions are refused"),
            advice
        );
    }
    new_varlena(M::TYPE_NAME, model::encoded_len(fitted), |out| {
        model::write_to(fitted, out)
    })
}

pub(crate) fn model_in<M: StoredModel>(input: &CStr) -> Vec<u8> {
    let parsed = input
        .to_str()
        .map_err(|_| "not UTF-8".to_string())
        .and_then(model::from_text::<M>);
    let fitted = parsed.unwrap_or_else(|why| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {}: {why}", M::TYPE_NAME),
            Some("Use the text a fit printed: the fitting aggregate's result cast to text.".into()),
        )
    });
    let mut bytes = vec![0; model::encoded_len(&fitted)];
    model::write_to(&fitted, &mut bytes);
    bytes
}

pub(crate) fn decoded<M: StoredModel>(bytes: &[u8]) -> M {
    model::from_bytes(bytes).unwrap_or_else(|why| errors::corrupted(&why))
}

pub(crate) fn model_out<M: StoredModel>(bytes: &[u8]) -> CString {
    CString::new(model::to_text(&decoded::<M>(bytes))).expect("JSON escapes NUL")
}

pub(crate) fn receive<M: StoredModel>(call: Call) -> pg_sys::Datum {
    datum::receive(call, M::TYPE_NAME, |bytes| {
        model::from_bytes::<M>(bytes).map(drop)
    })
}

/// The stored model, refused when its fit did not converge: its numbers are not estimates.
pub(crate) fn usable<M: StoredModel>(function: &str, bytes: &[u8]) -> M {
    let model = decoded::<M>(bytes);
    if !model.converged() {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("{function}: the model's fit did not converge"),
            Some("The model's text shows \"converged\": false; fit again on more data, or check the input.".into()),
        );
    }
    model
}
