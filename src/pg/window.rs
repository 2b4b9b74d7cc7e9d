//! Whole-partition window functions: PostgreSQL's window API, which pgrx does not bind.
//!
//! A score, class or share depends on the whole partition, so on the first row of a partition
//! the function reads every value once, computes every row's answer, and keeps the answers in
//! the partition-local memory PostgreSQL frees with the partition; each later row is answered
//! by its position. That is O(n log n) per partition, never a seek back per row.
//!
//! The declarations mirror `utils/windowapi.h`; every call goes through pgrx's FFI guard, so an
//! ERROR raised inside PostgreSQL unwinds through Rust properly.

use super::call::Call;
use super::errors;
use pgrx::pg_sys::ffi::pg_guard_ffi_boundary;
use pgrx::pg_sys::{self, Datum};
use pgrx::PgSqlErrorCode;
use std::ffi::c_void;

type WindowObject = *mut pg_sys::WindowObjectData;

const WINDOW_SEEK_HEAD: i32 = 1;
/// Rows of a partition read under one FFI guard: the guard costs per call, and a query cancel
/// is honoured between the calls.
const ROWS_PER_GUARDED_READ: usize = 65_536;

extern "C-unwind" {
    fn WinGetPartitionLocalMemory(winobj: WindowObject, sz: usize) -> *mut c_void;
    fn WinGetCurrentPosition(winobj: WindowObject) -> i64;
    fn WinGetPartitionRowCount(winobj: WindowObject) -> i64;
    fn WinGetFuncArgInPartition(
        winobj: WindowObject,
        argno: i32,
        relpos: i32,
        seektype: i32,
        set_mark: bool,
        isnull: *mut bool,
        isout: *mut bool,
    ) -> Datum;
    fn WinGetFuncArgCurrent(winobj: WindowObject, argno: i32, isnull: *mut bool) -> Datum;
}

/// The window a window function is called in.
pub struct Window {
    object: WindowObject,
    function: &'static str,
}

impl Call {
    /// The window this window function is called in; an ERROR without one.
    pub fn window(self, function: &'static str) -> Window {
        // SAFETY: the call's context is NULL or a node, whose tag tells its type.
        let context = unsafe { (*self.fcinfo()).context };
        let is_window = !context.is_null()
            && unsafe { (*context).type_ } == pg_sys::NodeTag::T_WindowObjectData;
        if !is_window {
            errors::raise(
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!("{function} is a window function and needs an OVER clause"),
                Some(format!("Write {function}(...) OVER () for the whole result, or OVER (PARTITION BY ...).")),
            );
        }
        Window {
            object: context as WindowObject,
            function,
        }
    }
}

