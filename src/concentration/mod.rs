//! Concentration: the aggregates, the storable `concentration` summary and its accessors.

mod sql;
