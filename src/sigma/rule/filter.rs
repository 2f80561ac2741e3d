//! Filter rules: the `filter` section (the rules it tunes, its selections and its one
//! condition) and its reading.

use serde_yaml::Value as Yaml;

use super::detection_section::parse_conditions;
use super::rule_refs::{RuleRef, parse_rule_refs};
use super::yaml_values::yaml_kind;
use super::{DocumentOptions, LogSource, Metadata};
use crate::sigma::condition::Condition;
use crate::sigma::detection::{PatternBudget, SearchIdentifier, parse_identifiers};
use crate::sigma::diagnostic::{Code, NodePath, Problem};

/// The `filter` section of a filter rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The rules the filter applies to.
    pub rules: Vec<RuleRef>,
    /// `rules: any`: the filter applies to every rule whose log source it covers.
    pub all_rules: bool,
    /// The filter's search identifiers.
    pub identifiers: Vec<SearchIdentifier>,
    /// The filter condition.
    pub condition: Condition,
}

/// A filter rule.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterRule {
    /// Metadata.
    pub meta: Metadata,
    /// `logsource`.
    pub logsource: LogSource,
    /// The filter.
    pub filter: Filter,
}

pub(super) fn parse_filter(
    value: &Yaml,
    path: &NodePath,
    options: &DocumentOptions,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Option<Filter> {
    let Yaml::Mapping(map) = value else {
        problems.push(Problem::at(
            Code::InvalidFilter,
            path,
            format!("`filter` must be a map, not {}", yaml_kind(value)),
        ));
        return None;
    };
    let all_rules = map
        .get("rules")
        .and_then(Yaml::as_str)
        .is_some_and(|r| r.eq_ignore_ascii_case("any"));
    let rules = if all_rules {
        Vec::new()
    } else {
        parse_rule_refs(map.get("rules"), path, "filter", problems)
    };
    let mut rest = map.clone();
    rest.remove("rules");
    let identifiers = parse_identifiers(&rest, path, problems, budget);
    let defines_none = !rest
        .keys()
        .any(|k| k.as_str().is_some_and(|k| k != "condition"));
    if defines_none {
        problems.push(Problem::at(
            Code::InvalidFilter,
            path,
            "the filter defines no selection",
        ));
    }
    // The condition is checked even without selections, so every mistake is reported at once.
    let mut conditions = parse_conditions(map, path, options, problems);
    if identifiers.is_empty() {
        return None;
    }
    if conditions.len() > 1 {
        problems.push(Problem::at(
            Code::InvalidFilter,
            &path.key("condition"),
            "a filter has exactly one condition",
        ));
    }
    let condition = conditions.drain(..).next()?;
    Some(Filter {
        rules,
        all_rules,
        identifiers,
        condition,
    })
}
