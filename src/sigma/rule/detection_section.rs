//! The `detection` section of a rule (and the selections and condition of a filter): search
//! identifiers lowered by the detection module, conditions parsed by the condition grammar,
//! and the Sigma 1.x constructs the section may still carry.

use std::borrow::Cow;

use serde_yaml::{Mapping, Value as Yaml};

use super::DocumentOptions;
use super::yaml_values::{string_value, yaml_kind};
use crate::sigma::condition::{
    Aggregation, Condition, ConditionExpr, Quantifier, SelectorTarget, parse_condition,
};
use crate::sigma::detection::{Detection, PatternBudget, key_string, parse_identifiers};
use crate::sigma::diagnostic::{Code, NodePath, Problem};

/// The condition texts of a `condition` value (a string or a list of strings).
fn condition_texts(
    value: &Yaml,
    path: &NodePath,
    problems: &mut Vec<Problem>,
) -> Vec<(String, NodePath)> {
    match value {
        Yaml::Sequence(items) => {
            if items.is_empty() {
                problems.push(Problem::at(
                    Code::ConditionSyntax,
                    path,
                    "the condition list is empty",
                ));
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match string_value(item) {
                    Some(s) => Some((s, path.index(i))),
                    None => {
                        problems.push(Problem::at(
                            Code::InvalidType,
                            &path.index(i),
                            format!("a condition must be a string, not {}", yaml_kind(item)),
                        ));
                        None
                    }
                })
                .collect()
        }
        other => match string_value(other) {
            Some(s) => vec![(s, path.clone())],
            None => {
                problems.push(Problem::at(
                    Code::InvalidType,
                    path,
                    format!(
                        "`condition` must be a string or a list of strings, not {}",
                        yaml_kind(other)
                    ),
                ));
                Vec::new()
            }
        },
    }
}

pub(super) fn parse_conditions(
    map: &Mapping,
    path: &NodePath,
    options: &DocumentOptions,
    problems: &mut Vec<Problem>,
) -> Vec<Condition> {
    let Some(value) = map.get("condition") else {
        problems.push(Problem::at(
            Code::MissingField,
            path,
            "the required field `condition` is missing",
        ));
        return Vec::new();
    };
    // Every defined name counts, even one whose definition has errors (reported already), so
    // one mistake is not reported twice.
    let names: Vec<String> = map
        .keys()
        .filter_map(key_string)
        .filter(|k| !matches!(k.as_ref(), "condition" | "timeframe" | "rules"))
        .map(Cow::into_owned)
        .collect();
    let mut conditions = Vec::new();
    for (text, cpath) in condition_texts(value, &path.key("condition"), problems) {
        match parse_condition(&text, &names, &cpath, options.max_depth) {
            Ok(condition) => {
                if let Some(aggregation) = &condition.aggregation {
                    let what = match aggregation {
                        Aggregation::Function { .. } => "pipe aggregations (`| count() …`)",
                        Aggregation::Near { .. } => "`| near`",
                    };
                    problems.push(Problem::at(
                        Code::Deprecated,
                        &cpath,
                        format!("{what} are Sigma 1.x syntax, replaced by correlation rules"),
                    ));
                }
                if uses_all_of_them(&condition.expr) {
                    problems.push(Problem::at(
                        Code::Discouraged,
                        &cpath,
                        "`all of them` prevents generic filtering; the specification recommends `all of <pattern>`",
                    ));
                }
                conditions.push(condition);
            }
            Err(problem) => problems.push(problem),
        }
    }
    conditions
}

/// Whether `all of them` occurs in the expression.
fn uses_all_of_them(expr: &ConditionExpr) -> bool {
    match expr {
        ConditionExpr::And(items) | ConditionExpr::Or(items) => items.iter().any(uses_all_of_them),
        ConditionExpr::Not(inner) => uses_all_of_them(inner),
        ConditionExpr::Identifier(_) => false,
        ConditionExpr::Selector(selector) => {
            selector.quantifier == Quantifier::All && selector.target == SelectorTarget::Them
        }
    }
}

pub(super) fn parse_detection(
    value: &Yaml,
    path: &NodePath,
    options: &DocumentOptions,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Option<Detection> {
    let Yaml::Mapping(map) = value else {
        problems.push(Problem::at(
            Code::InvalidType,
            path,
            format!("`detection` must be a map, not {}", yaml_kind(value)),
        ));
        return None;
    };
    let identifiers = parse_identifiers(map, path, problems, budget);
    if identifiers.is_empty()
        && !map.keys().any(|k| {
            k.as_str()
                .is_some_and(|k| k != "condition" && k != "timeframe")
        })
    {
        problems.push(Problem::at(
            Code::EmptyDetection,
            path,
            "`detection` defines no search identifier",
        ));
    }
    let conditions = parse_conditions(map, path, options, problems);
    let timeframe = map.get("timeframe").and_then(string_value);
    if timeframe.is_some() {
        problems.push(Problem::at(
            Code::Deprecated,
            &path.key("timeframe"),
            "`timeframe` is Sigma 1.x syntax, replaced by correlation rules' `timespan`",
        ));
    }
    Some(Detection {
        identifiers,
        conditions,
        timeframe,
    })
}
