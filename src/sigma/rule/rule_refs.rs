//! References from a correlation or a filter to the rules it uses (`rules`), by id or name.

use serde_yaml::Value as Yaml;

use super::yaml_values::{string_value, yaml_kind};
use crate::sigma::diagnostic::{Code, NodePath, Problem};

/// A reference from a correlation or filter to a rule, by `id` or `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The id or name as written.
    pub reference: String,
    /// Where it is written.
    pub path: NodePath,
}

pub(super) fn parse_rule_refs(
    value: Option<&Yaml>,
    path: &NodePath,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<RuleRef> {
    match value {
        None | Some(Yaml::Null) => {
            problems.push(Problem::at(
                if what == "filter" {
                    Code::InvalidFilter
                } else {
                    Code::InvalidCorrelation
                },
                path,
                format!("the {what} needs `rules`: the ids or names of the rules it uses"),
            ));
            Vec::new()
        }
        Some(Yaml::Sequence(items)) => {
            if items.is_empty() {
                problems.push(Problem::at(
                    if what == "filter" {
                        Code::InvalidFilter
                    } else {
                        Code::InvalidCorrelation
                    },
                    &path.key("rules"),
                    format!("the {what}'s `rules` list is empty"),
                ));
            }
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| match string_value(item) {
                    Some(reference) => Some(RuleRef {
                        reference,
                        path: path.key("rules").index(i),
                    }),
                    None => {
                        problems.push(Problem::at(
                            Code::InvalidType,
                            &path.key("rules").index(i),
                            format!(
                                "entries of `rules` must be rule ids or names, not {}",
                                yaml_kind(item)
                            ),
                        ));
                        None
                    }
                })
                .collect()
        }
        Some(other) => match string_value(other) {
            Some(reference) => vec![RuleRef {
                reference,
                path: path.key("rules"),
            }],
            None => {
                problems.push(Problem::at(
                    Code::InvalidType,
                    &path.key("rules"),
                    format!(
                        "`rules` must be a list of rule ids or names, not {}",
                        yaml_kind(other)
                    ),
                ));
                Vec::new()
            }
        },
    }
}
