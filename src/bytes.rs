//! Little-endian arrays of doubles inside byte buffers (summaries, serialized states).

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

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let values = [0.0, 1.5, f64::MAX, 5e-324];
        let mut bytes = vec![0u8; 32];
        super::write_f64s(&mut bytes, &values);
        assert_eq!(super::read_f64s(&bytes), values);
    }
}
