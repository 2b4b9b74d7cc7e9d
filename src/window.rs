//! Whole-partition window functions: PostgreSQL's window API, which pgrx does not bind.
//!
//! A score, class or share depends on the whole partition, so on the first row of a partition
//! the function reads every value once, computes every row's answer, and keeps the answers in
//! the partition-local memory PostgreSQL frees with the partition; each later row is answered
//! by its position. That is O(n log n) per partition, never a seek back per row.
//!
//! The declarations mirror `utils/windowapi.h`; every call goes through pgrx's FFI guard, so an
//! ERROR raised inside PostgreSQL unwinds through Rust properly.

use crate::errors;
use pgrx::pg_sys::ffi::pg_guard_ffi_boundary;
use pgrx::pg_sys::{self, Datum};
use pgrx::PgSqlErrorCode;
use std::ffi::c_void;

type WindowObject = *mut pg_sys::WindowObjectData;

const WINDOW_SEEK_HEAD: i32 = 1;

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

impl Window {
    /// # Safety
    /// `fcinfo` is the current call's.
    pub unsafe fn of(fcinfo: pg_sys::FunctionCallInfo, function: &'static str) -> Window {
        let context = unsafe { (*fcinfo).context };
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

    pub fn function(&self) -> &'static str {
        self.function
    }

    pub fn partition_rows(&self) -> usize {
        unsafe { pg_guard_ffi_boundary(|| WinGetPartitionRowCount(self.object)) as usize }
    }

    pub fn current_position(&self) -> usize {
        unsafe { pg_guard_ffi_boundary(|| WinGetCurrentPosition(self.object)) as usize }
    }

    /// Argument `argno` of the current row, None when NULL.
    pub fn current_arg(&self, argno: i32) -> Option<Datum> {
        let mut isnull = false;
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

    /// Argument `argno` of every row of the partition, in partition order, as doubles.
    pub fn partition_f64s(&self, argno: i32, rows: usize) -> Vec<Option<f64>> {
        self.partition_values(argno, rows, |d| f64::from_bits(d.value() as u64))
    }

    /// Argument `argno` of every row of the partition, in partition order, each read by `read`.
    pub fn partition_values<T>(
        &self,
        argno: i32,
        rows: usize,
        read: impl Fn(Datum) -> T,
    ) -> Vec<Option<T>> {
        let mut values = Vec::with_capacity(rows);
        for row in 0..rows {
            if row % 1_000_000 == 0 {
                pg_sys::check_for_interrupts!();
            }
            let (mut isnull, mut isout) = (false, false);
            let datum = unsafe {
                pg_guard_ffi_boundary(|| {
                    WinGetFuncArgInPartition(
                        self.object,
                        argno,
                        row as i32,
                        WINDOW_SEEK_HEAD,
                        false,
                        &mut isnull,
                        &mut isout,
                    )
                })
            };
            values.push((!isnull && !isout).then(|| read(datum)));
        }
        values
    }

    /// This row's answer, computing all answers of the partition on its first call.
    /// `compute` gets the partition's row count and returns one answer per row, in order.
    pub fn answer<T: Copy>(&self, compute: impl FnOnce(usize) -> Vec<T>) -> T {
        // The partition-local memory (zeroed, freed with the partition) holds a pointer to the
        // answers, which are allocated in the same memory context once they are known.
        let slot = unsafe {
            pg_guard_ffi_boundary(|| {
                WinGetPartitionLocalMemory(self.object, std::mem::size_of::<*mut T>())
            })
        } as *mut *mut T;
        unsafe {
            if (*slot).is_null() {
                *slot = self.compute_answers(slot as *mut c_void, compute);
            }
            *(*slot).add(self.current_position())
        }
    }

    fn compute_answers<T: Copy>(
        &self,
        slot: *mut c_void,
        compute: impl FnOnce(usize) -> Vec<T>,
    ) -> *mut T {
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
        unsafe {
            let partition_context = pg_sys::GetMemoryChunkContext(slot);
            let bytes = (rows * std::mem::size_of::<T>()).max(1);
            let answers =
                pg_guard_ffi_boundary(|| pg_sys::MemoryContextAllocHuge(partition_context, bytes))
                    as *mut T;
            std::ptr::copy_nonoverlapping(computed.as_ptr(), answers, rows);
            answers
        }
    }
}
