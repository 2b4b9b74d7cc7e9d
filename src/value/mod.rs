//! Customer value: simple CLV (`sql`) and the buy-till-you-die models (`models`).

mod models;
mod sql;
