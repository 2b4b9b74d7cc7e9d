//! The SQL surface of the one-pass RFM path: `rfm_agg` → `rfm_summary` (bigint customer ids),
//! `rfm_summary_text` (text ids) or `rfm_summary_uuid` (uuid ids), `rollup`, and `rfm_scores`. Translation only; the arithmetic
//! is in `segment_core::rfm`.

use crate::pg::aggregate::check_for_interrupts;
use crate::pg::datum::{self, new_varlena};
use crate::pg::srf::Memory;
use crate::pg::{errors, Call};
use crate::v1_function;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::codec::DecodeError;
use segment_core::rfm::collector::{FinishError, RfmCollector};
use segment_core::rfm::edges::{recency_days, ScoreEdges};
use segment_core::rfm::key::{CustomerKey, Uuid};
use segment_core::rfm::segments;
use segment_core::rfm::stats::CustomerStats;
use segment_core::rfm::summary::{SummaryReader, TextFormError};
use segment_core::validate;
use std::ffi::{CStr, CString};

pgrx::extension_sql_file!(
    "rfm_one_pass.sql",
    name = "rfm_one_pass",
    requires = ["rfm"]
);

/// The order's time and amount (arguments 2 and 3, the amount read by `read`), or None to skip
/// a row without a time. NaN or infinite amounts and infinite times are errors.
#[inline(always)]
fn order(call: Call, read: impl Fn(Call, usize) -> Option<f64>) -> Option<(i64, Option<f64>)> {
    let at = call.i64(2)?;
    if at == i64::MIN || at == i64::MAX {
        errors::raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            "rfm_agg: an order at -infinity or infinity has no time".into(),
            Some("Leave such orders out with WHERE isfinite(order_ts).".into()),
        );
    }
    let amount = read(call, 3)
        .map(|x| validate::finite(x).unwrap_or_else(|bad| errors::bad_value("rfm_agg", bad)));
    Some((at, amount))
}

// rfm_agg(bigint | text | uuid, timestamptz, double precision | numeric): once per order row,
// so plain V1 functions; a numeric amount is read without the cast's detour through text, uuids
// are 16-byte keys counted in sorted batches as bigint ids are.
v1_function!(rfm_agg_trans, pg_finfo_rfm_agg_trans, |call| {
    count_order(call, |c| c.i64(1), Call::f64, RfmCollector::<i64>::add)
});

v1_function!(
    rfm_agg_numeric_trans,
    pg_finfo_rfm_agg_numeric_trans,
    |call| { count_order(call, |c| c.i64(1), numeric_amount, RfmCollector::<i64>::add) }
);

v1_function!(rfm_agg_text_trans, pg_finfo_rfm_agg_text_trans, |call| {
    count_order(
        call,
        |c| c.text(1),
        Call::f64,
        RfmCollector::<Box<str>>::add_text,
    )
});

v1_function!(
    rfm_agg_text_numeric_trans,
    pg_finfo_rfm_agg_text_numeric_trans,
    |call| {
        count_order(
            call,
            |c| c.text(1),
            numeric_amount,
            RfmCollector::<Box<str>>::add_text,
        )
    }
);

v1_function!(rfm_agg_uuid_trans, pg_finfo_rfm_agg_uuid_trans, |call| {
    count_order(
        call,
        |c| c.uuid(1).map(Uuid),
        Call::f64,
        RfmCollector::<Uuid>::add,
    )
});

v1_function!(
    rfm_agg_uuid_numeric_trans,
    pg_finfo_rfm_agg_uuid_numeric_trans,
    |call| {
        count_order(
            call,
            |c| c.uuid(1).map(Uuid),
            numeric_amount,
            RfmCollector::<Uuid>::add,
        )
    }
);

fn numeric_amount(call: Call, index: usize) -> Option<f64> {
    call.numeric(index, &["rfm_agg"])
}

/// (state, customer, time, amount) -> state: the order counted by `add`, the customer read by
/// `customer`, the amount by `amount`; a row without customer or time is skipped.
#[inline(always)]
fn count_order<K: CustomerKey, I>(
    call: Call,
    customer: impl Fn(Call) -> Option<I>,
    amount: impl Fn(Call, usize) -> Option<f64>,
    add: impl Fn(&mut RfmCollector<K>, I, i64, Option<f64>),
) -> pg_sys::Datum {
    let (Some((at, amount)), Some(customer)) = (order(call, amount), customer(call)) else {
        return call.unchanged_state();
    };
    let (state, collector) = call.transition_state::<RfmCollector<K>>();
    add(collector, customer, at, amount);
    state
}

