//! Correlation rules: the `correlation` section (type, rules, group-by, timespan, condition,
//! aliases, generate) and its reading.

use serde_yaml::{Mapping, Value as Yaml};

use super::Metadata;
use super::rule_refs::{RuleRef, parse_rule_refs};
use super::yaml_values::{string_value, yaml_kind};
use crate::sigma::detection::key_string;
use crate::sigma::diagnostic::{Code, NodePath, Problem};
use crate::sigma::value::Number;

/// The kind of a correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationType {
    /// `event_count`
    EventCount,
    /// `value_count`
    ValueCount,
    /// `temporal`
    Temporal,
    /// `temporal_ordered`
    TemporalOrdered,
    /// `value_sum`
    ValueSum,
    /// `value_avg`
    ValueAvg,
    /// `value_percentile`
    ValuePercentile,
}

impl CorrelationType {
    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    const ALL: [CorrelationType; 7] = [
        CorrelationType::EventCount,
        CorrelationType::ValueCount,
        CorrelationType::Temporal,
        CorrelationType::TemporalOrdered,
        CorrelationType::ValueSum,
        CorrelationType::ValueAvg,
        CorrelationType::ValuePercentile,
    ];

    /// Whether the type aggregates a `field` of the condition.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }

    /// Whether the type is a temporal proximity.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }
}

/// A comparison of a correlation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorrelationOp {
    /// `gt`
    Gt,
    /// `gte`
    Gte,
    /// `lt`
    Lt,
    /// `lte`
    Lte,
    /// `eq`
    Eq,
    /// `neq`
    Neq,
}

impl CorrelationOp {
    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            CorrelationOp::Gt => "gt",
            CorrelationOp::Gte => "gte",
            CorrelationOp::Lt => "lt",
            CorrelationOp::Lte => "lte",
            CorrelationOp::Eq => "eq",
            CorrelationOp::Neq => "neq",
        }
    }

    /// The symbol (`>=`…).
    pub fn symbol(self) -> &'static str {
        match self {
            CorrelationOp::Gt => ">",
            CorrelationOp::Gte => ">=",
            CorrelationOp::Lt => "<",
            CorrelationOp::Lte => "<=",
            CorrelationOp::Eq => "==",
            CorrelationOp::Neq => "!=",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gt" => CorrelationOp::Gt,
            "gte" => CorrelationOp::Gte,
            "lt" => CorrelationOp::Lt,
            "lte" => CorrelationOp::Lte,
            "eq" => CorrelationOp::Eq,
            "neq" => CorrelationOp::Neq,
            _ => return None,
        })
    }
}

/// A time span (`timespan: 1h`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timespan {
    /// As written.
    pub text: String,
    /// The number.
    pub count: u64,
    /// The unit letter (`s`, `m`, `h`, `d`).
    pub unit: char,
}

impl Timespan {
    /// Parses `number + unit`.
    pub fn parse(text: &str) -> Result<Timespan, String> {
        let text = text.trim();
        let unit = text.chars().last().unwrap_or(' ');
        if !matches!(unit, 's' | 'm' | 'h' | 'd') {
            return Err(format!(
                "timespan `{text}` must be a number followed by s, m, h or d"
            ));
        }
        let count = text[..text.len() - 1]
            .parse::<u64>()
            .map_err(|_| format!("timespan `{text}` must be a number followed by s, m, h or d"))?;
        Ok(Timespan {
            text: text.to_string(),
            count,
            unit,
        })
    }

    /// The span in seconds.
    pub fn seconds(&self) -> u64 {
        self.count.saturating_mul(match self.unit {
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => 1,
        })
    }
}

/// A field alias of a correlation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAlias {
    /// The alias name (usable in `group-by`).
    pub alias: String,
    /// Rule name → field in that rule's events.
    pub fields: Vec<(String, String)>,
}

/// The `correlation` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    /// `type`.
    pub kind: CorrelationType,
    /// `rules`.
    pub rules: Vec<RuleRef>,
    /// `group-by`.
    pub group_by: Vec<String>,
    /// `timespan`.
    pub timespan: Timespan,
    /// The comparisons of `condition` (AND-ed).
    pub condition: Vec<(CorrelationOp, Number)>,
    /// `condition.field` (value_count and the value_* types).
    pub field: Option<String>,
    /// `aliases`.
    pub aliases: Vec<FieldAlias>,
    /// `generate`: also convert the referenced rules on their own.
    pub generate: bool,
}

/// A correlation rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRule {
    /// Metadata.
    pub meta: Metadata,
    /// The correlation.
    pub correlation: Correlation,
}

/// The root of the document that `path` points into.
fn path_of_document(path: &NodePath) -> NodePath {
    NodePath::root(path.document)
}

