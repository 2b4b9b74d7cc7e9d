//! Where the segment mix is heading: segment shares projected step by step through a
//! migration matrix's row probabilities, as a Markov chain, and the mix it settles at.
//!
//! The chain is that of the customers who stay (the matrix's `probabilities`): churn and new
//! customers are left to `churn_rate` and acquisition plans, so the shares always add up to 1.

use serde_json::{json, Map, Value};

/// Rows and shares must add up to 1 within this.
const TOLERANCE: f64 = 1e-9;
/// The mix has settled when no share moves by more than this in a step.
const SETTLED: f64 = 1e-15;
const MAX_STEADY_STEPS: usize = 1_000_000;

/// Why a projection cannot be made; each names what is wrong.
#[derive(Debug, PartialEq)]
pub struct BadProjection(pub String);

fn bad<T>(why: impl Into<String>) -> Result<T, BadProjection> {
    Err(BadProjection(why.into()))
}

/// A migration matrix's segments and row probabilities (None for a segment whose customers
/// all left), checked: rows of numbers in [0, 1] that add up to 1.
fn read_matrix(matrix: &Value) -> Result<(Vec<String>, Vec<Option<Vec<f64>>>), BadProjection> {
    let Some(segments) = matrix["segments"].as_array() else {
        return bad("the matrix has no \"segments\" array (pass what migration_matrix returns)");
    };
    let segments: Vec<String> = segments
        .iter()
        .map(|s| s.as_str().map(String::from))
        .collect::<Option<_>>()
        .map_or_else(|| bad("a segment is not a string"), Ok)?;
    let Some(rows) = matrix["probabilities"]
        .as_array()
        .filter(|rows| rows.len() == segments.len())
    else {
        return bad("the matrix has no \"probabilities\" array of one row per segment");
    };
    let k = segments.len();
    let mut read = Vec::with_capacity(k);
    for (segment, row) in segments.iter().zip(rows) {
        if row.is_null() {
            read.push(None);
            continue;
        }
        let values: Option<Vec<f64>> = row
            .as_array()
            .filter(|r| r.len() == k)
            .and_then(|r| r.iter().map(Value::as_f64).collect());
        let Some(values) = values else {
            return bad(format!("the row of segment {segment:?} is not {k} numbers"));
        };
        if values.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return bad(format!(
                "the row of segment {segment:?} has a probability outside [0, 1]"
            ));
        }
        let total: f64 = values.iter().sum();
        if (total - 1.0).abs() > TOLERANCE {
            return bad(format!(
                "the row of segment {segment:?} adds up to {total}, not 1"
            ));
        }
        read.push(Some(values));
    }
    Ok((segments, read))
}

/// The starting shares, by segment name, in the matrix's order; missing segments have 0.
fn read_shares(shares: &Value, segments: &[String]) -> Result<Vec<f64>, BadProjection> {
    let Some(given) = shares.as_object() else {
        return bad("the shares are not a JSON object of segment: share");
    };
    let mut read = vec![0.0; segments.len()];
    for (name, share) in given {
        let Some(i) = segments.iter().position(|s| s == name) else {
            return bad(format!(
                "segment {name:?} is not in the matrix (its segments: {segments:?})"
            ));
        };
        match share.as_f64() {
            Some(v) if (0.0..=1.0).contains(&v) => read[i] = v,
            _ => return bad(format!("the share of {name:?} is not a number in [0, 1]")),
        }
    }
    let total: f64 = read.iter().sum();
    if (total - 1.0).abs() > TOLERANCE {
        return bad(format!("the shares add up to {total}, not 1"));
    }
    Ok(read)
}

/// One step: shares times the matrix; Err when a segment with shares has no row.
fn step(
    shares: &[f64],
    rows: &[Option<Vec<f64>>],
    segments: &[String],
) -> Result<Vec<f64>, BadProjection> {
    let mut next = vec![0.0; shares.len()];
    for (i, &share) in shares.iter().enumerate() {
        if share == 0.0 {
            continue;
        }
        let Some(row) = &rows[i] else {
            return bad(format!(
                "segment {:?} holds customers in the projection but has no row: all its customers left",
                segments[i]
            ));
        };
        next.iter_mut().zip(row).for_each(|(n, p)| *n += share * p);
    }
    Ok(next)
}

/// `steps` projected steps from `shares` through `matrix`, and the mix they settle at (null
/// for a periodic chain, which never settles).
pub fn project(matrix: &Value, shares: &Value, steps: u32) -> Result<Value, BadProjection> {
    let (segments, rows) = read_matrix(matrix)?;
    let mut current = read_shares(shares, &segments)?;
    let mut path = vec![current.clone()];
    for _ in 0..steps {
        crate::interrupt::check();
        current = step(&current, &rows, &segments)?;
        path.push(current.clone());
    }
    let mut steady = Value::Null;
    for _ in 0..MAX_STEADY_STEPS {
        crate::interrupt::check();
        let next = step(&current, &rows, &segments)?;
        let moved = next
            .iter()
            .zip(&current)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        current = next;
        if moved <= SETTLED {
            steady = json!(current);
            break;
        }
    }
    let by_name = |values: &[f64]| -> Value {
        Value::Object(
            segments
                .iter()
                .cloned()
                .zip(values.iter().map(|v| json!(v)))
                .collect::<Map<_, _>>(),
        )
    };
    Ok(json!({
        "segments": segments,
        "steps": path.iter().map(|s| by_name(s)).collect::<Vec<_>>(),
        "steady_state": if steady.is_null() { Value::Null } else { by_name(&current) },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix() -> Value {
        json!({"segments": ["A", "B", "C"],
               "probabilities": [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.3, 0.7]]})
    }

    /// The stationary distribution of this chain, solved by hand from π = πP: π_A = 2 π_B,
    /// π_C = π_B / 3, so (0.6, 0.3, 0.1); and the first step by hand.
    #[test]
    fn projects_and_settles() {
        let out = project(&matrix(), &json!({"A": 1.0}), 2).unwrap();
        assert_eq!(out["steps"][1], json!({"A": 0.9, "B": 0.1, "C": 0.0}));
        let steady: Vec<f64> = ["A", "B", "C"]
            .iter()
            .map(|s| out["steady_state"][s].as_f64().unwrap())
            .collect();
        let m = [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.3, 0.7]];
        for j in 0..3 {
            let again: f64 = (0..3).map(|i| steady[i] * m[i][j]).sum();
            assert!((again - steady[j]).abs() < 1e-13);
        }
        for (got, want) in steady.iter().zip([0.6, 0.3, 0.1]) {
            assert!((got - want).abs() < 1e-13, "{steady:?}");
        }
    }

    #[test]
    fn bad_input_is_named() {
        let err = |m: Value, s: Value| project(&m, &s, 1).unwrap_err().0;
        assert!(err(matrix(), json!({"D": 1.0})).contains("\"D\" is not in the matrix"));
        assert!(err(matrix(), json!({"A": 0.5})).contains("add up to 0.5"));
        let mut m = matrix();
        m["probabilities"][1] = json!([0.2, 0.7, 0.2]);
        assert!(err(m, json!({"A": 1.0})).contains("segment \"B\" adds up to"));
        let mut m = matrix();
        m["probabilities"][2] = Value::Null;
        assert!(err(m, json!({"A": 1.0})).contains("\"C\" holds customers"));
        // A periodic chain never settles.
        let flip = json!({"segments": ["A", "B"], "probabilities": [[0.0, 1.0], [1.0, 0.0]]});
        assert_eq!(
            project(&flip, &json!({"A": 1.0}), 1).unwrap()["steady_state"],
            Value::Null
        );
    }
}
