//! Aggregates with an `internal` transition state held in Rust.
//!
//! The state lives on the Rust heap, owned by the aggregate's memory context: it is created in
//! that context and dropped by a reset callback when PostgreSQL resets or deletes the context,
//! so a GROUP BY with many groups, or an error half-way, leaks nothing.
//!
//! An `internal` datum carries no type: each state type `T` is used by its own aggregates only,
//! whose support functions are declared together in one `.sql` file, so the datum an
//! aggregate's support function receives is always a `T` it (or its deserializer) made.

use super::call::Call;
use pgrx::pg_sys::{self, Datum};
use pgrx::PgMemoryContexts;
use segment_core::codec::{DecodeError, EncodedState};
use std::ffi::CStr;

impl Call {
    /// The aggregate's memory context; an ERROR outside an aggregate (a support function
    /// called directly from SQL).
    fn aggregate_context(self) -> pg_sys::MemoryContext {
        let mut context: pg_sys::MemoryContext = std::ptr::null_mut();
        // SAFETY: reads the current call's context node; `context` is an out parameter.
        let kind = unsafe { pg_sys::AggCheckCallContext(self.fcinfo(), &mut context) };
        match kind as u32 {
            pg_sys::AGG_CONTEXT_AGGREGATE | pg_sys::AGG_CONTEXT_WINDOW => context,
            _ => super::errors::raise(
                pgrx::PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "rfm_segment: an aggregate support function was called outside an aggregate".into(),
                Some("Call the aggregate itself, e.g. gini(x), not its support functions.".into()),
            ),
        }
    }

    /// Moves `value` into the aggregate's memory context as a new `internal` state.
    pub fn new_state<T>(self, value: T) -> Datum {
        let context = self.aggregate_context();
        Datum::from(PgMemoryContexts::For(context).leak_and_drop_on_delete(value))
    }

