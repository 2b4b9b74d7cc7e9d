//! ABC classification: which customers bring the revenue (or margin), per partition.

pub mod class;
pub mod classes;
pub mod computed;
