//! Sigma filters applied to the rules they name.
//!
//! A filter (`filter: rules: [...]`, its own search identifiers and condition) tunes every
//! rule it names whose log source it covers: the rule keeps its own search identifiers, gains
//! the filter's under names that cannot clash with them, and each of its conditions becomes
//! `(condition) and (filter condition)`. Several filters on one rule are applied one after the
//! other in rule-set order, so the result nests as `((c) and (f1)) and (f2)`. This is the
//! reading of the specification's "Sigma Filters" that pySigma implements; the tuned rule is an
//! ordinary rule for every later stage.

use super::condition::{ConditionExpr, parse_condition};
use super::detection::SearchIdentifier;
use super::rule::{FilterRule, Rule};
use super::{Condition, Limits};

/// The words of the condition grammar, which renaming leaves alone.
const CONDITION_WORDS: [&str; 7] = ["not", "and", "or", "all", "any", "of", "1"];

/// The prefix of the search identifiers the `number`th filter (from 1) adds to a rule. It
/// starts with `_`, so a rule condition's `them` (every identifier not starting with `_`) does
/// not take in the filter's identifiers when the condition is read again.
fn prefix(number: usize) -> String {
    format!("_filter{number}_")
}

/// `condition` with every identifier and identifier pattern renamed with `prefix`, and `them`
/// made the pattern of all the renamed identifiers.
fn rename_condition(condition: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(condition.len() + 16);
    let mut chars = condition.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if !(c.is_ascii_alphabetic() || c == '*' || c == '_') {
            out.push(c);
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, next)) = chars.peek() {
            if next.is_alphanumeric() || matches!(next, '*' | '_' | '-' | '.') {
                end = i + next.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let token = &condition[start..end];
        if CONDITION_WORDS
            .iter()
            .any(|w| w.eq_ignore_ascii_case(token))
        {
            out.push_str(token);
        } else if token.eq_ignore_ascii_case("them") {
            out.push_str(prefix);
            out.push('*');
        } else {
            out.push_str(prefix);
            out.push_str(token);
        }
    }
    out
}

/// The same expression with every identifier renamed with `prefix` (for a condition that cannot
/// be read again as text: one with a pipe aggregation).
fn rename_expr(expr: &ConditionExpr, prefix: &str) -> ConditionExpr {
    match expr {
        ConditionExpr::And(items) => {
            ConditionExpr::And(items.iter().map(|e| rename_expr(e, prefix)).collect())
        }
        ConditionExpr::Or(items) => {
            ConditionExpr::Or(items.iter().map(|e| rename_expr(e, prefix)).collect())
        }
        ConditionExpr::Not(inner) => ConditionExpr::Not(Box::new(rename_expr(inner, prefix))),
        ConditionExpr::Identifier(name) => ConditionExpr::Identifier(format!("{prefix}{name}")),
        ConditionExpr::Selector(selector) => {
            let mut selector = selector.clone();
            selector.identifiers = selector
                .identifiers
                .iter()
                .map(|name| format!("{prefix}{name}"))
                .collect();
            ConditionExpr::Selector(selector)
        }
    }
}

/// `rule` tuned by `filters`, in order.
pub fn tune(rule: &Rule, filters: &[&FilterRule]) -> Rule {
    let mut tuned = rule.clone();
    for (n, filter) in filters.iter().enumerate() {
        let prefix = prefix(n + 1);
        let detection = &mut tuned.detection;
        detection
            .identifiers
            .extend(
                filter
                    .filter
                    .identifiers
                    .iter()
                    .map(|identifier| SearchIdentifier {
                        name: format!("{prefix}{}", identifier.name),
                        body: identifier.body.clone(),
                        path: identifier.path.clone(),
                    }),
            );
        let names: Vec<String> = detection
            .identifiers
            .iter()
            .map(|i| i.name.clone())
            .collect();
        let filter_condition = &filter.filter.condition;
        let renamed = rename_condition(&filter_condition.text, &prefix);
        for condition in &mut detection.conditions {
            *condition = narrow(condition, filter_condition, &renamed, &prefix, &names);
        }
    }
    tuned
}

/// One condition narrowed by one filter.
fn narrow(
    condition: &Condition,
    filter: &Condition,
    renamed_filter: &str,
    prefix: &str,
    names: &[String],
) -> Condition {
    if condition.aggregation.is_none() {
        let text = format!("({}) and ({renamed_filter})", condition.text);
        // Read again as text, so the tuned condition has exactly the shape the parser gives
        // the same condition written by hand (and so the backends print what pySigma prints).
        if let Ok(parsed) =
            parse_condition(&text, names, &condition.path, Limits::default().max_depth)
        {
            if parsed.aggregation.is_none() {
                return parsed;
            }
        }
    }
    Condition {
        text: format!("({}) and ({renamed_filter})", condition.text),
        expr: ConditionExpr::And(vec![
            condition.expr.clone(),
            rename_expr(&filter.expr, prefix),
        ]),
        aggregation: condition.aggregation.clone(),
        path: condition.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renaming_keeps_the_grammar_and_prefixes_identifiers_and_patterns() {
        assert_eq!(
            rename_condition("not 1 of sel_* and (a or them) AND NOT b-c", "_f1_"),
            "not 1 of _f1_sel_* and (_f1_a or _f1_*) AND NOT _f1_b-c"
        );
        assert_eq!(rename_condition("all of *_x", "_f_"), "all of _f_*_x");
    }
}