/// The binary form of a finished collector, written in place into a new value.
fn encoded<K: CustomerKey>(function: &str, collector: &RfmCollector<K>) -> pg_sys::Datum {
    new_varlena(function, checked_len(function, collector), |out| {
        collector.write_to(out)
    })
}

/// The size of the binary form; over PostgreSQL's 1 GB limit, an error.
fn checked_len<K: CustomerKey>(function: &str, collector: &RfmCollector<K>) -> usize {
    collector.encoded_len().unwrap_or_else(|size| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("{function}: the summary of {} customers needs more than {size} bytes, over PostgreSQL's 1 GB limit for one value", collector.len()),
            Some("Build one summary per region or period (GROUP BY) and score them separately; about 22 million bigint customers fit in one.".into()),
        )
    })
}

fn decoded<K: CustomerKey>(bytes: &[u8]) -> RfmCollector<K> {
    RfmCollector::from_bytes(bytes).unwrap_or_else(corrupted)
}

fn corrupted<T>(why: DecodeError) -> T {
    errors::corrupted(&why)
}

fn finished<K: CustomerKey>(function: &str, collector: &mut RfmCollector<K>) {
    match collector.finish() {
        Ok(()) => {}
        Err(FinishError::Corrupted(why)) => corrupted(why),
        Err(FinishError::CountOverflow(customer)) => errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: the purchase count of customer {customer} is out of the range of bigint"),
            Some("The summaries rolled up count more purchases than bigint holds; check where they came from.".into()),
        ),
        Err(FinishError::AmountOverflow(customer)) => errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("{function}: the net amount of customer {customer} is out of the range of double precision"),
            Some("The customer's amounts add up beyond 1.8e308; scale them (e.g. amount / 1000).".into()),
        ),
    }
}

/// Leaves the second state as it was in meaning (PostgreSQL may read it again).
fn combine<K: CustomerKey>(call: Call) -> pg_sys::Datum {
    call.combine::<RfmCollector<K>>(|first, second| first.merge(second))
}

fn rollup_trans<K: CustomerKey>(call: Call) -> pg_sys::Datum {
    let Some(summary) = call.bytes(1) else {
        return call.unchanged_state();
    };
    let mut part = decoded::<K>(summary);
    let (state, collector) = call.transition_state::<RfmCollector<K>>();
    collector.merge(&mut part);
    state
}

/// The final function of rfm_agg and rollup: the summary, NULL without customers. Finishing
/// changes how the state holds its customers, not which: the state may still be read again
/// or grow afterwards, so the aggregates keep the default FINALFUNC_MODIFY = READ_ONLY.
fn final_summary<K: CustomerKey>(call: Call) -> pg_sys::Datum {
    let collector = call.state::<RfmCollector<K>>(0).expect("STRICT");
    call.refuse_running_frame("rfm_agg", collector.grew_since_last_final());
    finished("rfm_agg", collector);
    if collector.is_empty() {
        return call.null();
    }
    encoded("rfm_agg", collector)
}

/// A parallel worker's state: the summary's own form, sorted in the worker, so that the
/// leader merges sorted runs.
fn serialized<K: CustomerKey>(call: Call) -> pg_sys::Datum {
    let collector = call.state::<RfmCollector<K>>(0).expect("STRICT");
    finished("rfm_agg", collector);
    encoded("rfm_agg", collector)
}

fn summary_in<K: CustomerKey>(input: &CStr) -> Vec<u8> {
    let parsed = input
        .to_str()
        .map_err(|_| TextFormError::Invalid("not UTF-8".into()))
        .and_then(RfmCollector::<K>::from_text);
    let collector = parsed.unwrap_or_else(|why| match why {
        TextFormError::NulInId => errors::raise(
            PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
            format!("invalid input syntax for type {}: a customer id contains \\u0000", K::TYPE_NAME),
            Some("PostgreSQL's text cannot hold the NUL character; remove it from the ids.".into()),
        ),
        TextFormError::Invalid(why) => errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {}: {why}", K::TYPE_NAME),
            Some("The text form is {\"customers\": [[id, first, last, purchases, amount, amount_error], ...]}, times in microseconds since 2000-01-01.".into()),
        ),
    });
    let mut bytes = vec![0; checked_len(K::TYPE_NAME, &collector)];
    collector.write_to(&mut bytes);
    bytes
}

fn summary_out<K: CustomerKey>(bytes: &[u8]) -> CString {
    let mut collector = decoded::<K>(bytes);
    finished(K::TYPE_NAME, &mut collector);
    CString::new(collector.to_text()).expect("JSON escapes NUL")
}

