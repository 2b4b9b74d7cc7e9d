//! Named RFM segments: a table of rules, each a name and a range of R, F and M scores; the first
//! rule that matches a customer's scores names its segment, 'Others' when none does.

use serde_json::{json, Value};

/// The highest score a rule may name (the most bins `rfm_score` allows).
pub const MAX_SCORE: i64 = 100;
pub const NO_MATCH: &str = "Others";

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub name: String,
    /// Inclusive score ranges for R, F and M; a rule without a range accepts any score.
    pub ranges: [Option<(i64, i64)>; 3],
}

impl Rule {
    fn matches(&self, scores: [i64; 3]) -> bool {
        self.ranges
            .iter()
            .zip(scores)
            .all(|(range, score)| range.is_none_or(|(low, high)| (low..=high).contains(&score)))
    }
}

/// The default table: the ten classic segments with the ranges of the R package rfm 0.3.0
/// vignette, in the order they are tried.
const DEFAULT_RULES: [(&str, [(i64, i64); 3]); 10] = [
    ("Champions", [(5, 5), (5, 5), (5, 5)]),
    ("Potential Loyalist", [(3, 5), (3, 5), (2, 5)]),
    ("Loyal Customers", [(2, 4), (2, 4), (2, 4)]),
    ("Promising", [(3, 4), (1, 3), (3, 5)]),
    ("New Customers", [(4, 5), (1, 3), (1, 5)]),
    ("Can't Lose Them", [(1, 2), (3, 4), (4, 5)]),
    ("At Risk", [(1, 2), (2, 5), (4, 5)]),
    ("Need Attention", [(1, 3), (3, 5), (3, 5)]),
    ("About To Sleep", [(2, 3), (1, 3), (1, 4)]),
    ("Lost", [(1, 1), (1, 5), (1, 5)]),
];

pub fn default_rules() -> Vec<Rule> {
    DEFAULT_RULES
        .iter()
        .map(|(name, ranges)| Rule {
            name: (*name).into(),
            ranges: ranges.map(Some),
        })
        .collect()
}

/// The default table as jsonb, in the form `parse_rules` reads, to copy and edit.
pub fn default_rules_json() -> Value {
    Value::Array(
        DEFAULT_RULES
            .iter()
            .map(|(name, [r, f, m])| {
                json!({ "name": name, "r": [r.0, r.1], "f": [f.0, f.1], "m": [m.0, m.1] })
            })
            .collect(),
    )
}

/// The segment of scores (r, f, m): the first matching rule's name, or 'Others'.
pub fn segment(rules: &[Rule], r: i64, f: i64, m: i64) -> &str {
    rules
        .iter()
        .find(|rule| rule.matches([r, f, m]))
        .map_or(NO_MATCH, |rule| &rule.name)
}

/// Reads a rule table: `[{"name": "VIP", "r": [4, 5], "f": [4, 5], "m": [4, 5]}, ...]`.
/// A rule without "r", "f" or "m" accepts any score there. Errors say which rule is wrong.
pub fn parse_rules(table: &Value) -> Result<Vec<Rule>, String> {
    let rules = table
        .as_array()
        .ok_or("the rules must be a JSON array of objects")?;
    if rules.is_empty() {
        return Err("the rule table is empty".into());
    }
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| parse_rule(rule).map_err(|e| format!("rule {}: {e}", i + 1)))
        .collect()
}

fn parse_rule(rule: &Value) -> Result<Rule, String> {
    let object = rule.as_object().ok_or("not a JSON object")?;
    if let Some(key) = object
        .keys()
        .find(|k| !["name", "r", "f", "m"].contains(&k.as_str()))
    {
        return Err(format!(
            "unknown key \"{key}\" (a rule has \"name\", \"r\", \"f\", \"m\")"
        ));
    }
    let name = match object.get("name").and_then(Value::as_str).map(str::trim) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => return Err("\"name\" must be a non-empty string".into()),
    };
    let mut ranges = [None; 3];
    for (slot, key) in ranges.iter_mut().zip(["r", "f", "m"]) {
        if let Some(range) = object.get(key) {
            *slot = Some(parse_range(range).map_err(|e| format!("\"{key}\" {e}"))?);
        }
    }
    Ok(Rule { name, ranges })
}

fn parse_range(range: &Value) -> Result<(i64, i64), String> {
    let bounds: Option<Vec<i64>> = range
        .as_array()
        .and_then(|a| a.iter().map(Value::as_i64).collect());
    match bounds.as_deref() {
        Some(&[low, high]) if 1 <= low && low <= high && high <= MAX_SCORE => Ok((low, high)),
        Some(&[low, high]) => Err(format!(
            "[{low}, {high}] must be scores low <= high within 1..{MAX_SCORE}"
        )),
        _ => Err(format!(
            "must be [low, high] with whole numbers, not {range}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_wins() {
        let rules = default_rules();
        assert_eq!(segment(&rules, 5, 5, 5), "Champions");
        // 5 5 4 is no Champion; Potential Loyalist (R3-5 F3-5 M2-5) comes before Loyal Customers.
        assert_eq!(segment(&rules, 5, 5, 4), "Potential Loyalist");
        assert_eq!(segment(&rules, 2, 2, 2), "Loyal Customers");
        assert_eq!(segment(&rules, 1, 4, 5), "Can't Lose Them");
        assert_eq!(segment(&rules, 1, 5, 5), "At Risk");
        assert_eq!(segment(&rules, 1, 1, 1), "Lost");
        assert_eq!(segment(&rules, 5, 1, 1), "New Customers");
        assert_eq!(segment(&rules, 2, 5, 1), NO_MATCH);
    }

    #[test]
    fn the_default_table_round_trips_through_json() {
        assert_eq!(parse_rules(&default_rules_json()).unwrap(), default_rules());
    }

    #[test]
    fn bad_rules_are_named() {
        let cases = [
            (json!({}), "array"),
            (json!([]), "empty"),
            (
                json!([{"name": "VIP", "r": [4, 5], "x": 1}]),
                "rule 1: unknown key \"x\"",
            ),
            (json!([{"name": " ", "r": [4, 5]}]), "rule 1: \"name\""),
            (
                json!([{"name": "A"}, {"name": "B", "f": [0, 5]}]),
                "rule 2: \"f\" [0, 5]",
            ),
            (json!([{"name": "A", "m": [5, 4]}]), "\"m\" [5, 4]"),
            (
                json!([{"name": "A", "m": "5"}]),
                "\"m\" must be [low, high]",
            ),
        ];
        for (table, expected) in cases {
            let error = parse_rules(&table).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        let any = parse_rules(&json!([{"name": "Big spenders", "m": [5, 5]}])).unwrap();
        assert_eq!(segment(&any, 1, 1, 5), "Big spenders");
    }
}
