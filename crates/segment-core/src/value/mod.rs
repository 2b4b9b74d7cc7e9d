//! Customer value: simple CLV from a margin and a retention rate (`simple`), and the
//! probabilistic models of purchasing (BG/NBD) and of spend (Gamma-Gamma), fitted by maximum
//! likelihood over grouped customers.

pub mod bgnbd;
pub mod clv;
pub mod gamma_gamma;
pub mod histories;
pub mod history;
pub mod pareto_nbd;
#[cfg(test)]
pub(crate) mod random;
pub mod simple;
pub mod triples;