const SCORES_HINT: &str =
    "rfm_scores(summary, as_of => '2025-01-01', bins => 5); bins from 2 to 100.";

/// A customer id as an rfm_scores column.
trait IdColumn: CustomerKey {
    /// The id as a datum, made in the current memory context.
    fn datum(&self) -> pg_sys::Datum;
}

impl IdColumn for i64 {
    fn datum(&self) -> pg_sys::Datum {
        pg_sys::Datum::from(*self)
    }
}

impl IdColumn for Box<str> {
    fn datum(&self) -> pg_sys::Datum {
        datum::text(self)
    }
}

impl IdColumn for Uuid {
    fn datum(&self) -> pg_sys::Datum {
        datum::uuid(self.0)
    }
}

/// The arguments of rfm_scores(summary, [as_of,] bins), checked: None for a NULL summary.
struct ScoresCall<'a> {
    summary: Option<&'a [u8]>,
    /// None: as of the latest purchase in the summary.
    as_of: Option<i64>,
    bins: u32,
}

fn scores_call<'a>(call: Call, has_as_of: bool) -> ScoresCall<'a> {
    let bins = match call.i32(if has_as_of { 2 } else { 1 }) {
        None => errors::null_parameter("rfm_scores", "bins", SCORES_HINT),
        Some(b) if !(2..=100).contains(&b) => {
            errors::parameter_out_of_range("rfm_scores", "bins", b, "[2, 100]", SCORES_HINT)
        }
        Some(b) => b as u32,
    };
    let as_of = match (has_as_of, call.i64(1)) {
        (false, _) => None,
        (true, None) => errors::null_parameter("rfm_scores", "as_of", SCORES_HINT),
        (true, Some(t)) => Some(t),
    };
    ScoresCall {
        summary: call.bytes(0),
        as_of,
        bins,
    }
}

/// rfm_scores in materialize mode: every row goes straight into the tuplestore PostgreSQL
/// reads, formed once, rather than one call per row.
fn rfm_scores<K: IdColumn>(call: Call, has_as_of: bool) -> pg_sys::Datum {
    let arguments = scores_call(call, has_as_of);
    let mut rows = call.materialize();
    let Some(summary) = arguments.summary else {
        return rows.finish(); // no summary, no customers
    };
    let customers = SummaryReader::<K>::new(summary).unwrap_or_else(corrupted);
    let edges = ScoreEdges::of(customers.clone().stats(), arguments.bins).unwrap_or_else(|overflow| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("rfm_scores: a customer's net amount, {overflow}, is out of the range of double precision"),
            Some("The customer's amounts add up beyond 1.8e308; scale them (e.g. amount / 1000) in rfm_agg.".into()),
        )
    });
    let as_of = checked_as_of(edges.latest_purchase, arguments.as_of);
    let mut cells = CellTexts::new(arguments.bins);
    for (i, (customer, stats)) in customers.enumerate() {
        if i % 65_536 == 0 {
            check_for_interrupts();
        }
        rows.push(|| score_row(&customer, &stats, &edges, &mut cells, as_of));
    }
    rows.finish()
}

/// One customer's row of rfm_scores, None for NULL: customer_id, first_order, last_order,
/// recency_days, frequency, monetary, r, f, m, rfm_cell, rfm_total, segment.
fn score_row<K: IdColumn>(
    customer: &K,
    stats: &CustomerStats,
    edges: &ScoreEdges,
    cells: &mut CellTexts,
    as_of: i64,
) -> [Option<pg_sys::Datum>; 12] {
    let (r, f, m) = edges.score(stats);
    let cell = match (r, f, m) {
        (Some(r), Some(f), Some(m)) => Some(cells.get(r, f, m)),
        _ => None,
    };
    let float = |x: f64| pg_sys::Datum::from(x.to_bits());
    [
        Some(customer.datum()),
        stats.first().map(pg_sys::Datum::from),
        stats.last().map(pg_sys::Datum::from),
        recency_days(stats, as_of).map(float),
        Some(pg_sys::Datum::from(stats.purchases as i64)),
        Some(float(stats.monetary())),
        r.map(pg_sys::Datum::from),
        f.map(pg_sys::Datum::from),
        m.map(pg_sys::Datum::from),
        cell.map(|c| c.name),
        cell.map(|c| c.total),
        cell.and_then(|c| c.segment),
    ]
}

