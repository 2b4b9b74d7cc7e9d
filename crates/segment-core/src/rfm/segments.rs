//! Named RFM segments: a table of rules, each a name and a range of R, F and M scores; the first
//! rule that matches a customer's scores names its segment, 'Others' when none does.

use serde::{Deserialize, Serialize};

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
/// vignette, in the order they are tried (kept, so that segments match that package's), each
/// with what it means and what to do about it.
const DEFAULT_RULES: [(&str, [(i64, i64); 3], &str, &str); 10] = [
    ("Champions", [(5, 5), (5, 5), (5, 5)],
     "Bought most recently, most often and spent the most.",
     "Reward and thank them, ask for reviews and referrals, give early access; no discounts: they buy anyway."),
    ("Potential Loyalist", [(3, 5), (3, 5), (2, 5)],
     "Recent customers who buy repeatedly and spend well: tried before Loyal Customers, so it takes the better of them.",
     "Offer a loyalty programme or membership and related products, to make them Champions."),
    ("Loyal Customers", [(2, 4), (2, 4), (2, 4)],
     "Middling on all three: those of the regular buyers whom Potential Loyalist (tried first) did not take.",
     "Upsell higher-value products and keep in touch; watch their recency."),
    ("Promising", [(3, 4), (1, 3), (3, 5)],
     "Fairly recent buyers with few purchases but good spend.",
     "Build the relationship: onboarding, brand content, a reason for the next purchase."),
    ("New Customers", [(4, 5), (1, 3), (1, 5)],
     "Bought recently, but only once or twice.",
     "Welcome them and support the first weeks: most never buy a second time, so make the second purchase easy."),
    ("Can't Lose Them", [(1, 2), (3, 4), (4, 5)],
     "Used to buy often and spend a lot, but not for a long time.",
     "Win them back personally (call, write, a renewal offer) before a competitor does."),
    ("At Risk", [(1, 2), (2, 5), (4, 5)],
     "Spent a lot and bought more than once, but long ago.",
     "Reactivate with personal offers based on what they bought; worth a real effort."),
    ("Need Attention", [(1, 3), (3, 5), (3, 5)],
     "Above-average frequency and spend, recency slipping.",
     "Time-limited offers and recommendations from their history, before they fall asleep."),
    ("About To Sleep", [(2, 3), (1, 3), (1, 4)],
     "Below average on all three, and lapsing.",
     "A cheap reminder of popular products at most; do not buy them back with discounts."),
    ("Lost", [(1, 1), (1, 5), (1, 5)],
     "Last purchase longest ago.",
     "Spend little or nothing here; bargain hunters who bought once on a discount get the red card."),
];

pub fn default_rules() -> Vec<Rule> {
    DEFAULT_RULES
        .iter()
        .map(|(name, ranges, _, _)| Rule {
            name: (*name).into(),
            ranges: ranges.map(Some),
        })
        .collect()
}

/// A rule as JSON: `{"name": "VIP", "r": [4, 5], "f": [4, 5], "m": [4, 5]}`; a missing range
/// accepts any score, an unknown key is an error. A "description" and an "action" are text for
/// people (the default table has both), read and not used.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RuleJson {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<(i64, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<(i64, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<(i64, i64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<String>,
}

/// The default table as JSON, in the form `parse_rules` reads, to copy and edit.
pub fn default_rules_json() -> String {
    let rules: Vec<RuleJson> = DEFAULT_RULES
        .iter()
        .map(|(name, [r, f, m], description, action)| RuleJson {
            name: (*name).into(),
            r: Some(*r),
            f: Some(*f),
            m: Some(*m),
            description: Some((*description).into()),
            action: Some((*action).into()),
        })
        .collect();
    serde_json::to_string(&rules).expect("rules are plain JSON")
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
pub fn parse_rules(table: &str) -> Result<Vec<Rule>, String> {
    let rules: Vec<serde_json::Value> = serde_json::from_str(table)
        .map_err(|e| format!("the rules must be a JSON array of objects ({e})"))?;
    if rules.is_empty() {
        return Err("the rule table is empty".into());
    }
    rules
        .into_iter()
        .enumerate()
        .map(|(i, rule)| parse_rule(rule).map_err(|e| format!("rule {}: {e}", i + 1)))
        .collect()
}

fn parse_rule(rule: serde_json::Value) -> Result<Rule, String> {
    let rule: RuleJson = serde_json::from_value(rule).map_err(|e| e.to_string())?;
    let name = rule.name.trim();
    if name.is_empty() {
        return Err("\"name\" must be a non-empty string".into());
    }
    let mut ranges = [None; 3];
    for (slot, (key, range)) in ranges
        .iter_mut()
        .zip([("r", rule.r), ("f", rule.f), ("m", rule.m)])
    {
        *slot = match range {
            Some((low, high)) if !(1 <= low && low <= high && high <= MAX_SCORE) => {
                return Err(format!(
                    "\"{key}\" [{low}, {high}] must be scores low <= high within 1..{MAX_SCORE}"
                ))
            }
            range => range,
        };
    }
    Ok(Rule {
        name: name.to_string(),
        ranges,
    })
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
        let rules: Vec<serde_json::Value> = serde_json::from_str(&default_rules_json()).unwrap();
        assert!(rules
            .iter()
            .all(|r| r["description"].is_string() && r["action"].is_string()));
    }

    /// What pgrx's own jsonb conversion turned into an internal error (a panic): a number
    /// beyond double range, and nesting past serde_json's recursion limit.
    #[test]
    fn numbers_out_of_range_and_deep_nesting_are_plain_errors() {
        let huge = r#"[{"name": "A", "r": [1e400, 5]}]"#;
        assert!(parse_rules(huge).unwrap_err().contains("out of range"));
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_rules(&deep)
            .unwrap_err()
            .contains("JSON array of objects"));
    }

    #[test]
    fn bad_rules_are_named() {
        let cases = [
            ("{}", "array"),
            ("[]", "empty"),
            (
                r#"[{"name": "VIP", "r": [4, 5], "x": 1}]"#,
                "rule 1: unknown field `x`",
            ),
            (r#"[{"name": " ", "r": [4, 5]}]"#, "rule 1: \"name\""),
            (
                r#"[{"name": "A"}, {"name": "B", "f": [0, 5]}]"#,
                "rule 2: \"f\" [0, 5]",
            ),
            (r#"[{"name": "A", "m": [5, 4]}]"#, "\"m\" [5, 4]"),
            (r#"[{"name": "A", "m": "5"}]"#, "rule 1: invalid type"),
            (r#"[{"r": [1, 2]}]"#, "rule 1: missing field `name`"),
        ];
        for (table, expected) in cases {
            let error = parse_rules(table).unwrap_err();
            assert!(error.contains(expected), "{error}");
        }
        let any = parse_rules(r#"[{"name": "Big spenders", "m": [5, 5]}]"#).unwrap();
        assert_eq!(segment(&any, 1, 1, 5), "Big spenders");
    }
}
