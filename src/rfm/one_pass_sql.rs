//! The SQL surface of the one-pass RFM path: `rfm_agg` → `rfm_summary` (bigint customer ids) or
//! `rfm_summary_text` (text ids), `rollup`, and `rfm_scores`. Translation only; the arithmetic
//! is in `summary` and `scores`.

use super::segments;
use super::summary::{self, CustomerKey, CustomerStats, RfmCollector, ScoreEdges, SummaryReader};
use crate::aggregate::{
    new_state, new_varlena, state_mut, transition_state, unchanged_state, value_arg,
};
use crate::errors;
use crate::v1_function_info;
use crate::validate;
use pgrx::prelude::*;
use pgrx::{FromDatum, Internal, PgSqlErrorCode};
use std::ffi::{CStr, CString};

pgrx::extension_sql_file!(
    "rfm_one_pass.sql",
    name = "rfm_one_pass",
    requires = ["rfm"]
);

/// The order's time and amount (arguments 2 and 3), or None to skip a row without a time.
/// NaN or infinite amounts and infinite times are errors.
unsafe fn order(fcinfo: pg_sys::FunctionCallInfo) -> Option<(i64, Option<f64>)> {
    unsafe {
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 2) {
            return None;
        }
        let at = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 2).value() as i64;
        if at == i64::MIN || at == i64::MAX {
            errors::raise(
                PgSqlErrorCode::ERRCODE_DATETIME_FIELD_OVERFLOW,
                "rfm_agg: an order at -infinity or infinity has no time".into(),
                Some("Leave such orders out with WHERE isfinite(order_ts).".into()),
            );
        }
        let amount = value_arg(fcinfo, 3)
            .map(|x| validate::finite(x).unwrap_or_else(|bad| errors::bad_value("rfm_agg", bad)));
        Some((at, amount))
    }
}

/// rfm_agg(bigint, timestamptz, double precision): once per order row, so a plain V1 function.
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn rfm_agg_trans(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    unsafe {
        let Some((at, amount)) = order(fcinfo) else {
            return unchanged_state(fcinfo);
        };
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
            return unchanged_state(fcinfo); // no customer
        }
        let customer = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1).value() as i64;
        let (state, collector) = transition_state::<RfmCollector<i64>>(fcinfo);
        collector.add(customer, at, amount);
        state
    }
}
v1_function_info!(pg_finfo_rfm_agg_trans);

/// rfm_agg(text, timestamptz, double precision).
#[pg_guard]
#[no_mangle]
pub unsafe extern "C-unwind" fn rfm_agg_text_trans(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    unsafe {
        let Some((at, amount)) = order(fcinfo) else {
            return unchanged_state(fcinfo);
        };
        let customer = <&str>::from_datum(
            pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1),
            pgrx::fcinfo::pg_arg_is_null(fcinfo, 1),
        );
        let Some(customer) = customer else {
            return unchanged_state(fcinfo);
        };
        let (state, collector) = transition_state::<RfmCollector<Box<str>>>(fcinfo);
        collector.add_text(customer, at, amount);
        state
    }
}
v1_function_info!(pg_finfo_rfm_agg_text_trans);

