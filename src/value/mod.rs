//! Customer value: simple CLV (`sql`) and the buy-till-you-die models (`models`).

mod histories;
mod models;
mod sql;
