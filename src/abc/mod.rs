//! ABC classification: the window functions and the `abc_limits` aggregate.

mod sql;
