//! Customer ids as a summary keeps them: bigint or text, each with its binary and JSON form and
//! its fastest sort.

use super::stats::{CustomerStats, Order};
use crate::codec::{DecodeError, Reader, Writer};
use crate::sort::{i64_key, sort_by_key, sort_by_key_with_scratch};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::hash::Hash;

/// A customer id as it is kept in a summary.
pub trait CustomerKey: Eq + Hash + Ord + Clone + Default + Serialize + DeserializeOwned {
    /// 1 for bigint ids, 2 for text ids: summaries of the two kinds never mix.
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