impl Window {
    pub fn function(&self) -> &'static str {
        self.function
    }

    pub fn partition_rows(&self) -> usize {
        // SAFETY: `object` is the current call's window object (made in `Call::window`).
        unsafe { pg_guard_ffi_boundary(|| WinGetPartitionRowCount(self.object)) as usize }
    }

    pub fn current_position(&self) -> usize {
        // SAFETY: `object` is the current call's window object. No FFI guard: it is called for
        // every row, and WinGetCurrentPosition only reads a field (nodeWindowAgg.c), so it
        // cannot raise an ERROR to unwind through.
        unsafe { WinGetCurrentPosition(self.object) as usize }
    }

    /// Argument `argno` of the current row, None when NULL.
    pub fn current_arg(&self, argno: i32) -> Option<Datum> {
        let mut isnull = false;
        // SAFETY: as in `partition_rows`; `isnull` is an out parameter.
        let datum = unsafe {
            pg_guard_ffi_boundary(|| WinGetFuncArgCurrent(self.object, argno, &mut isnull))
        };
        (!isnull).then_some(datum)
    }

    /// Argument `argno` of the current row as a double, None when NULL.
    pub fn current_f64(&self, argno: i32) -> Option<f64> {
        self.current_arg(argno)
            .map(|d| f64::from_bits(d.value() as u64))
    }

    /// Argument `argno` of the current row as text (a `text` argument).
    pub fn current_text(&self, argno: i32) -> Option<String> {
        // SAFETY: the argument is a text datum (the SQL declaration).
        self.current_arg(argno)
            .and_then(|d| unsafe { <String as pgrx::FromDatum>::from_datum(d, false) })
    }

    /// Argument `argno` (a float8) of every row of the partition, in partition order.
    pub fn partition_f64s(&self, argno: i32, rows: usize) -> Vec<Option<f64>> {
        self.partition_words(argno, rows, f64::from_bits)
    }

    /// Argument `argno` (a bigint or timestamptz) of every row of the partition, in order.
    pub fn partition_i64s(&self, argno: i32, rows: usize) -> Vec<Option<i64>> {
        self.partition_words(argno, rows, |word| word as i64)
    }

    /// Argument `argno` of every row of the partition, in partition order, None when NULL: an
    /// argument passed by value, whose datum word `read` turns into a T.
    fn partition_words<T>(&self, argno: i32, rows: usize, read: fn(u64) -> T) -> Vec<Option<T>> {
        let mut values = Vec::with_capacity(rows);
        for start in (0..rows).step_by(ROWS_PER_GUARDED_READ) {
            pg_sys::check_for_interrupts!();
            let end = (start + ROWS_PER_GUARDED_READ).min(rows);
            // SAFETY: as in `partition_rows`; every row is below the partition's row count,
            // which `compute_answers` checked fits an int. An ERROR inside jumps back to the
            // guard over this closure's frame only, which owns nothing: `values` has room for
            // every row, so `push` neither allocates nor panics, and it stays a valid vector of
            // the rows read so far, dropped as the ERROR unwinds on from the guard.
            unsafe {
                pg_guard_ffi_boundary(|| {
                    for row in start..end {
                        let (mut isnull, mut isout) = (false, false);
                        let datum = WinGetFuncArgInPartition(
                            self.object,
                            argno,
                            row as i32,
                            WINDOW_SEEK_HEAD,
                            false,
                            &mut isnull,
                            &mut isout,
                        );
                        values.push((!isnull && !isout).then(|| read(datum.value() as u64)));
                    }
                })
            }
        }
        values
    }

    /// This row's answer, computing all answers of the partition on its first call.
    /// `compute` gets the partition's row count and returns one answer per row, in order.
    pub fn answer<T: Copy>(&self, compute: impl FnOnce(usize) -> Vec<T>) -> T {
        // The partition-local memory (zeroed, freed with the partition) holds a pointer to the
        // answers, which are allocated in the same memory context once they are known.
        let position = self.current_position();
        let size = std::mem::size_of::<Answers<T>>();
        let slot = if position == 0 {
            // SAFETY: as in `partition_rows`. The partition's first row allocates the memory.
            unsafe { pg_guard_ffi_boundary(|| WinGetPartitionLocalMemory(self.object, size)) }
        } else {
            // SAFETY: as in `partition_rows`. WindowAgg evaluates a window function on a
            // partition's rows in order from position 0 (until a run condition stops it), and
            // row 0 allocated the memory; from then on WinGetPartitionLocalMemory returns the
            // pointer it keeps (nodeWindowAgg.c) and cannot raise an ERROR, so it needs no guard
            // on the partition's other rows.
            unsafe { WinGetPartitionLocalMemory(self.object, size) }
        } as *mut Answers<T>;
        // SAFETY: the memory is zeroed on first use, then holds what `compute_answers` stored:
        // a pointer to one answer per row of the partition.
        let answers = unsafe {
            if (*slot).values.is_null() {
                *slot = self.compute_answers(slot as *mut c_void, compute);
            }
            &*slot
        };
        assert!(position < answers.rows, "a row beyond the partition");
        // SAFETY: `values` holds `rows` answers (`compute_answers`), position is below that.
        unsafe { *answers.values.add(position) }
    }

    fn compute_answers<T: Copy>(
        &self,
        slot: *mut c_void,
        compute: impl FnOnce(usize) -> Vec<T>,
    ) -> Answers<T> {
        let rows = self.partition_rows();
        if rows > i32::MAX as usize {
            // WinGetFuncArgInPartition takes an int offset.
            errors::raise(
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "{}: a partition of {rows} rows is more than 2^31 - 1",
                    self.function
                ),
                Some("Split the rows with PARTITION BY.".into()),
            );
        }
        let computed = compute(rows);
        assert_eq!(computed.len(), rows, "one answer per row");
        // SAFETY: `slot` is a chunk of the partition's memory context; the new chunk holds
        // `rows` answers and is freed with the partition.
        unsafe {
            let partition_context = pg_sys::GetMemoryChunkContext(slot);
            let bytes = (rows * std::mem::size_of::<T>()).max(1);
            let values =
                pg_guard_ffi_boundary(|| pg_sys::MemoryContextAllocHuge(partition_context, bytes))
                    as *mut T;
            std::ptr::copy_nonoverlapping(computed.as_ptr(), values, rows);
            Answers { values, rows }
        }
    }
}

/// The answers of a partition, kept in its partition-local memory.
#[derive(Clone, Copy)]
struct Answers<T> {
    values: *mut T,
    rows: usize,
}
