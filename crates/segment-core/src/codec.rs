//! The one binary codec behind every stored value (`concentration`, `rfm_summary`, ...) and
//! every serialized aggregate state: little-endian fields, written into a buffer sized
//! beforehand and read back with every length checked.
//!
//! A stored value may come from a dump, a binary COPY or a client, so a decoder trusts nothing:
//! it returns a `DecodeError` saying what is wrong, and the SQL layer turns that into an ERROR
//! (SQLSTATE XX001) naming the type. Each format starts with its own version number, so a
//! later release can still read what an earlier one stored.

use std::fmt;

/// PostgreSQL's largest value is 1 GB (MaxAllocSize) including its 4-byte header: no encoded
/// value, summary or state may be longer than this.
pub const MAX_ENCODED_BYTES: usize = 0x3fff_ffff - 4;

/// Why bytes are not a valid value of their type.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for DecodeError {
    fn from(why: String) -> Self {
        DecodeError(why)
    }
}

impl From<&str> for DecodeError {
    fn from(why: &str) -> Self {
        DecodeError(why.into())
    }
}

/// Err unless `len` bytes fit in one PostgreSQL value; the Err carries the size asked for.
pub fn check_encoded_len(len: usize) -> Result<usize, usize> {
    if len > MAX_ENCODED_BYTES {
        Err(len)
    } else {
        Ok(len)
    }
}

/// Fills a buffer made for exactly what is written into it (a large value is written straight
/// into PostgreSQL's memory, never built elsewhere and copied).
pub struct Writer<'a> {
    rest: &'a mut [u8],
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut [u8]) -> Self {
        Writer { rest: out }
    }

    #[inline]
    pub fn put(&mut self, bytes: &[u8]) {
        let (head, rest) = std::mem::take(&mut self.rest).split_at_mut(bytes.len());
        head.copy_from_slice(bytes);
        self.rest = rest;
    }

    #[inline]
    pub fn u32(&mut self, v: u32) {
        self.put(&v.to_le_bytes());
    }

    #[inline]
    pub fn u64(&mut self, v: u64) {
        self.put(&v.to_le_bytes());
    }

    #[inline]
    pub fn i64(&mut self, v: i64) {
        self.put(&v.to_le_bytes());
    }

    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.put(&v.to_le_bytes());
    }

    #[inline]
    pub fn f64s(&mut self, values: &[f64]) {
        let (head, rest) = std::mem::take(&mut self.rest).split_at_mut(8 * values.len());
        write_f64s(head, values);
        self.rest = rest;
    }

    /// Asserts that the buffer was sized right: a wrong size is a bug, not bad input.
    pub fn finish(self) {
        assert!(self.rest.is_empty(), "the encoded size was computed wrong");
    }
}

/// Reads fields off the front of a byte slice; every read checks that the bytes are there.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
    /// The type's name, for the messages: "truncated rfm_summary".
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Reader { rest: bytes, what }
    }

    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    pub fn error(&self, why: impl fmt::Display) -> DecodeError {
        DecodeError(format!("{}: {why}", self.what))
    }

    #[inline]
    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(self.error("truncated value"));
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    pub fn take<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.bytes(N)?.try_into().expect("N bytes"))
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take::<1>()?[0])
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_le_bytes(self.take()?))
    }

    /// Every remaining byte as doubles; Err unless they are a whole number of them.
    pub fn rest_f64s(&mut self) -> Result<Vec<f64>, DecodeError> {
        if !self.rest.len().is_multiple_of(8) {
            return Err(self.error(format_args!(
                "{} bytes are not a whole number of values",
                self.rest.len()
            )));
        }
        let values = read_f64s(self.rest);
        self.rest = &[];
        Ok(values)
    }

    /// Err when bytes are left over after the last field.
    pub fn end(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.error(format_args!("{} trailing bytes", self.rest.len())))
        }
    }
}

/// An aggregate state with a serialized form (the customer-value states).
pub trait EncodedState {
    fn encoded_len(&self) -> usize;
    /// Writes the state into `out` of exactly `encoded_len()` bytes.
    fn write_to(&self, out: &mut [u8]);
}

/// The layout of the customer-value models' aggregate states: a format version, a reserved
/// word, then records of `WIDTH` doubles each.
pub fn records_len<const WIDTH: usize>(records: usize) -> usize {
    8 + 8 * WIDTH * records
}

