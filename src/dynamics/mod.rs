//! Segment dynamics: churn rates, migration between segments and its projection, and the
//! contractual churn model (sBG).

mod churn;
mod migration;
mod sbg;

pgrx::extension_sql_file!("dynamics.sql", name = "dynamics", requires = ["value"]);
