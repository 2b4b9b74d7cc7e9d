//! Customer value: simple CLV (`clv_simple`).

mod sql;
