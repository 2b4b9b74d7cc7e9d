//! New PostgreSQL values made from Rust: varlena payloads written in place, and text.

use super::call::Call;
use super::errors;
use pgrx::pg_sys::{self, Datum};
use pgrx::PgSqlErrorCode;
use segment_core::codec::{DecodeError, MAX_ENCODED_BYTES};
use segment_core::decimal::Decimal;

/// A new varlena (bytea-like) datum of `len` payload bytes in the current memory context,
/// filled in place by `fill`: large results are written once, not built and then copied.
/// `function` names the caller in the ERROR for a value over PostgreSQL's 1 GB limit.
pub fn new_varlena(function: &str, len: usize, fill: impl FnOnce(&mut [u8])) -> Datum {
    if len > MAX_ENCODED_BYTES {
        errors::raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("{function}: a value of {len} bytes is over PostgreSQL's 1 GB limit"),
            Some("Aggregate per group (GROUP BY) so that each value is smaller.".into()),
        );
    }
    let total = len + pg_sys::VARHDRSZ;
    // SAFETY: palloc returns `total` writable bytes (or raises an ERROR); the header is set
    // before the payload is handed out, and `total` fits the 30-bit length checked above.
    unsafe {
        let varlena = pg_sys::palloc(total) as *mut pg_sys::varlena;
        pgrx::set_varsize_4b(varlena, total as i32);
        let payload = (varlena as *mut u8).add(pg_sys::VARHDRSZ);
        fill(std::slice::from_raw_parts_mut(payload, len));
        Datum::from(varlena)
    }
}

/// A `text` datum in the current memory context.
pub fn text(value: &str) -> Datum {
    new_varlena("text", value.len(), |out| {
        out.copy_from_slice(value.as_bytes())
    })
}

/// A `uuid` datum in the current memory context.
pub fn uuid(bytes: [u8; 16]) -> Datum {
    // SAFETY: palloc returns 16 writable bytes (or raises an ERROR); a uuid is those bytes,
    // passed by reference.
    unsafe {
        let out = pg_sys::palloc(16) as *mut [u8; 16];
        out.write(bytes);
        Datum::from(out)
    }
}

/// A storable type's SEND function: its binary form is the stored payload itself (a format
/// version first), so binary COPY, binary-protocol clients and pg_dump carry it unchanged.
pub fn send(call: Call, type_name: &str) -> Datum {
    let payload = call.bytes(0).expect("STRICT");
    new_varlena(type_name, payload.len(), |out| out.copy_from_slice(payload))
}

/// A storable type's RECEIVE function: the bytes SEND wrote, checked by `check` (every
/// invariant of the format) before they become a value.
pub fn receive(
    call: Call,
    type_name: &str,
    check: impl FnOnce(&[u8]) -> Result<(), DecodeError>,
) -> Datum {
    let payload = call.received_bytes(0);
    if let Err(why) = check(payload) {
        errors::corrupted(&why);
    }
    new_varlena(type_name, payload.len(), |out| out.copy_from_slice(payload))
}

/// A varlena's payload read in place when it is neither compressed nor stored apart (what
/// PostgreSQL's VARDATA_ANY reads for such values), None otherwise, for the caller to detoast.
#[inline]
pub fn inline_payload<'a>(datum: Datum) -> Option<&'a [u8]> {
    if cfg!(target_endian = "big") {
        return None; // the header bits below are little-endian's
    }
    let start = datum.cast_mut_ptr::<u8>() as *const u8;
    // SAFETY: a non-NULL varlena datum points at its header, whose first byte says its kind
    // (postgres.h, little-endian layout): 0bxxxxxxx1 a 1-byte header (0x01 alone: a TOAST
    // pointer), 0bxxxxxx00 a 4-byte header, uncompressed. The length read from a header of
    // that kind covers the header and the payload, which the datum holds for the call.
    unsafe {
        let first = *start;
        if first & 0x01 == 0x01 {
            if first == 0x01 {
                return None; // external or expanded: detoast
            }
            let total = (first >> 1) as usize;
            Some(std::slice::from_raw_parts(start.add(1), total - 1))
        } else if first & 0x03 == 0x00 {
            let header = u32::from_le_bytes(std::ptr::read_unaligned(start as *const [u8; 4]));
            let total = (header >> 2) as usize;
            Some(std::slice::from_raw_parts(start.add(4), total - 4))
        } else {
            None // compressed inline: detoast
        }
    }
}

/// A `numeric`'s payload (its varlena data) as the nearest double when `Decimal`'s exact fast
/// path takes it; None for NaN, the infinities and long numbers. The layout is PostgreSQL's
/// (utils/adt/numeric.c): a 16-bit header, short or long, then base-10000 digits as 16-bit
/// integers, not aligned when the value sits in a tuple with a one-byte header.
pub fn numeric_to_f64_exact(payload: &[u8]) -> Option<f64> {
    const SIGN_MASK: u16 = 0xC000;
    const SHORT: u16 = 0x8000;
    const SPECIAL: u16 = 0xC000;
    const NEGATIVE: u16 = 0x4000;
    const SHORT_NEGATIVE: u16 = 0x2000;
    const SHORT_WEIGHT_SIGN: u16 = 0x0040;
    const SHORT_WEIGHT: u16 = 0x003F;
    /// More digits than this cannot take the fast path (trailing zero digits aside).
    const MAX_DIGITS: usize = 8;
    let read_u16 = |at: usize| {
        Some(u16::from_ne_bytes(
            payload.get(at..at + 2)?.try_into().ok()?,
        ))
    };
    let header = read_u16(0)?;
    let (negative, weight, digits_at) = match header & SIGN_MASK {
        SPECIAL => return None,
        SHORT => {
            let magnitude = (header & SHORT_WEIGHT) as i32;
            let weight = if header & SHORT_WEIGHT_SIGN != 0 {
                magnitude - 64
            } else {
                magnitude
            };
            (header & SHORT_NEGATIVE != 0, weight, 2)
        }
        sign => (sign == NEGATIVE, read_u16(2)? as i16 as i32, 4),
    };
    let count = (payload.len() - digits_at) / 2;
    if count > MAX_DIGITS {
        return None;
    }
    let mut digits = [0i16; MAX_DIGITS];
    for (i, digit) in digits[..count].iter_mut().enumerate() {
        *digit = read_u16(digits_at + 2 * i)? as i16;
    }
    Decimal {
        negative,
        weight,
        digits: &digits[..count],
    }
    .to_f64_exact()
}

/// Whether a `numeric`'s payload is NaN or ±Infinity.
pub fn numeric_is_special(payload: &[u8]) -> bool {
    payload.len() >= 2 && u16::from_ne_bytes([payload[0], payload[1]]) & 0xC000 == 0xC000
}
