//! Customer ids as a summary keeps them: bigint, text or uuid, each with its binary and JSON
//! form and its fastest sort.

use super::stats::{CustomerStats, Order};
use crate::codec::{DecodeError, Reader, Writer};
use crate::sort::{i64_key, sort_by_key, sort_by_key_with_scratch, RADIX_THRESHOLD};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::hash::Hash;

/// A customer id as it is kept in a summary.
pub trait CustomerKey: Eq + Hash + Ord + Clone + Default + Serialize + DeserializeOwned {
    /// 1 for bigint ids, 2 for text ids, 3 for uuid ids: summaries of different kinds never mix.
    const KIND: u8;
    /// The SQL type of a summary of such ids, for messages.
    const TYPE_NAME: &'static str;
    /// The bytes of every id in the binary form, when they are all alike.
    const FIXED_BYTES: Option<usize>;
    /// Bytes of the id in the binary form.
    fn encoded_len(&self) -> usize;
    fn write(&self, out: &mut Writer);
    /// The id read in place (`&str` for text): compared to check a summary's order, or read
    /// past, without making an owned id.
    type Ref<'a>: Ord;
    fn read_ref<'a>(bytes: &mut Reader<'a>) -> Result<Self::Ref<'a>, DecodeError>;
    fn read(bytes: &mut Reader) -> Result<Self, DecodeError>;
    /// The id as JSON, for messages.
    fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an id is plain JSON")
    }
    /// Sorts a summary's customers by id.
    fn sort_by_id(entries: &mut [(Self, CustomerStats)]) {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    /// Sorts orders by customer, a customer's orders staying in the order they came.
    /// (`scratch` is for a radix sort, kept by the caller from one batch to the next.)
    fn sort_orders(orders: &mut [Order<Self>], _scratch: &mut Vec<Order<Self>>) {
        orders.sort_by(|a, b| a.customer.cmp(&b.customer));
    }
}

impl CustomerKey for i64 {
    const KIND: u8 = 1;
    const TYPE_NAME: &'static str = "rfm_summary";
    const FIXED_BYTES: Option<usize> = Some(8);
    fn encoded_len(&self) -> usize {
        8
    }
    fn write(&self, out: &mut Writer) {
        out.put(&self.to_le_bytes());
    }
    type Ref<'a> = i64;
    #[inline]
    fn read_ref<'a>(bytes: &mut Reader<'a>) -> Result<i64, DecodeError> {
        bytes.i64()
    }
    #[inline]
    fn read(bytes: &mut Reader) -> Result<Self, DecodeError> {
        bytes.i64()
    }
    fn sort_by_id(entries: &mut [(Self, CustomerStats)]) {
        sort_by_key(entries, |e| i64_key(e.0), &mut || ());
    }
    fn sort_orders(orders: &mut [Order<Self>], scratch: &mut Vec<Order<Self>>) {
        sort_by_key_with_scratch(orders, scratch, |o| i64_key(o.customer), &mut || ());
    }
}

impl CustomerKey for Box<str> {
    const KIND: u8 = 2;
    const TYPE_NAME: &'static str = "rfm_summary_text";
    const FIXED_BYTES: Option<usize> = None;
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
    fn write(&self, out: &mut Writer) {
        out.put(&(self.len() as u32).to_le_bytes());
        out.put(self.as_bytes());
    }
    type Ref<'a> = &'a str;
    fn read_ref<'a>(bytes: &mut Reader<'a>) -> Result<&'a str, DecodeError> {
        read_text(bytes)
    }
    fn read(bytes: &mut Reader) -> Result<Self, DecodeError> {
        read_text(bytes).map(Into::into)
    }
}

/// A uuid id: its 16 bytes, which order as PostgreSQL orders uuids (byte by byte). Its JSON
/// form is the canonical text, `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The first eight bytes as a number that orders like them.
    #[inline(always)]
    fn high(self) -> u64 {
        u64::from_be_bytes(self.0[..8].try_into().expect("8 of 16 bytes"))
    }
    /// The last eight bytes, likewise.
    #[inline(always)]
    fn low(self) -> u64 {
        u64::from_be_bytes(self.0[8..].try_into().expect("8 of 16 bytes"))
    }
}

// Byte by byte, as PostgreSQL compares uuids; as two numbers rather than a memcmp call, since
// every order of a batch is compared while it is counted.
impl Ord for Uuid {
    #[inline]
    fn cmp(&self, other: &Uuid) -> std::cmp::Ordering {
        (self.high(), self.low()).cmp(&(other.high(), other.low()))
    }
}

