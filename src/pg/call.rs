//! A function call from PostgreSQL, with typed readers for its arguments.
//!
//! Hand-written (V1) functions are what the hot paths use: a transition function runs once
//! per row, and pgrx's generic argument unboxing was most of an aggregate's time (profiled).
//! `v1_function!` declares one from a safe body that receives a `Call`.

use pgrx::pg_sys::{self, Datum};
use pgrx::FromDatum;

/// The call PostgreSQL is making: its arguments and its result flags.
///
/// Every reader trusts that argument `i` has the SQL type the declaration in the family's
/// `.sql` file gives it: the declarations and the Rust functions are written side by side,
/// and the tests call every declared function (`test_extension.py` checks each symbol).
#[derive(Clone, Copy)]
pub struct Call {
    fcinfo: pg_sys::FunctionCallInfo,
}

impl Call {
    /// # Safety
    /// `fcinfo` is the current call's, made by PostgreSQL for a function declared in SQL with
    /// the argument types its readers assume.
    pub unsafe fn new(fcinfo: pg_sys::FunctionCallInfo) -> Call {
        Call { fcinfo }
    }

    pub(super) fn fcinfo(self) -> pg_sys::FunctionCallInfo {
        self.fcinfo
    }

    pub fn is_null(self, index: usize) -> bool {
        // SAFETY: PostgreSQL passes as many arguments as the declaration has; pgrx checks
        // `index` against the call's argument count.
        unsafe { pgrx::fcinfo::pg_arg_is_null(self.fcinfo, index) }
    }

    /// Argument `index` as PostgreSQL passed it, None when NULL.
    pub fn datum(self, index: usize) -> Option<Datum> {
        // SAFETY: as in `is_null`.
        (!self.is_null(index))
            .then(|| unsafe { pgrx::fcinfo::pg_getarg_datum_raw(self.fcinfo, index) })
    }

    /// A `double precision` argument.
    #[inline]
    pub fn f64(self, index: usize) -> Option<f64> {
        self.datum(index).map(|d| f64::from_bits(d.value() as u64))
    }

    /// A `numeric` argument as the nearest double, what the cast `numeric::float8` gives: read
    /// from its digits when they fit a double exactly (every `numeric(12, 2)` amount), through
    /// PostgreSQL's conversion (which goes through text) otherwise. A value beyond a double, or
    /// so small it would round to 0, is an ERROR naming the aggregate (one of `aggregates`), as
    /// the cast's is (22003).
    #[inline]
    pub fn numeric(self, index: usize, aggregates: &[&str]) -> Option<f64> {
        let datum = self.datum(index)?;
        let payload = self.bytes(index).expect("not NULL");
        if let Some(x) = super::datum::numeric_to_f64_exact(payload) {
            return Some(x); // zero always takes this path
        }
        // SAFETY: numeric_float8_no_overflow takes the numeric datum (the declaration) and
        // returns a float8 datum: ±HUGE_VAL or 0 where the cast would raise an ERROR.
        let x = unsafe {
            pgrx::fcinfo::direct_function_call_as_datum(
                pg_sys::numeric_float8_no_overflow,
                &[Some(datum)],
            )
        }
        .map(|d| f64::from_bits(d.value() as u64))
        .expect("a float8");
        if !super::datum::numeric_is_special(payload) && (x.is_infinite() || x == 0.0) {
            let function =
                self.aggregate_name(aggregates, aggregates.first().unwrap_or(&"rfm_segment"));
            // SAFETY: numeric_out takes the numeric datum and returns a palloc'd C string.
            let text = unsafe {
                let out = pgrx::fcinfo::direct_function_call_as_datum(
                    pg_sys::numeric_out,
                    &[Some(datum)],
                )
                .expect("numeric_out returns a string");
                std::ffi::CStr::from_ptr(out.cast_mut_ptr())
                    .to_string_lossy()
                    .into_owned()
            };
            let shown = if text.len() > 24 {
                format!("{}… ({} characters)", &text[..20], text.len())
            } else {
                text
            };
            super::errors::raise(
                pgrx::PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                format!("{function}: the value {shown} is out of the range of double precision"),
                Some("Scale the values (e.g. amount / 1000), or leave such rows out.".into()),
            );
        }
        Some(x)
    }

    /// A `bigint`, `timestamp` or `timestamptz` argument (microseconds since 2000-01-01).
    #[inline]
    pub fn i64(self, index: usize) -> Option<i64> {
        self.datum(index).map(|d| d.value() as i64)
    }

    /// A `bigint` weight argument: how many equal rows this row stands for (a `count(*)` of a
    /// histogram). None when NULL; an ERROR naming `function` when negative.
    pub fn weight(self, index: usize, function: &str) -> Option<u64> {
        let weight = self.i64(index)?;
        u64::try_from(weight).map(Some).unwrap_or_else(|_| {
            super::errors::raise(
                pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("{function}: weight = {weight} is negative"),
                Some("The weight is how many customers the row stands for, e.g. count(*) of a GROUP BY.".into()),
            )
        })
    }

