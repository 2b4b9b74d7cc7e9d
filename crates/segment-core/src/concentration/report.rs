//! `concentration_report`: the usual measures of a distribution in one object.

use super::measures::Distribution;
use serde::Serialize;

/// The measures a report shows; each None (JSON null) where the measure is undefined.
#[derive(Debug, PartialEq, Serialize)]
pub struct Report {
    pub n: usize,
    pub total: f64,
    pub gini: Option<f64>,
    pub gini_unbiased: Option<f64>,
    pub hhi: Option<f64>,
    pub hhi_normalized: Option<f64>,
    pub top_1pct_share: Option<f64>,
    pub top_5pct_share: Option<f64>,
    pub top_10pct_share: Option<f64>,
    pub top_20pct_share: Option<f64>,
    /// The fraction of units, largest first, that holds 80 % of the total.
    pub pareto_80: Option<f64>,
    pub pareto_50: Option<f64>,
}

/// The total of the values is beyond double precision, so the report cannot show it.
#[derive(Debug, PartialEq)]
pub struct TotalOverflow;

impl Report {
    pub fn of(d: &Distribution) -> Result<Report, TotalOverflow> {
        if !d.total().is_finite() {
            return Err(TotalOverflow);
        }
        let top = d.top_shares(&[0.01, 0.05, 0.10, 0.20]);
        let top = |i: usize| top.as_ref().map(|shares| shares[i]);
        let pareto = d.pareto_ratios(&[0.8, 0.5]);
        let pareto = |i: usize| pareto.as_ref().map(|ratios| ratios[i]);
        Ok(Report {
            n: d.len(),
            total: d.total(),
            gini: d.gini(),
            gini_unbiased: d.gini_unbiased(),
            hhi: d.hhi(),
            hhi_normalized: d.hhi_normalized(),
            top_1pct_share: top(0),
            top_5pct_share: top(1),
            top_10pct_share: top(2),
            top_20pct_share: top(3),
            pareto_80: pareto(0),
            pareto_50: pareto(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_reads_the_measures() {
        let values = [1.0, 1.0, 2.0, 4.0];
        let d = Distribution::new(&values);
        let report = Report::of(&d).unwrap();
        assert_eq!((report.n, report.total), (4, 8.0));
        assert_eq!(report.gini, d.gini());
        assert_eq!(report.top_20pct_share, d.top_share(0.2));
        assert_eq!(report.pareto_80, d.pareto_ratio(0.8));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["hhi"], serde_json::json!(d.hhi().unwrap()));
        let overflowing = [1e308, 1e308];
        assert_eq!(
            Report::of(&Distribution::new(&overflowing)),
            Err(TotalOverflow)
        );
    }
}
