//! The `logsource` section: its model and its reading, with the checks of its names.

use serde_yaml::{Mapping, Value as Yaml};

use super::yaml_values::{string_value, yaml_kind};
use crate::sigma::detection::key_string;
use crate::sigma::diagnostic::{Code, NodePath, Problem};

/// `logsource`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogSource {
    /// `category`
    pub category: Option<String>,
    /// `product`
    pub product: Option<String>,
    /// `service`
    pub service: Option<String>,
    /// `definition`
    pub definition: Option<String>,
    /// Other keys, in order.
    pub custom: Vec<(String, Yaml)>,
}

impl LogSource {
    /// `product: windows · service: sysmon`-style summary.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("category", &self.category),
            ("product", &self.product),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}: {v}"));
            }
        }
        parts.join(" · ")
    }
}

pub(super) fn required_logsource(
    doc: &Mapping,
    root: &NodePath,
    problems: &mut Vec<Problem>,
) -> Option<LogSource> {
    let path = root.key("logsource");
    match doc.get("logsource") {
        None | Some(Yaml::Null) => {
            problems.push(Problem::at(
                Code::MissingField,
                root,
                "the required field `logsource` is missing",
            ));
            None
        }
        Some(Yaml::Mapping(map)) => {
            let mut ls = LogSource::default();
            for (key, value) in map {
                let Some(key) = key_string(key) else { continue };
                let text = string_value(value);
                if text.is_none()
                    && !matches!(value, Yaml::Null)
                    && ["category", "product", "service", "definition"].contains(&key.as_ref())
                {
                    problems.push(Problem::at(
                        Code::InvalidType,
                        &path.key(&key),
                        format!(
                            "`logsource.{key}` must be a string, not {}",
                            yaml_kind(value)
                        ),
                    ));
                    continue;
                }
                if let Some(value) = text
                    .as_deref()
                    .filter(|_| ["category", "product", "service"].contains(&key.as_ref()))
                {
                    let standard = !value.is_empty()
                        && value.bytes().all(|b| {
                            b.is_ascii_lowercase()
                                || b.is_ascii_digit()
                                || matches!(b, b'_' | b'.' | b'-')
                        });
                    if !standard {
                        problems.push(Problem::at(
                            Code::NonStandardLogsource,
                            &path.key(&key),
                            format!(
                                "`logsource.{key}: {value}`: log source names are lower case, with `_` for spaces (`.` and `-` allowed)"
                            ),
                        ));
                    }
                }
                match key.as_ref() {
                    "category" => ls.category = text,
                    "product" => ls.product = text,
                    "service" => ls.service = text,
                    "definition" => ls.definition = text,
                    _ => ls.custom.push((key.into_owned(), value.clone())),
                }
            }
            if ls.category.is_none() && ls.product.is_none() && ls.service.is_none() {
                problems.push(Problem::at(
                    Code::MissingField,
                    &path,
                    "`logsource` needs at least one of `category`, `product` or `service`",
                ));
                return None;
            }
            Some(ls)
        }
        Some(other) => {
            problems.push(Problem::at(
                Code::InvalidType,
                &path,
                format!("`logsource` must be a map, not {}", yaml_kind(other)),
            ));
            None
        }
    }
}