    /// An `integer` argument.
    pub fn i32(self, index: usize) -> Option<i32> {
        self.datum(index).map(|d| d.value() as i32)
    }

    /// A `date` argument: days since 2000-01-01 (±infinity are i32::MIN / i32::MAX).
    pub fn date(self, index: usize) -> Option<i32> {
        self.datum(index).map(|d| d.value() as i32)
    }

    /// An `interval` argument.
    pub fn interval(self, index: usize) -> Option<pgrx::datum::Interval> {
        // SAFETY: the argument is an interval datum (the declaration), valid for the call.
        self.datum(index)
            .and_then(|d| unsafe { pgrx::datum::Interval::from_datum(d, false) })
    }

    /// A `boolean` argument.
    pub fn bool(self, index: usize) -> Option<bool> {
        self.datum(index).map(|d| d.value() != 0)
    }

    /// A `text` argument, detoasted; it lives as long as the call.
    pub fn text<'a>(self, index: usize) -> Option<&'a str> {
        // SAFETY: the argument is a text datum (the declaration), valid for the whole call.
        self.datum(index)
            .and_then(|d| unsafe { <&str>::from_datum(d, false) })
    }

    /// A `uuid` argument: its 16 bytes.
    pub fn uuid(self, index: usize) -> Option<[u8; 16]> {
        // SAFETY: the argument is a uuid datum (the declaration): a pointer to 16 bytes, valid
        // for the whole call.
        self.datum(index)
            .map(|d| unsafe { *(d.cast_mut_ptr::<[u8; 16]>()) })
    }

