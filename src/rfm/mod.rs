//! RFM: the window path (`sql`: rfm_score, rfm_segment, rfm_breaks, rfm_bin) and the one-pass
//! path (`one_pass_sql`: rfm_agg, rollup, rfm_scores).

mod one_pass_sql;
mod sql;