pub fn write_records<const WIDTH: usize>(
    out: &mut [u8],
    version: u32,
    records: impl Iterator<Item = [f64; WIDTH]>,
) {
    let mut out = Writer::new(out);
    out.u32(version);
    out.u32(0);
    records.for_each(|record| out.f64s(&record));
    out.finish();
}

/// The records `write_records` wrote, each for `check` to turn into an item; Err for another
/// version, a partial record, or a record `check` refuses.
pub fn read_records<const WIDTH: usize, T, E: fmt::Debug>(
    bytes: &[u8],
    what: &'static str,
    version: u32,
    check: impl FnMut([f64; WIDTH]) -> Result<T, E>,
) -> Result<Vec<T>, DecodeError> {
    let mut reader = Reader::new(bytes, what);
    if reader.u32()? != version || reader.u32()? != 0 {
        return Err(reader.error("unknown format version"));
    }
    let values = reader.rest_f64s()?;
    if values.len() % WIDTH != 0 {
        return Err(reader.error("a partial record"));
    }
    let mut check = check;
    values
        .chunks_exact(WIDTH)
        .map(|chunk| {
            let record: [f64; WIDTH] = chunk.try_into().expect("WIDTH values");
            check(record).map_err(|why| DecodeError(format!("{what}: {why:?} in {record:?}")))
        })
        .collect()
}

/// Writes `values` into `out`, which is exactly 8 bytes per value.
pub fn write_f64s(out: &mut [u8], values: &[f64]) {
    debug_assert_eq!(out.len(), 8 * values.len());
    for (chunk, v) in out.chunks_exact_mut(8).zip(values) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
}

/// Reads the doubles `write_f64s` wrote; `bytes.len()` is a multiple of 8.
pub fn read_f64s(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|chunk| f64::from_le_bytes(chunk.try_into().expect("8 bytes")))
        .collect()
}

/// Err naming the first value that is not finite and non-negative (−0 included, which the sorts
/// assume is stored as 0), or out of ascending order. For such doubles the bit patterns order
/// like the numbers and stay at most those of the largest double, so one pair of integer
/// comparisons per value checks everything: it runs on every value of a state the leader of a
/// parallel plan reads, so it must cost little beside the copy.
pub fn check_ascending_non_negative(values: &[f64], what: &str) -> Result<(), DecodeError> {
    let mut previous = 0u64;
    for &x in values {
        let bits = x.to_bits();
        if !(bits >= previous && bits <= f64::MAX.to_bits()) {
            return Err(DecodeError(if bits <= f64::MAX.to_bits() {
                format!(
                    "{what}: values out of order ({} before {x})",
                    f64::from_bits(previous)
                )
            } else {
                format!("{what}: value {x} is not finite and non-negative")
            }));
        }
        previous = bits;
    }
    Ok(())
}

/// Err naming the first value that is not finite and non-negative (−0 included), in any order.
pub fn check_non_negative(values: &[f64], what: &str) -> Result<(), DecodeError> {
    match values.iter().find(|x| x.to_bits() > f64::MAX.to_bits()) {
        Some(x) => Err(DecodeError(format!(
            "{what}: value {x} is not finite and non-negative"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let values = [0.0, 1.5, f64::MAX, 5e-324];
        let mut bytes = vec![0u8; 4 + 8 + 32];
        let mut out = Writer::new(&mut bytes);
        out.u32(7);
        out.i64(-3);
        out.f64s(&values);
        out.finish();
        let mut r = Reader::new(&bytes, "test");
        assert_eq!((r.u32().unwrap(), r.i64().unwrap()), (7, -3));
        assert_eq!(r.rest_f64s().unwrap(), values);
        r.end().unwrap();
    }

    #[test]
    fn short_and_long_input_is_an_error() {
        let mut r = Reader::new(&[1, 2, 3], "test");
        assert_eq!(r.u32(), Err(DecodeError("test: truncated value".into())));
        let mut r = Reader::new(&[0; 9], "test");
        r.u64().unwrap();
        assert!(r.clone().end().is_err());
        assert!(r.rest_f64s().is_err());
    }

    #[test]
    fn ascending_check() {
        assert!(check_ascending_non_negative(&[0.0, 1.0, 1.0], "t").is_ok());
        for bad in [&[2.0, 1.0][..], &[f64::NAN], &[-1.0], &[f64::INFINITY]] {
            assert!(check_ascending_non_negative(bad, "t").is_err(), "{bad:?}");
        }
    }
}
