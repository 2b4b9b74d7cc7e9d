//! A fitted model as a stored value: a small JSON object, checked when read.
//!
//! A model is a handful of numbers, so its binary form is its text form behind a format
//! version: one codec for both, exact (serde_json writes the shortest decimal that reads back
//! the same double), and every read checks the parameters' domain.

use crate::codec::{DecodeError, Reader, Writer};
use serde::de::DeserializeOwned;
use serde::Serialize;

const FORMAT_VERSION: u32 = 1;

/// A model that can be stored.
pub trait StoredModel: Serialize + DeserializeOwned {
    /// The SQL type's name, for messages.
    const TYPE_NAME: &'static str;
    /// Err naming what is out of the parameters' domain.
    fn check(&self) -> Result<(), String>;
    /// Whether the fit converged: a model that did not is kept, flagged, and never used.
    fn converged(&self) -> bool;
}

pub fn to_text<M: StoredModel>(model: &M) -> String {
    serde_json::to_string(model).expect("a model is plain JSON")
}

/// Parses and checks the text form; an unknown or missing key is an error.
pub fn from_text<M: StoredModel>(text: &str) -> Result<M, String> {
    let model: M = serde_json::from_str(text).map_err(|e| e.to_string())?;
    model.check()?;
    Ok(model)
}

pub fn encoded_len<M: StoredModel>(model: &M) -> usize {
    4 + to_text(model).len()
}

pub fn write_to<M: StoredModel>(model: &M, out: &mut [u8]) {
    let mut out = Writer::new(out);
    out.u32(FORMAT_VERSION);
    out.put(to_text(model).as_bytes());
    out.finish();
}

pub fn from_bytes<M: StoredModel>(bytes: &[u8]) -> Result<M, DecodeError> {
    let mut reader = Reader::new(bytes, M::TYPE_NAME);
    let version = reader.u32()?;
    if version != FORMAT_VERSION {
        return Err(reader.error(format_args!("unknown format version {version}")));
    }
    let text = std::str::from_utf8(reader.bytes(reader.remaining())?)
        .map_err(|_| reader.error("not UTF-8"))?;
    from_text(text).map_err(|why| reader.error(why))
}

/// Err unless every parameter is a positive, finite number.
pub fn positive(parameters: &[(&str, f64)]) -> Result<(), String> {
    match parameters
        .iter()
        .find(|(_, v)| !(v.is_finite() && *v > 0.0))
    {
        Some((name, v)) => Err(format!("{name} = {v} must be a positive number")),
        None => Ok(()),
    }
}
