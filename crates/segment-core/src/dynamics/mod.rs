//! Segment dynamics: how the customer base moves between snapshots. Churn rates with their
//! confidence intervals (`churn`), migration between segments (`migration`) and its projection
//! as a Markov chain (`markov`), and the shifted-beta-geometric model of contractual retention
//! (`sbg`).

pub mod churn;
pub mod markov;
pub mod migration;
pub mod sbg;