impl PartialOrd for Uuid {
    #[inline]
    fn partial_cmp(&self, other: &Uuid) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for Uuid {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Uuid {
    type Err = String;
    /// The canonical form, or 32 hex digits without hyphens.
    fn from_str(text: &str) -> Result<Uuid, String> {
        let hyphens = [8, 13, 18, 23]
            .iter()
            .all(|&i| text.as_bytes().get(i) == Some(&b'-'));
        let hex: String = if text.len() == 36 && hyphens {
            text.chars().filter(|&c| c != '-').collect()
        } else {
            text.into()
        };
        let bad = || format!("{text:?} is not a uuid");
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let n = u128::from_str_radix(&hex, 16).map_err(|_| bad())?;
        Ok(Uuid(n.to_be_bytes()))
    }
}

impl Serialize for Uuid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Uuid {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
        let text = <std::borrow::Cow<str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Sorts by uuid, stably. A radix key is 64 bits and a pass costs a read and a write of every
/// order, so the orders are radix-sorted by the leading 22 bits only (two passes), which tell
/// random uuids apart; each run that shares them is then sorted by its whole ids: a few orders
/// by comparison, many (ids alike in their leading bits, as sequential ones are) by radix
/// sorts of each half, low half first.
fn sort_by_uuid<T: Copy>(items: &mut [T], scratch: &mut Vec<T>, id: impl Fn(&T) -> Uuid) {
    const LEADING_BITS: u32 = 22;
    let leading = |item: &T| id(item).high() >> (64 - LEADING_BITS);
    sort_by_key_with_scratch(items, scratch, leading, &mut || ());
    let mut start = 0;
    while start < items.len() {
        let first = leading(&items[start]);
        let len = items[start..]
            .iter()
            .take_while(|item| leading(item) == first)
            .count();
        let run = &mut items[start..start + len];
        if len >= RADIX_THRESHOLD {
            sort_by_key_with_scratch(run, scratch, |item| id(item).low(), &mut || ());
            sort_by_key_with_scratch(run, scratch, |item| id(item).high(), &mut || ());
        } else if len > 1 {
            run.sort_by_key(|item| id(item));
        }
        start += len;
    }
}

impl CustomerKey for Uuid {
    const KIND: u8 = 3;
    const TYPE_NAME: &'static str = "rfm_summary_uuid";
    const FIXED_BYTES: Option<usize> = Some(16);
    fn encoded_len(&self) -> usize {
        16
    }
    fn write(&self, out: &mut Writer) {
        out.put(&self.0);
    }
    type Ref<'a> = Uuid;
    #[inline]
    fn read_ref<'a>(bytes: &mut Reader<'a>) -> Result<Uuid, DecodeError> {
        Self::read(bytes)
    }
    #[inline]
    fn read(bytes: &mut Reader) -> Result<Self, DecodeError> {
        let id = bytes.bytes(16)?;
        Ok(Uuid(id.try_into().expect("16 bytes were read")))
    }
    fn sort_by_id(entries: &mut [(Self, CustomerStats)]) {
        sort_by_uuid(entries, &mut Vec::new(), |e| e.0);
    }
    fn sort_orders(orders: &mut [Order<Self>], scratch: &mut Vec<Order<Self>>) {
        sort_by_uuid(orders, scratch, |o| o.customer);
    }
}

/// A text id: its length, then its UTF-8 bytes.
fn read_text<'a>(bytes: &mut Reader<'a>) -> Result<&'a str, DecodeError> {
    let len = bytes.u32()? as usize;
    let text = bytes.bytes(len)?;
    let text = std::str::from_utf8(text).map_err(|_| bytes.error("customer id is not UTF-8"))?;
    if text.contains('\0') {
        // PostgreSQL's text cannot hold a NUL: such an id would come back as another one.
        return Err(bytes.error("customer id contains a NUL byte"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rfm::collector::RfmCollector;

    #[test]
    fn uuid_text_form_is_postgresql_s() {
        // The canonical form as PostgreSQL prints it (docs, "UUID Type").
        let text = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        let id: Uuid = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!("a0eebc999c0b4ef8bb6d6bb9bd380a11".parse::<Uuid>(), Ok(id));
        for bad in [
            "",
            "a0eebc99",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1é",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad}");
        }
    }

    #[test]
    fn uuids_sort_byte_by_byte_and_stably() {
        // Many ids share their high half (the second step), others their low half, and each
        // id comes several times: the order must be the byte order and stable.
        let mut orders: Vec<Order<Uuid>> = (0..20_000u64)
            .map(|i| {
                let high = if i % 3 == 0 {
                    7
                } else {
                    i.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                };
                let low = (i % 1_000).wrapping_mul(0xff51_afd7_ed55_8ccd);
                let id = (u128::from(high) << 64) | u128::from(low);
                Order {
                    customer: Uuid(id.to_be_bytes()),
                    at: i as i64,
                    amount: 0.0,
                }
            })
            .collect();
        let mut expected = orders.clone();
        expected.sort_by(|a, b| a.customer.cmp(&b.customer));
        Uuid::sort_orders(&mut orders, &mut Vec::new());
        let key = |o: &Order<Uuid>| (o.customer, o.at);
        assert_eq!(
            orders.iter().map(key).collect::<Vec<_>>(),
            expected.iter().map(key).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_uuid_summary_round_trips_and_keeps_its_kind() {
        let ids: Vec<Uuid> = [
            "ffffffff-0000-0000-0000-000000000000",
            "00000000-0000-0000-0000-000000000001",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
        let mut collector = RfmCollector::<Uuid>::default();
        collector.add(ids[0], 10, Some(5.0));
        collector.add(ids[1], 20, Some(7.0));
        collector.add(ids[0], 30, Some(1.0));
        collector.finish().unwrap();
        let text = collector.to_text();
        assert!(
            text.contains("\"00000000-0000-0000-0000-000000000001\""),
            "{text}"
        );
        let mut bytes = vec![0; collector.encoded_len().unwrap()];
        collector.write_to(&mut bytes);
        let mut again = RfmCollector::<Uuid>::from_bytes(&bytes).unwrap();
        again.finish().unwrap();
        assert_eq!(again.to_text(), text);
        assert!(RfmCollector::<i64>::from_bytes(&bytes).is_err());
        let mut parsed = RfmCollector::<Uuid>::from_text(&text).unwrap();
        parsed.finish().unwrap();
        assert_eq!(parsed.to_text(), text);
    }
}