/// The binary form of a finished collector, written in place into a new value.
fn encoded<K: CustomerKey>(function: &str, collector: &RfmCollector<K>) -> pg_sys::Datum {
    new_varlena(checked_len(function, collector), |out| {
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

fn corrupted<T>(why: String) -> T {
    errors::raise(
        PgSqlErrorCode::ERRCODE_DATA_CORRUPTED,
        format!("rfm_summary: {why}"),
        None,
    )
}

fn combine<K: CustomerKey>(
    mut first: Internal,
    mut second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    if let Some(second) = unsafe { second.get_mut::<RfmCollector<K>>() } {
        // Taken, not copied: PostgreSQL passes a state to combine once and then drops it.
        let second = std::mem::take(second);
        unsafe { state_mut::<RfmCollector<K>>(&mut first, fcinfo) }
            .merge(second)
            .unwrap_or_else(corrupted);
    }
    first
}

fn rollup_trans<K: CustomerKey>(
    mut state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    if let Some(summary) = summary {
        let part = decoded::<K>(summary);
        unsafe { state_mut::<RfmCollector<K>>(&mut state, fcinfo) }
            .merge(part)
            .unwrap_or_else(corrupted);
    }
    state
}

/// The finished state (argument 0, not NULL: the functions are STRICT). Finishing changes how
/// the state holds its customers, not which: it is idempotent, and orders may still be added
/// afterwards (a window aggregate, or the final function called again), so the aggregates can
/// keep the default FINALFUNC_MODIFY = READ_ONLY.
unsafe fn finished_state<'s, K: CustomerKey>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> &'s RfmCollector<K> {
    let collector = unsafe {
        &mut *pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<RfmCollector<K>>()
    };
    collector.finish().unwrap_or_else(corrupted);
    collector
}

/// The final function of rfm_agg and rollup: the summary, NULL without customers.
unsafe fn final_summary<K: CustomerKey>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let collector = unsafe { finished_state::<K>(fcinfo) };
    if collector.is_empty() {
        return unsafe { pgrx::fcinfo::pg_return_null(fcinfo) };
    }
    encoded("rfm_agg", collector)
}

/// A parallel worker's state: the summary's own form, sorted in the worker, so that the
/// leader merges sorted runs.
unsafe fn serialized<K: CustomerKey>(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    encoded("rfm_agg", unsafe { finished_state::<K>(fcinfo) })
}

fn summary_in<K: CustomerKey>(input: &CStr) -> Vec<u8> {
    let parsed = input
        .to_str()
        .map_err(|_| "not UTF-8".to_string())
        .and_then(RfmCollector::<K>::from_json);
    let collector = parsed.unwrap_or_else(|why| {
        errors::raise(
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for an rfm summary: {why}"),
            Some("The text form is {\"customers\": [[id, first, last, purchases, amount, amount_error], ...]}, times in microseconds since 2000-01-01.".into()),
        )
    });
    let mut bytes = vec![0; checked_len("rfm_summary", &collector)];
    collector.write_to(&mut bytes);
    bytes
}

fn summary_out<K: CustomerKey>(bytes: &[u8]) -> CString {
    let mut collector = decoded::<K>(bytes);
    collector.finish().unwrap_or_else(corrupted);
    CString::new(collector.to_json().to_string()).expect("JSON has no NUL")
}

const SCORES_HINT: &str =
    "rfm_scores(summary, as_of => '2025-01-01', bins => 5); bins from 2 to 100.";

/// A customer id as an rfm_scores column.
trait IdColumn: CustomerKey {
    /// # Safety
    /// Called inside a PostgreSQL function; text is allocated in the current memory context.
    unsafe fn datum(&self) -> pg_sys::Datum;
}

impl IdColumn for i64 {
    unsafe fn datum(&self) -> pg_sys::Datum {
        pg_sys::Datum::from(*self)
    }
}

impl IdColumn for Box<str> {
    unsafe fn datum(&self) -> pg_sys::Datum {
        unsafe { text_datum(self) }
    }
}

unsafe fn text_datum(text: &str) -> pg_sys::Datum {
    let text = unsafe { pg_sys::cstring_to_text_with_len(text.as_ptr().cast(), text.len() as i32) };
    pg_sys::Datum::from(text)
}

/// The arguments of rfm_scores(summary, [as_of,] bins), checked: None for a NULL summary.
struct ScoresCall<'a> {
    summary: Option<&'a [u8]>,
    /// None: as of the latest purchase in the summary.
    as_of: Option<i64>,
    bins: u32,
}

unsafe fn scores_call<'a>(fcinfo: pg_sys::FunctionCallInfo, has_as_of: bool) -> ScoresCall<'a> {
    unsafe {
        let arg = |i: usize| {
            (!pgrx::fcinfo::pg_arg_is_null(fcinfo, i))
                .then(|| pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, i))
        };
        let bins = match arg(if has_as_of { 2 } else { 1 }).map(|d| d.value() as i32) {
            None => errors::null_parameter("rfm_scores", "bins", SCORES_HINT),
            Some(b) if !(2..=100).contains(&b) => {
                errors::parameter_out_of_range("rfm_scores", "bins", b, "[2, 100]", SCORES_HINT)
            }
            Some(b) => b as u32,
        };
        let as_of = match (has_as_of, arg(1)) {
            (false, _) => None,
            (true, None) => errors::null_parameter("rfm_scores", "as_of", SCORES_HINT),
            (true, Some(t)) => Some(t.value() as i64),
        };
        let summary = arg(0).map(|d| <&[u8]>::from_datum(d, false).expect("not NULL"));
        ScoresCall {
            summary,
            as_of,
            bins,
        }
    }
}