    /// A `jsonb` argument in its text form, for serde to read (pgrx's own jsonb conversion
    /// panics on numbers beyond double range and on deep nesting; serde_json says why).
    pub fn jsonb_text(self, index: usize) -> Option<String> {
        let datum = self.datum(index)?;
        // SAFETY: jsonb_out takes the jsonb datum (the declaration) and returns a palloc'd C
        // string of its text form.
        unsafe {
            let text =
                pgrx::fcinfo::direct_function_call_as_datum(pg_sys::jsonb_out, &[Some(datum)])
                    .expect("jsonb_out returns a string");
            Some(
                std::ffi::CStr::from_ptr(text.cast_mut_ptr())
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    }

    /// A `bytea` or varlena type's payload, detoasted; it lives as long as the call. An inline,
    /// uncompressed value (the usual numeric amount or small summary) is read in place, without
    /// a guarded call into PostgreSQL: this runs once per row.
    #[inline]
    pub fn bytes<'a>(self, index: usize) -> Option<&'a [u8]> {
        let datum = self.datum(index)?;
        // SAFETY: the argument is a varlena datum (the declaration), valid for the whole call.
        super::datum::inline_payload(datum).or_else(|| unsafe { <&[u8]>::from_datum(datum, false) })
    }

    /// A RECEIVE function's argument, the message buffer (`internal`): the bytes from its
    /// cursor to its end, which count as read.
    pub fn received_bytes<'a>(self, index: usize) -> &'a [u8] {
        let buffer = self
            .datum(index)
            .expect("STRICT")
            .cast_mut_ptr::<pg_sys::StringInfoData>();
        // SAFETY: a RECEIVE function's first argument is the StringInfo of the message, whose
        // `data` holds `len` bytes, `cursor` of them read; it lives for the whole call.
        unsafe {
            let buffer = &mut *buffer;
            let (start, end) = (buffer.cursor as usize, buffer.len as usize);
            buffer.cursor = buffer.len;
            std::slice::from_raw_parts(buffer.data.add(start).cast::<u8>(), end - start)
        }
    }

    /// A value of the composite type this function returns, from one datum per attribute
    /// (None for NULL), made in the current memory context.
    pub fn composite(self, values: &[Option<Datum>]) -> Datum {
        let mut desc: pg_sys::TupleDesc = std::ptr::null_mut();
        // SAFETY: get_call_result_type reads the call's declared result type and fills `desc`
        // for a composite one (checked); the tuple is formed from as many values as it has
        // attributes (asserted) and copied into a composite datum.
        unsafe {
            let class = pg_sys::get_call_result_type(self.fcinfo, std::ptr::null_mut(), &mut desc);
            assert!(
                class == pg_sys::TypeFuncClass::TYPEFUNC_COMPOSITE && !desc.is_null(),
                "the function is declared to return a composite type"
            );
            let desc = pg_sys::BlessTupleDesc(desc);
            assert_eq!(
                (*desc).natts as usize,
                values.len(),
                "one value per attribute"
            );
            let mut datums: Vec<Datum> =
                values.iter().map(|v| v.unwrap_or(Datum::from(0))).collect();
            let mut nulls: Vec<bool> = values.iter().map(Option::is_none).collect();
            let tuple = pg_sys::heap_form_tuple(desc, datums.as_mut_ptr(), nulls.as_mut_ptr());
            pg_sys::heap_copy_tuple_as_datum(tuple, desc)
        }
    }

    /// An array of the composite type whose array this function is declared to return, one
    /// element per row (each value None for NULL), made in the current memory context.
    pub fn composite_array<const N: usize>(
        self,
        rows: impl ExactSizeIterator<Item = [Option<Datum>; N]>,
    ) -> Datum {
        // SAFETY: the function's declared result type (from pg_proc, so also right for an
        // aggregate's final function) is an array of a composite type, checked; each element is
        // formed from as many values as the type has attributes (asserted) and copied into a
        // composite datum in the current context, which construct_md_array copies from. The
        // descriptor is pinned by lookup_rowtype_tupdesc and released after the last row.
        unsafe {
            let array_type = pg_sys::get_func_rettype((*(*self.fcinfo).flinfo).fn_oid);
            let element_type = pg_sys::get_element_type(array_type);
            assert!(
                element_type != pg_sys::InvalidOid && pg_sys::type_is_rowtype(element_type),
                "the function is declared to return an array of a composite type"
            );
            let desc = pg_sys::lookup_rowtype_tupdesc(element_type, -1);
            assert_eq!((*desc).natts as usize, N, "one value per attribute");
            let count = rows.len();
            let mut elements: Vec<Datum> = Vec::with_capacity(count);
            for row in rows {
                let mut nulls = row.map(|value| value.is_none());
                let mut values = row.map(|value| value.unwrap_or(Datum::from(0)));
                let tuple = pg_sys::heap_form_tuple(desc, values.as_mut_ptr(), nulls.as_mut_ptr());
                elements.push(pg_sys::heap_copy_tuple_as_datum(tuple, desc));
                pg_sys::heap_freetuple(tuple);
            }
            pg_sys::DecrTupleDescRefCount(desc);
            let (mut length, mut by_value, mut align) = (0i16, false, 0 as std::ffi::c_char);
            pg_sys::get_typlenbyvalalign(element_type, &mut length, &mut by_value, &mut align);
            let mut dims = [i32::try_from(count).unwrap_or_else(|_| {
                super::errors::raise(
                    pgrx::PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                    format!("rfm_segment: {count} rows are more than an array holds"),
                    None,
                )
            })];
            let mut lower_bounds = [1i32];
            let array = pg_sys::construct_md_array(
                elements.as_mut_ptr(),
                std::ptr::null_mut(),
                i32::from(count > 0), // no dimension at all for an empty array
                dims.as_mut_ptr(),
                lower_bounds.as_mut_ptr(),
                element_type,
                length.into(),
                by_value,
                align,
            );
            Datum::from(array)
        }
    }

    /// A value kept from one call of this function to the next within a query (PostgreSQL's
    /// `fn_extra`), made by `init` on the first call in the function's memory context and
    /// dropped with it. A function uses one type `T` for it, always the same.
    pub fn function_cache<'a, T: 'static>(self, init: impl FnOnce() -> T) -> &'a mut T {
        // SAFETY: flinfo is this call's and lives as long as its fn_mcxt; fn_extra is ours
        // (a hand-written function: pgrx does not use it), NULL until set here to a T of this
        // function (the contract above), owned by fn_mcxt.
        unsafe {
            let flinfo = (*self.fcinfo).flinfo;
            if (*flinfo).fn_extra.is_null() {
                let value =
                    pgrx::PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(init());
                (*flinfo).fn_extra = value.cast();
            }
            &mut *(*flinfo).fn_extra.cast::<T>()
        }
    }

    /// Returns SQL NULL from this call.
    pub fn null(self) -> Datum {
        // SAFETY: sets the result's isnull flag of the current call.
        unsafe { pgrx::fcinfo::pg_return_null(self.fcinfo) }
    }
}

/// Declares a hand-written function `f` as version-1 calling convention, like C's
/// PG_FUNCTION_INFO_V1(f): `v1_function_info!(pg_finfo_f);`.
#[macro_export]
macro_rules! v1_function_info {
    ($finfo:ident) => {
        #[no_mangle]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1: ::pgrx::pg_sys::Pg_finfo_record =
                ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}

/// Declares the V1 function `$name` (with its info record `$finfo`) whose body gets the call:
/// `v1_function!(gini_trans, pg_finfo_gini_trans, |call| { ... a Datum ... });`.
/// ERRORs raised in the body unwind through Rust and reach PostgreSQL at this boundary.
#[macro_export]
macro_rules! v1_function {
    ($name:ident, $finfo:ident, |$call:ident| $body:block) => {
        #[::pgrx::pg_guard]
        #[no_mangle]
        #[allow(unused_braces)] // the body is a block, written like a closure's
        pub unsafe extern "C-unwind" fn $name(
            fcinfo: ::pgrx::pg_sys::FunctionCallInfo,
        ) -> ::pgrx::pg_sys::Datum {
            // SAFETY: PostgreSQL calls a V1 function with the current call's info, for the
            // SQL declaration that names this symbol.
            let $call = unsafe { $crate::pg::Call::new(fcinfo) };
            $body
        }
        $crate::v1_function_info!($finfo);
    };
}
