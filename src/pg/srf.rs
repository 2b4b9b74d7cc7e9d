//! Set-returning functions in materialize mode: every row goes straight into the tuplestore
//! PostgreSQL reads, formed once, rather than one call per row.

use super::call::Call;
use pgrx::pg_sys::{self, Datum};

/// The rows of a set-returning function's result, written as they are made. Each row's
/// values are made in a memory context that is reset for the next row.
pub struct MaterializedRows {
    store: *mut pg_sys::Tuplestorestate,
    desc: pg_sys::TupleDesc,
    row_memory: pg_sys::MemoryContext,
}

impl Call {
    /// Switches this set-returning call to materialize mode (its SQL declaration returns a
    /// table, and the caller accepts a materialized result: PostgreSQL checks both).
    pub fn materialize(self) -> MaterializedRows {
        // SAFETY: InitMaterializedSRF checks the call's ReturnSetInfo and raises an ERROR when
        // materialize mode is not allowed; it then holds the tuplestore and its descriptor.
        unsafe {
            pg_sys::InitMaterializedSRF(self.fcinfo(), 0);
            let rsinfo = (*self.fcinfo()).resultinfo.cast::<pg_sys::ReturnSetInfo>();
            let row_memory = pg_sys::AllocSetContextCreateExtended(
                pg_sys::CurrentMemoryContext,
                c"rfm_segment result row".as_ptr(),
                pg_sys::ALLOCSET_DEFAULT_MINSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_INITSIZE as usize,
                pg_sys::ALLOCSET_DEFAULT_MAXSIZE as usize,
            );
            MaterializedRows {
                store: (*rsinfo).setResult,
                desc: (*rsinfo).setDesc,
                row_memory,
            }
        }
    }
}

impl MaterializedRows {
    /// Adds the row `make` returns (None for NULL), one value per result column; the values
    /// are made in the row's memory, which the store copies them out of.
    pub fn push<const N: usize>(&mut self, make: impl FnOnce() -> [Option<Datum>; N]) {
        // SAFETY: the row context is ours; the store copies the values before the next reset.
        // The descriptor has N columns (the SQL declaration's RETURNS TABLE, checked below).
        unsafe {
            assert_eq!(
                (*self.desc).natts as usize,
                N,
                "one value per result column"
            );
            pg_sys::MemoryContextReset(self.row_memory);
            let caller_memory = pg_sys::MemoryContextSwitchTo(self.row_memory);
            let row = make();
            let mut nulls = row.map(|column| column.is_none());
            let mut values = row.map(|column| column.unwrap_or(Datum::from(0)));
            pg_sys::tuplestore_putvalues(
                self.store,
                self.desc,
                values.as_mut_ptr(),
                nulls.as_mut_ptr(),
            );
            pg_sys::MemoryContextSwitchTo(caller_memory);
        }
    }

    /// The result of the call that made the rows; frees the rows' memory. (After an ERROR the
    /// row context, a child of the call's, is freed with it: a `Drop` that deleted it could
    /// delete the context that is still current.)
    pub fn finish(self) -> Datum {
        // SAFETY: the context was made in `materialize`, is no one else's, and is not current
        // (each `push` switches back before it returns).
        unsafe { pg_sys::MemoryContextDelete(self.row_memory) };
        Datum::from(0)
    }
}

/// A memory context that values can be made in for longer than one result row.
#[derive(Clone, Copy)]
pub struct Memory(pg_sys::MemoryContext);

impl Memory {
    /// The context current now (a function's own memory, outside any row).
    pub fn current() -> Memory {
        // SAFETY: reads the backend's current context pointer.
        Memory(unsafe { pg_sys::CurrentMemoryContext })
    }

    /// Runs `make` with this context current.
    pub fn run<R>(self, make: impl FnOnce() -> R) -> R {
        // SAFETY: switches to a live context and back, also if `make` raises an ERROR
        // (PostgreSQL resets the current context on error recovery).
        unsafe {
            let previous = pg_sys::MemoryContextSwitchTo(self.0);
            let result = make();
            pg_sys::MemoryContextSwitchTo(previous);
            result
        }
    }
}