/// rfm_scores in materialize mode: every row goes straight into the tuplestore PostgreSQL
/// reads, formed once, rather than one call per row.
///
/// # Safety
/// `fcinfo` is the current call's, with the arguments of the SQL declaration.
unsafe fn rfm_scores<K: IdColumn>(
    fcinfo: pg_sys::FunctionCallInfo,
    has_as_of: bool,
) -> pg_sys::Datum {
    unsafe {
        let call = scores_call(fcinfo, has_as_of);
        pg_sys::InitMaterializedSRF(fcinfo, 0);
        let Some(summary) = call.summary else {
            return pg_sys::Datum::from(0); // no summary, no customers
        };
        let customers = SummaryReader::<K>::new(summary).unwrap_or_else(corrupted);
        let edges = ScoreEdges::of(customers.clone().stats(), call.bins).unwrap_or_else(|overflow| {
            errors::raise(
                PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                format!("rfm_scores: a customer's net amount, {overflow}, is out of the range of double precision"),
                Some("The customer's amounts add up beyond 1.8e308; scale them (e.g. amount / 1000) in rfm_agg.".into()),
            )
        });
        let as_of = checked_as_of(edges.latest_purchase, call.as_of);
        let rsinfo = (*fcinfo).resultinfo.cast::<pg_sys::ReturnSetInfo>();
        let (store, desc) = ((*rsinfo).setResult, (*rsinfo).setDesc);
        let mut cells = CellTexts::new(call.bins);
        let row_memory = pg_sys::AllocSetContextCreateExtended(
            pg_sys::CurrentMemoryContext,
            c"rfm_scores row".as_ptr(),
            pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
            pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
        );
        for (i, (customer, stats)) in customers.enumerate() {
            if i % 65_536 == 0 {
                pg_sys::check_for_interrupts!();
            }
            pg_sys::MemoryContextReset(row_memory);
            let caller_memory = pg_sys::MemoryContextSwitchTo(row_memory);
            let row = score_row(&customer, &stats, &edges, &mut cells, as_of);
            let mut nulls = row.map(|column| column.is_none());
            let mut values = row.map(|column| column.unwrap_or(pg_sys::Datum::from(0)));
            pg_sys::tuplestore_putvalues(store, desc, values.as_mut_ptr(), nulls.as_mut_ptr());
            pg_sys::MemoryContextSwitchTo(caller_memory);
        }
        pg_sys::MemoryContextDelete(row_memory);
        pg_sys::Datum::from(0)
    }
}

