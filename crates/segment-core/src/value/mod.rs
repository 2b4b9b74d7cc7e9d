//! Customer value: the probabilistic models of purchasing (BG/NBD) and of spend (Gamma-Gamma),
//! fitted by maximum likelihood over grouped customers.

pub mod bgnbd;
pub mod gamma_gamma;
pub mod optimize;
pub mod special;
pub mod triples;
