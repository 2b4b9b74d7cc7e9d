//! The storable `concentration` summary: every value of a distribution, sorted, so that any
//! measure can be read from it later without rescanning the data.
//!
//! Binary form (the varlena payload), little-endian:
//!   bytes 0..4  format version (1)
//!   bytes 4..8  reserved, 0
//!   bytes 8..   the values, ascending, 8 bytes each
//! Text form: `{"n": 3, "values": [1.0, 2.5, 4.0]}`, which round-trips every double exactly.

use crate::codec::{check_ascending_non_negative, Reader, Writer, MAX_ENCODED_BYTES};
use serde::{Deserialize, Serialize};
use std::fmt;

const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 8;
/// The most values a summary (or a serialized aggregate state) can hold: about 134 million.
pub const MAX_VALUES: usize = (MAX_ENCODED_BYTES - HEADER_BYTES) / 8;

#[derive(Debug, PartialEq)]
pub enum SummaryError {
    /// The bytes are not a summary of this format (corrupt, or from a newer release).
    BadBinary(String),
    /// The text form does not parse or breaks a rule.
    BadText(String),
}

impl fmt::Display for SummaryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SummaryError::BadBinary(why) | SummaryError::BadText(why) => f.write_str(why),
        }
    }
}

pub fn encoded_len(values: usize) -> usize {
    HEADER_BYTES + 8 * values
}

/// Encodes sorted values into `out` of exactly `encoded_len` bytes. The caller has checked
/// `ascending.len() <= MAX_VALUES`.
pub fn encode_into(out: &mut [u8], ascending: &[f64]) {
    let mut out = Writer::new(out);
    out.u32(FORMAT_VERSION);
    out.u32(0);
    out.f64s(ascending);
    out.finish();
}

pub fn encode(ascending: &[f64]) -> Vec<u8> {
    let mut bytes = vec![0; encoded_len(ascending.len())];
    encode_into(&mut bytes, ascending);
    bytes
}

/// Decodes the values as `encode` wrote them, checked: finite, non-negative and ascending.
pub fn decode(bytes: &[u8]) -> Result<Vec<f64>, SummaryError> {
    let bad = |e: crate::codec::DecodeError| SummaryError::BadBinary(e.0);
    let mut reader = Reader::new(bytes, "concentration");
    let version = reader.u32().map_err(bad)?;
    if version != FORMAT_VERSION {
        return Err(bad(
            reader.error(format_args!("unknown format version {version}"))
        ));
    }
    if reader.u32().map_err(bad)? != 0 {
        return Err(bad(reader.error("reserved header bytes are not zero")));
    }
    let values = reader.rest_f64s().map_err(bad)?;
    check_ascending_non_negative(&values, "concentration").map_err(bad)?;
    Ok(values)
}

/// The text form: `{"n": 3, "values": [1.0, 2.5, 4.0]}`; an unknown key is an error.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TextForm<V> {
    n: usize,
    values: V,
}

pub fn to_text(ascending: &[f64]) -> String {
    let form = TextForm {
        n: ascending.len(),
        values: ascending,
    };
    serde_json::to_string(&form).expect("finite doubles are JSON")
}

/// Parses the text form; the values come back validated and sorted.
pub fn from_text(text: &str) -> Result<Vec<f64>, SummaryError> {
    let bad = |why: String| SummaryError::BadText(why);
    let form: TextForm<Vec<f64>> = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let mut values = form.values;
    if values.len() != form.n {
        return Err(bad(format!(
            "\"n\" is {} but \"values\" holds {}",
            form.n,
            values.len()
        )));
    }
    if values.len() > MAX_VALUES {
        return Err(bad(format!("more than {MAX_VALUES} values")));
    }
    if let Some(v) = values.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
        return Err(bad(format!("{v} is not a finite, non-negative number")));
    }
    values.iter_mut().for_each(|x| *x += 0.0); // -0 becomes 0
    values.sort_by(f64::total_cmp);
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_round_trip() {
        let values = vec![0.0, 1.0 / 3.0, 2.5, 1e300];
        assert_eq!(decode(&encode(&values)).unwrap(), values);
        assert_eq!(decode(&encode(&[])).unwrap(), Vec::<f64>::new());
    }

    #[test]
    fn binary_rejects_foreign_bytes() {
        assert!(decode(&[1, 0, 0]).is_err());
        let mut future = encode(&[1.0]);
        future[0] = 2;
        assert!(matches!(decode(&future), Err(SummaryError::BadBinary(_))));
        // Each invariant: order, sign, finiteness, the reserved word.
        for bad in [&[2.0, 1.0][..], &[-1.0], &[f64::NAN], &[f64::INFINITY]] {
            let mut bytes = vec![0; encoded_len(bad.len())];
            bytes[0] = 1;
            crate::codec::write_f64s(&mut bytes[HEADER_BYTES..], bad);
            assert!(decode(&bytes).is_err(), "{bad:?}");
        }
        let mut reserved = encode(&[1.0]);
        reserved[5] = 1;
        assert!(decode(&reserved).is_err());
    }

    #[test]
    fn text_round_trip_is_exact() {
        let values = vec![
            0.0,
            5e-324,
            0.1,
            1.0 / 3.0,
            2.0,
            100.50000000000001, // needs serde_json's exact float parsing
            123456.789,
            1.7976931348623157e308,
        ];
        let text = to_text(&values);
        assert_eq!(from_text(&text).unwrap(), values);
        assert!(text.starts_with("{\"n\":8,\"values\":["), "{text}");
    }

    #[test]
    fn text_is_validated_and_sorted() {
        assert_eq!(
            from_text(r#"{"n":3,"values":[3,1,2]}"#).unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        for bad in [
            "",
            "[1,2]",
            r#"{"n":2,"values":[1]}"#,
            r#"{"n":1,"values":[-1]}"#,
            r#"{"n":1,"values":["a"]}"#,
            r#"{"n":1,"values":[1],"total":1}"#,
            r#"{"values":[1]}"#,
        ] {
            assert!(
                matches!(from_text(bad), Err(SummaryError::BadText(_))),
                "{bad}"
            );
        }
    }
}