/// as_of as given, or the latest purchase in the summary; an as_of before that is an error.
fn checked_as_of(latest: Option<i64>, as_of: Option<i64>) -> i64 {
    if let Some(infinite) = as_of.filter(|&t| t == i64::MIN || t == i64::MAX) {
        errors::raise(
            PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
            format!(
                "rfm_scores: as_of {} has no recency",
                timestamp_text(infinite)
            ),
            Some("Pass a finite time, e.g. as_of => now() or the end of the period.".into()),
        );
    }
    let as_of = as_of.unwrap_or(latest.unwrap_or(0));
    if let Some(latest) = latest.filter(|&l| l > as_of) {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("rfm_scores: as_of {} is before the last purchase in the summary, {}", timestamp_text(as_of), timestamp_text(latest)),
            Some("Build the summary from the orders up to as_of: rfm_agg(...) FILTER (WHERE order_ts <= as_of), or WHERE order_ts <= as_of.".into()),
        );
    }
    as_of
}

/// The columns that depend only on the cell (r, f, m): rfm_cell, rfm_total and segment.
#[derive(Clone, Copy)]
struct Cell {
    name: pg_sys::Datum,
    total: pg_sys::Datum,
    /// Only with 5 bins, which the default segments are written for.
    segment: Option<pg_sys::Datum>,
}

/// Cells made once each (in the function's memory) for up to 9 bins, where there are at most
/// 729 of them and a million customers share them; made per row (in the row's memory) above.
struct CellTexts {
    bins: u32,
    rules: Vec<segments::Rule>,
    made: Vec<Option<Cell>>,
    /// Where the cells made once are allocated.
    memory: Memory,
}

impl CellTexts {
    /// Cells allocated in the current memory context when made once.
    fn new(bins: u32) -> Self {
        let cached = if bins <= 9 { bins.pow(3) as usize } else { 0 };
        CellTexts {
            bins,
            rules: segments::default_rules(),
            made: vec![None; cached],
            memory: Memory::current(),
        }
    }

    fn get(&mut self, r: i16, f: i16, m: i16) -> Cell {
        let bins = self.bins as usize;
        let index = ((r as usize - 1) * bins + (f as usize - 1)) * bins + (m as usize - 1);
        if let Some(Some(cell)) = self.made.get(index) {
            return *cell;
        }
        let cached = index < self.made.len();
        let make = || {
            let segment = (self.bins == 5)
                .then(|| datum::text(segments::segment(&self.rules, r.into(), f.into(), m.into())));
            Cell {
                name: datum::text(&cell_name(r, f, m, self.bins)),
                total: pg_sys::Datum::from(i32::from(r) + i32::from(f) + i32::from(m)),
                segment,
            }
        };
        if !cached {
            return make();
        }
        let cell = self.memory.run(make);
        self.made[index] = Some(cell);
        cell
    }
}

/// '345' for bins up to 9, '3-4-5' above (a score may then have more digits).
fn cell_name(r: i16, f: i16, m: i16, bins: u32) -> String {
    if bins > 9 {
        return format!("{r}-{f}-{m}");
    }
    [r, f, m]
        .into_iter()
        .map(|score| char::from(b'0' + score as u8))
        .collect()
}

fn timestamp_text(micros: i64) -> String {
    TimestampWithTimeZone::try_from(micros)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| micros.to_string())
}

// The functions for each kind of customer id. The symbols keep the names of 0.1.0 (pgrx
// gave its `#[pg_extern]` functions a `_wrapper` suffix), which its install script refers to.

v1_function!(
    rfm_agg_combine_wrapper,
    pg_finfo_rfm_agg_combine_wrapper,
    |call| { combine::<i64>(call) }
);
v1_function!(
    rfm_agg_text_combine_wrapper,
    pg_finfo_rfm_agg_text_combine_wrapper,
    |call| { combine::<Box<str>>(call) }
);
v1_function!(
    rfm_agg_deserialize_wrapper,
    pg_finfo_rfm_agg_deserialize_wrapper,
    |call| { call.deserialize_state(RfmCollector::<i64>::from_state_bytes) }
);
v1_function!(
    rfm_agg_text_deserialize_wrapper,
    pg_finfo_rfm_agg_text_deserialize_wrapper,
    |call| { call.deserialize_state(RfmCollector::<Box<str>>::from_state_bytes) }
);
v1_function!(
    rfm_rollup_trans_wrapper,
    pg_finfo_rfm_rollup_trans_wrapper,
    |call| { rollup_trans::<i64>(call) }
);
v1_function!(
    rfm_rollup_text_trans_wrapper,
    pg_finfo_rfm_rollup_text_trans_wrapper,
    |call| { rollup_trans::<Box<str>>(call) }
);