pub(super) fn parse_correlation(
    value: &Yaml,
    doc: &Mapping,
    path: &NodePath,
    problems: &mut Vec<Problem>,
) -> Option<Correlation> {
    let Yaml::Mapping(map) = value else {
        problems.push(Problem::at(
            Code::InvalidType,
            path,
            format!("`correlation` must be a map, not {}", yaml_kind(value)),
        ));
        return None;
    };
    let bad = |problems: &mut Vec<Problem>, at: &NodePath, message: String| {
        problems.push(Problem::at(Code::InvalidCorrelation, at, message));
    };
    let kind = match map.get("type").and_then(string_value) {
        Some(t) => match CorrelationType::ALL.into_iter().find(|k| k.name() == t) {
            Some(k) => Some(k),
            None => {
                bad(
                    problems,
                    &path.key("type"),
                    format!(
                        "`{t}` is not a correlation type; use event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile"
                    ),
                );
                None
            }
        },
        None => {
            bad(problems, path, "the correlation needs a `type`".into());
            None
        }
    };
    let rules = parse_rule_refs(map.get("rules"), path, "correlation", problems);
    let group_by = match map.get("group-by") {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let field = string_value(item);
                if field.is_none() {
                    problems.push(Problem::at(
                        Code::InvalidType,
                        &path.key("group-by").index(i),
                        format!(
                            "entries of `group-by` must be field names, not {}",
                            yaml_kind(item)
                        ),
                    ));
                }
                field
            })
            .collect(),
        Some(other) => match string_value(other) {
            Some(field) => vec![field],
            None => {
                problems.push(Problem::at(
                    Code::InvalidType,
                    &path.key("group-by"),
                    format!(
                        "`group-by` must be a list of field names, not {}",
                        yaml_kind(other)
                    ),
                ));
                Vec::new()
            }
        },
    };
    let timespan = match map
        .get("timespan")
        .or_else(|| map.get("timeframe"))
        .and_then(string_value)
    {
        Some(t) => match Timespan::parse(&t) {
            Ok(ts) => Some(ts),
            Err(message) => {
                bad(problems, &path.key("timespan"), message);
                None
            }
        },
        None => {
            bad(
                problems,
                path,
                "the correlation needs a `timespan` (e.g. `timespan: 1h`)".into(),
            );
            None
        }
    };
    let mut condition = Vec::new();
    let mut field = None;
    match map.get("condition") {
        None | Some(Yaml::Null) => {
            if kind.is_some_and(|k| !k.is_temporal()) {
                bad(
                    problems,
                    path,
                    format!(
                        "a `{}` correlation needs a `condition` (e.g. `gte: 10`)",
                        kind.map_or("", |k| k.name())
                    ),
                );
            }
        }
        Some(Yaml::Mapping(cmap)) => {
            let mut reported = false;
            for (k, v) in cmap {
                let Some(k) = key_string(k) else { continue };
                if k == "field" {
                    field = match v {
                        Yaml::Sequence(items) => Some(
                            items
                                .iter()
                                .filter_map(string_value)
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                        other => string_value(other),
                    };
                    continue;
                }
                let Some(op) = CorrelationOp::parse(&k) else {
                    reported = true;
                    bad(
                        problems,
                        &path.key("condition").key_name(&k),
                        format!(
                            "`{k}` is not a correlation comparison; use gt, gte, lt, lte, eq or neq"
                        ),
                    );
                    continue;
                };
                match v {
                    Yaml::Number(n) => condition.push((op, Number::from_yaml(n))),
                    other => {
                        reported = true;
                        bad(
                            problems,
                            &path.key("condition").key(&k),
                            format!("`{k}` needs a number, not {}", yaml_kind(other)),
                        );
                    }
                }
            }
            if condition.is_empty() && !reported && !kind.is_some_and(|k| k.is_temporal()) {
                bad(
                    problems,
                    &path.key("condition"),
                    "the correlation condition needs a comparison (gt, gte, lt, lte, eq or neq)"
                        .into(),
                );
            }
        }
        Some(other) => bad(
            problems,
            &path.key("condition"),
            format!(
                "the correlation `condition` must be a map like `gte: 10`, not {}",
                yaml_kind(other)
            ),
        ),
    }
    if let Some(k) = kind {
        if k.needs_field() && field.is_none() {
            bad(
                problems,
                &path.key("condition"),
                format!(
                    "a `{}` correlation needs `field` in its condition",
                    k.name()
                ),
            );
        }
    }
    let mut aliases = Vec::new();
    match map.get("aliases") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Mapping(amap)) => {
            for (alias, mapping) in amap {
                let Some(alias) = key_string(alias) else {
                    continue;
                };
                let Yaml::Mapping(fields) = mapping else {
                    bad(
                        problems,
                        &path.key("aliases").key(&alias),
                        format!("alias `{alias}` must map rule names to field names"),
                    );
                    continue;
                };
                let alias_path = path.key("aliases").key(&alias);
                let mut pairs = Vec::with_capacity(fields.len());
                for (rule, field) in fields {
                    let Some(rule) = key_string(rule) else {
                        continue;
                    };
                    match string_value(field) {
                        Some(field) => pairs.push((rule.into_owned(), field)),
                        None => problems.push(Problem::at(
                            Code::InvalidType,
                            &alias_path.key(&rule),
                            format!(
                                "alias `{alias}` must map `{rule}` to a field name, not {}",
                                yaml_kind(field)
                            ),
                        )),
                    }
                }
                aliases.push(FieldAlias {
                    alias: alias.into_owned(),
                    fields: pairs,
                });
            }
        }
        Some(other) => bad(
            problems,
            &path.key("aliases"),
            format!("`aliases` must be a map, not {}", yaml_kind(other)),
        ),
    }
    let generate = match (map.get("generate"), doc.get("generate")) {
        (Some(g), _) => (g, path.key("generate")),
        (None, Some(g)) => (g, path_of_document(path).key("generate")),
        (None, None) => (&Yaml::Null, path.clone()),
    };
    let generate = match generate {
        (Yaml::Null, _) => false,
        (Yaml::Bool(b), _) => *b,
        (other, at) => {
            problems.push(Problem::at(
                Code::InvalidType,
                &at,
                format!("`generate` must be true or false, not {}", yaml_kind(other)),
            ));
            false
        }
    };
    Some(Correlation {
        kind: kind?,
        rules,
        group_by,
        timespan: timespan?,
        condition,
        field,
        aliases,
        generate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans() {
        assert_eq!(Timespan::parse("90m").unwrap().seconds(), 5400);
        assert!(Timespan::parse("1x").is_err());
        assert!(Timespan::parse("h").is_err());
    }
}