/// One customer's row of rfm_scores, None for NULL: customer_id, first_order, last_order,
/// recency_days, frequency, monetary, r, f, m, rfm_cell, rfm_total, segment.
unsafe fn score_row<K: IdColumn>(
    customer: &K,
    stats: &CustomerStats,
    edges: &ScoreEdges,
    cells: &mut CellTexts,
    as_of: i64,
) -> [Option<pg_sys::Datum>; 12] {
    let (r, f, m) = edges.score(stats);
    let cell = match (r, f, m) {
        (Some(r), Some(f), Some(m)) => Some(unsafe { cells.get(r, f, m) }),
        _ => None,
    };
    let float = |x: f64| pg_sys::Datum::from(x.to_bits());
    [
        Some(unsafe { customer.datum() }),
        stats.first().map(pg_sys::Datum::from),
        stats.last().map(pg_sys::Datum::from),
        summary::recency_days(stats, as_of).map(float),
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
    memory: pg_sys::MemoryContext,
}

impl CellTexts {
    /// Cells allocated in the current memory context when made once.
    unsafe fn new(bins: u32) -> Self {
        let cached = if bins <= 9 { bins.pow(3) as usize } else { 0 };
        CellTexts {
            bins,
            rules: segments::default_rules(),
            made: vec![None; cached],
            memory: unsafe { pg_sys::CurrentMemoryContext },
        }
    }

    unsafe fn get(&mut self, r: i16, f: i16, m: i16) -> Cell {
        let bins = self.bins as usize;
        let index = ((r as usize - 1) * bins + (f as usize - 1)) * bins + (m as usize - 1);
        if let Some(Some(cell)) = self.made.get(index) {
            return *cell;
        }
        let cached = index < self.made.len();
        let make = || unsafe {
            let segment = (self.bins == 5)
                .then(|| text_datum(segments::segment(&self.rules, r.into(), f.into(), m.into())));
            Cell {
                name: text_datum(&cell_name(r, f, m, self.bins)),
                total: pg_sys::Datum::from(i32::from(r) + i32::from(f) + i32::from(m)),
                segment,
            }
        };
        if !cached {
            return make();
        }
        let row_memory = unsafe { pg_sys::MemoryContextSwitchTo(self.memory) };
        let cell = make();
        unsafe { pg_sys::MemoryContextSwitchTo(row_memory) };
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

// The functions for each kind of customer id.

#[pg_extern(sql = false)]
fn rfm_agg_combine(
    first: Internal,
    second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    combine::<i64>(first, second, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_agg_text_combine(
    first: Internal,
    second: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    combine::<Box<str>>(first, second, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_agg_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    unsafe { new_state(decoded::<i64>(bytes), fcinfo) }
}
#[pg_extern(sql = false)]
fn rfm_agg_text_deserialize(
    bytes: &[u8],
    _unused: Internal,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    unsafe { new_state(decoded::<Box<str>>(bytes), fcinfo) }
}
#[pg_extern(sql = false)]
fn rfm_rollup_trans(
    state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    rollup_trans::<i64>(state, summary, fcinfo)
}
#[pg_extern(sql = false)]
fn rfm_rollup_text_trans(
    state: Internal,
    summary: Option<&[u8]>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Internal {
    rollup_trans::<Box<str>>(state, summary, fcinfo)
}
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
/// Declares a V1 function calling `$body::<$key>(fcinfo)`.
macro_rules! v1_function {
    ($name:ident, $finfo:ident, $body:ident::<$key:ty>) => {
        #[pg_guard]
        #[no_mangle]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            unsafe { $body::<$key>(fcinfo) }
        }
        v1_function_info!($finfo);
    };
}

// Serialize and final functions, written in place (a summary is large, and pgrx would copy it).
v1_function!(
    rfm_agg_serialize,
    pg_finfo_rfm_agg_serialize,
    serialized::<i64>
);
v1_function!(
    rfm_agg_text_serialize,
    pg_finfo_rfm_agg_text_serialize,
    serialized::<Box<str>>
);
v1_function!(rfm_agg_final, pg_finfo_rfm_agg_final, final_summary::<i64>);
v1_function!(
    rfm_agg_text_final,
    pg_finfo_rfm_agg_text_final,
    final_summary::<Box<str>>
);

/// Declares one rfm_scores function: `rfm_scores_function!(name, id type, takes as_of)`.
macro_rules! rfm_scores_function {
    ($name:ident, $finfo:ident, $key:ty, $has_as_of:expr) => {
        #[pg_guard]
        #[no_mangle]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            unsafe { rfm_scores::<$key>(fcinfo, $has_as_of) }
        }
        v1_function_info!($finfo);
    };
}

// For each kind of customer id, as of the latest purchase and as of a given time.
rfm_scores_function!(rfm_scores_latest, pg_finfo_rfm_scores_latest, i64, false);
rfm_scores_function!(rfm_scores_as_of, pg_finfo_rfm_scores_as_of, i64, true);
rfm_scores_function!(
    rfm_scores_text_latest,
    pg_finfo_rfm_scores_text_latest,
    Box<str>,
    false
);
rfm_scores_function!(
    rfm_scores_text_as_of,
    pg_finfo_rfm_scores_text_as_of,
    Box<str>,
    true
);