#[pg_extern(sql = false)]
fn rfm_summary_in(input: &CStr) -> Vec<u8> {
    summary_in::<i64>(input)
}
#[pg_extern(sql = false)]
fn rfm_summary_text_in(input: &CStr) -> Vec<u8> {
    summary_in::<Box<str>>(input)
}
#[pg_extern(sql = false)]
fn rfm_summary_out(bytes: &[u8]) -> CString {
    summary_out::<i64>(bytes)
}
#[pg_extern(sql = false)]
fn rfm_summary_text_out(bytes: &[u8]) -> CString {
    summary_out::<Box<str>>(bytes)
}

fn receive<K: CustomerKey>(call: Call) -> pg_sys::Datum {
    datum::receive(call, K::TYPE_NAME, |bytes| {
        SummaryReader::<K>::new(bytes).map(drop)
    })
}

v1_function!(rfm_summary_send, pg_finfo_rfm_summary_send, |call| {
    datum::send(call, "rfm_summary")
});
v1_function!(
    rfm_summary_text_send,
    pg_finfo_rfm_summary_text_send,
    |call| { datum::send(call, "rfm_summary_text") }
);
v1_function!(rfm_summary_recv, pg_finfo_rfm_summary_recv, |call| {
    receive::<i64>(call)
});
v1_function!(
    rfm_summary_text_recv,
    pg_finfo_rfm_summary_text_recv,
    |call| { receive::<Box<str>>(call) }
);

// Serialize and final functions, written in place (a summary is large, and pgrx would copy it).
v1_function!(rfm_agg_serialize, pg_finfo_rfm_agg_serialize, |call| {
    serialized::<i64>(call)
});
v1_function!(
    rfm_agg_text_serialize,
    pg_finfo_rfm_agg_text_serialize,
    |call| { serialized::<Box<str>>(call) }
);
v1_function!(rfm_agg_final, pg_finfo_rfm_agg_final, |call| {
    final_summary::<i64>(call)
});
v1_function!(rfm_agg_text_final, pg_finfo_rfm_agg_text_final, |call| {
    final_summary::<Box<str>>(call)
});

// rfm_scores for each kind of customer id, as of the latest purchase and as of a given time.
v1_function!(rfm_scores_latest, pg_finfo_rfm_scores_latest, |call| {
    rfm_scores::<i64>(call, false)
});
v1_function!(rfm_scores_as_of, pg_finfo_rfm_scores_as_of, |call| {
    rfm_scores::<i64>(call, true)
});
v1_function!(
    rfm_scores_text_latest,
    pg_finfo_rfm_scores_text_latest,
    |call| { rfm_scores::<Box<str>>(call, false) }
);
v1_function!(
    rfm_scores_text_as_of,
    pg_finfo_rfm_scores_text_as_of,
    |call| { rfm_scores::<Box<str>>(call, true) }
);

// The uuid kind, new in 0.2.0.
v1_function!(
    rfm_agg_uuid_combine,
    pg_finfo_rfm_agg_uuid_combine,
    |call| { combine::<Uuid>(call) }
);
v1_function!(
    rfm_agg_uuid_deserialize,
    pg_finfo_rfm_agg_uuid_deserialize,
    |call| { call.deserialize_state(RfmCollector::<Uuid>::from_state_bytes) }
);
v1_function!(
    rfm_agg_uuid_serialize,
    pg_finfo_rfm_agg_uuid_serialize,
    |call| { serialized::<Uuid>(call) }
);
v1_function!(rfm_agg_uuid_final, pg_finfo_rfm_agg_uuid_final, |call| {
    final_summary::<Uuid>(call)
});
v1_function!(
    rfm_rollup_uuid_trans,
    pg_finfo_rfm_rollup_uuid_trans,
    |call| { rollup_trans::<Uuid>(call) }
);
#[pg_extern(sql = false)]
fn rfm_summary_uuid_in(input: &CStr) -> Vec<u8> {
    summary_in::<Uuid>(input)
}
#[pg_extern(sql = false)]
fn rfm_summary_uuid_out(bytes: &[u8]) -> CString {
    summary_out::<Uuid>(bytes)
}
v1_function!(
    rfm_summary_uuid_send,
    pg_finfo_rfm_summary_uuid_send,
    |call| { datum::send(call, "rfm_summary_uuid") }
);
v1_function!(
    rfm_summary_uuid_recv,
    pg_finfo_rfm_summary_uuid_recv,
    |call| { receive::<Uuid>(call) }
);
v1_function!(
    rfm_scores_uuid_latest,
    pg_finfo_rfm_scores_uuid_latest,
    |call| { rfm_scores::<Uuid>(call, false) }
);
v1_function!(
    rfm_scores_uuid_as_of,
    pg_finfo_rfm_scores_uuid_as_of,
    |call| { rfm_scores::<Uuid>(call, true) }
);