    /// For a transition function: the state datum (argument 0, created empty in the
    /// aggregate's context when NULL) and the state behind it.
    pub fn transition_state<'s, T: Default>(self) -> (Datum, &'s mut T) {
        let datum = self
            .datum(0)
            .unwrap_or_else(|| self.new_state(T::default()));
        // SAFETY: the datum is a `T` state of this aggregate (module comment), made above or
        // by an earlier call, and lives in the aggregate's context for the whole call.
        (datum, unsafe { &mut *datum.cast_mut_ptr::<T>() })
    }

    /// Argument `index` as this aggregate's state, None when NULL.
    pub fn state<'s, T>(self, index: usize) -> Option<&'s mut T> {
        // SAFETY: as in `transition_state`.
        self.datum(index)
            .map(|datum| unsafe { &mut *datum.cast_mut_ptr::<T>() })
    }

    /// For a deserialize function: the state `decode` reads from argument 0, new in the
    /// aggregate's context; bytes that break the state's invariants are ERROR XX001.
    pub fn deserialize_state<T>(
        self,
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
    ) -> Datum {
        let bytes = self.bytes(0).expect("STRICT");
        let state = decode(bytes).unwrap_or_else(|why| super::errors::corrupted(&why));
        self.new_state(state)
    }

    /// For a serialize function: argument 0's state in its serialized form, written in place
    /// into a new value (`function` names it in the 1 GB limit's error).
    pub fn serialize_state<T: EncodedState>(self, function: &str) -> Datum {
        let state = self.state::<T>(0).expect("STRICT");
        super::datum::new_varlena(function, state.encoded_len(), |out| state.write_to(out))
    }

    /// For a combine function: merges the state in argument 1 into the one in argument 0
    /// (created empty in the aggregate's context when NULL) and returns that.
    pub fn combine<T: Default>(self, merge: impl FnOnce(&mut T, &mut T)) -> Datum {
        if self.datum(1).is_none() || self.datum(0) == self.datum(1) {
            return self.unchanged_state(); // nothing to add (or, never seen, itself)
        }
        let second = self.state::<T>(1).expect("not NULL");
        let (state, first) = self.transition_state::<T>();
        merge(first, second);
        state
    }

    /// For a final function whose state `grew` since its last final call: an ERROR when the
    /// aggregate runs over a frame that starts at the partition's start and grows row by row
    /// (`OVER (ORDER BY ...)`), where each row would read the whole frame again. A sliding
    /// frame is rebuilt by PostgreSQL as its start moves, and stays as cheap as its size.
    pub fn refuse_running_frame(self, function: &str, grew: bool) {
        if grew && self.frame_starts_unbounded() {
            super::errors::running_frame(function);
        }
    }

    fn frame_starts_unbounded(self) -> bool {
        // SAFETY: a window aggregate's context node is its WindowAggState (checked by tag).
        unsafe {
            let context = (*self.fcinfo()).context;
            if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_WindowAggState {
                return false;
            }
            let options = (*context.cast::<pg_sys::WindowAggState>()).frameOptions as u32;
            options & pg_sys::FRAMEOPTION_START_UNBOUNDED_PRECEDING != 0
        }
    }

    /// Returns argument 0, the state, as it came (NULL stays NULL): a row that adds nothing.
    pub fn unchanged_state(self) -> Datum {
        self.datum(0).unwrap_or_else(|| self.null())
    }

    /// The name of the aggregate being computed, for error messages. `candidates` are the
    /// aggregates that share this support function: as a window function the call does not say
    /// which aggregate it serves, so the window's aggregates among them are named.
    pub fn aggregate_name(self, candidates: &[&str], fallback: &str) -> String {
        // SAFETY: AggGetAggref returns NULL outside a plain aggregate; get_func_name returns
        // NULL for an unknown function, else a palloc'd C string.
        unsafe {
            let aggref = pg_sys::AggGetAggref(self.fcinfo());
            if aggref.is_null() {
                return window_aggregate_names(self, candidates)
                    .unwrap_or_else(|| fallback.to_string());
            }
            function_name((*aggref).aggfnoid).unwrap_or_else(|| fallback.to_string())
        }
    }
}

/// The aggregates among `candidates` of the window an aggregate's call runs in (`gini(x) OVER
/// (...)`): "gini", or "gini or hhi" in the rare query that has several of them.
fn window_aggregate_names(call: Call, candidates: &[&str]) -> Option<String> {
    let mut names: Vec<String> = Vec::new();
    // SAFETY: a window aggregate's context node is the WindowAggState, whose `funcs` list holds
    // the WindowFuncExprState of each window function of the node.
    unsafe {
        let context = (*call.fcinfo()).context;
        if context.is_null() || (*context).type_ != pg_sys::NodeTag::T_WindowAggState {
            return None;
        }
        let funcs = (*context.cast::<pg_sys::WindowAggState>()).funcs;
        let count = if funcs.is_null() {
            0
        } else {
            (*funcs).length as usize
        };
        for i in 0..count {
            let state = (*(*funcs).elements.add(i))
                .ptr_value
                .cast::<pg_sys::WindowFuncExprState>();
            let wfunc = (*state).wfunc;
            if (*wfunc).winagg {
                names.extend(
                    function_name((*wfunc).winfnoid)
                        .filter(|name| candidates.contains(&name.as_str())),
                );
            }
        }
    }
    names.sort();
    names.dedup();
    (!names.is_empty()).then(|| names.join(" or "))
}

fn function_name(oid: pg_sys::Oid) -> Option<String> {
    // SAFETY: get_func_name returns NULL or a palloc'd C string.
    unsafe {
        let name = pg_sys::get_func_name(oid);
        (!name.is_null()).then(|| CStr::from_ptr(name).to_string_lossy().into_owned())
    }
}

/// Lets a long pure-Rust loop honour a query cancel or `statement_timeout`.
pub fn check_for_interrupts() {
    pg_sys::check_for_interrupts!();
}
