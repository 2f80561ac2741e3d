//! Readers of the scalar and list values of a document's keys, reporting values of the wrong
//! YAML type.

use serde_yaml::{Mapping, Value as Yaml};

use crate::sigma::diagnostic::{Code, NodePath, Problem};

pub(super) fn string_value(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Tagged(t) => string_value(&t.value),
        _ => None,
    }
}

/// Reads an optional string field; non-strings are an `invalid-type` error.
pub(super) fn opt_string(
    doc: &Mapping,
    key: &str,
    root: &NodePath,
    problems: &mut Vec<Problem>,
) -> Option<String> {
    match doc.get(key)? {
        Yaml::Null => None,
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(_) | Yaml::Bool(_) if key != "title" => string_value(&doc[key]),
        other => {
            problems.push(Problem::at(
                Code::InvalidType,
                &root.key(key),
                format!("`{key}` must be a string, not {}", yaml_kind(other)),
            ));
            None
        }
    }
}

/// Reads a list of strings; a single string is accepted as a one-element list.
pub(super) fn string_list(
    doc: &Mapping,
    key: &str,
    root: &NodePath,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    match doc.get(key) {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match string_value(item) {
                    Some(s) => out.push(s),
                    None if matches!(item, Yaml::Null) => {}
                    None => problems.push(Problem::at(
                        Code::InvalidType,
                        &root.key(key).index(i),
                        format!(
                            "entries of `{key}` must be strings, not {}",
                            yaml_kind(item)
                        ),
                    )),
                }
            }
            out
        }
        Some(other) => match string_value(other) {
            Some(s) => vec![s],
            None => {
                problems.push(Problem::at(
                    Code::InvalidType,
                    &root.key(key),
                    format!(
                        "`{key}` must be a list of strings, not {}",
                        yaml_kind(other)
                    ),
                ));
                Vec::new()
            }
        },
    }
}

/// The YAML type of a value, for messages.
pub fn yaml_kind(value: &Yaml) -> &'static str {
    match value {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a map",
        Yaml::Tagged(_) => "a tagged value",
    }
}
