//! Field mappings: rename a rule's fields to the names a log pipeline stores them under
//! (winlogbeat's `winlog.event_data.Image`, ECS's `process.executable`…) and add the conditions
//! that select a rule's log source (`winlog.channel: Microsoft-Windows-Sysmon/Operational`).
//!
//! A mapping is applied to a rule's IR before any backend renders it, so it works the same for
//! every target (`sigwiki convert -t T --mapping winlogbeat`).
//!
//! # Format
//!
//! A YAML file:
//!
//! ```yaml
//! name: winlogbeat                 # optional: shown in messages
//! description: …                   # optional
//! fields:                          # renames for every rule
//!   EventID: winlog.event_id
//! logsources:                      # per log source, in order
//!   - match: {product: windows}    # category / product / service; all given must match
//!     prefix: winlog.event_data.   # fields no rename applies to get this prefix
//!     fields:                      # renames for these rules only (win over `fields` above)
//!       Provider_Name: winlog.provider_name
//!   - match: {product: windows, service: sysmon}
//!     conditions:                  # added to the rule's condition (AND)
//!       winlog.channel: Microsoft-Windows-Sysmon/Operational
//!       winlog.event_id: [1, 3]    # a list: any of the values
//! ```
//!
//! A field is renamed by the last matching log-source entry that names it, else by the global
//! `fields`, else it gets the `prefix` of the last matching entry that has one, else it stays.
//! The conditions of every matching entry are added, in file order; their field names are used
//! as written. Log-source values match case-insensitively. Unknown keys are errors, and every
//! error names the mapping file, line and column.
//!
//! Correlation rules get the global renames for their `group-by` and value field; the rules
//! they name are rendered by the target as they are.
//!
//! Two mappings ship with sigwiki and are selected by name: `winlogbeat` and `ecs-windows`
//! (see `data/mappings/README.md`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;

use crate::sigma::diagnostic::{NodePath, Position, Where};
use crate::sigma::value::Number;
use crate::sigma::yaml::{Limits, Locator, load_documents};
use crate::sigma::{
    Aggregation, Combine, Condition, ConditionExpr, Document, FieldMatch, LogSource, RawValue,
    SearchBody, SearchIdentifier, SigmaKind, SigmaString, Value, ValueGroup,
};

/// The built-in mappings: name and YAML text.
const BUILTIN: &[(&str, &str)] = &[
    (
        "winlogbeat",
        include_str!("../../data/mappings/winlogbeat.yml"),
    ),
    (
        "ecs-windows",
        include_str!("../../data/mappings/ecs-windows.yml"),
    ),
];

/// The name of the search identifier that carries a mapping's log-source conditions.
pub const CONDITIONS_IDENTIFIER: &str = "_mapping_logsource";

/// A mapping file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// The mapping file (or `<built-in NAME>`).
    pub file: PathBuf,
    /// Where in it (`None` when the file itself cannot be used).
    pub position: Option<Position>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                p.line,
                p.column,
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl std::error::Error for MappingError {}

/// A condition value of a log source.
#[derive(Debug, Clone, PartialEq)]
enum ConditionValue {
    Text(String),
    Number(Number),
}

/// One `logsources` entry.
#[derive(Debug, Clone, PartialEq, Default)]
struct LogSourceEntry {
    category: Option<String>,
    product: Option<String>,
    service: Option<String>,
    fields: HashMap<String, String>,
    prefix: Option<String>,
    conditions: Vec<(String, Vec<ConditionValue>)>,
}

impl LogSourceEntry {
    fn matches(&self, logsource: &LogSource) -> bool {
        let same = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        same(&self.category, &logsource.category)
            && same(&self.product, &logsource.product)
            && same(&self.service, &logsource.service)
    }
}

/// A field mapping (see the module documentation for the file format).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldMapping {
    /// The mapping's name (its `name`, else the file stem).
    pub name: String,
    /// Its description, if given.
    pub description: Option<String>,
    fields: HashMap<String, String>,
    logsources: Vec<LogSourceEntry>,
}

impl FieldMapping {
    /// The names of the built-in mappings.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// The built-in mapping called `name`.
    pub fn builtin(name: &str) -> Option<Result<FieldMapping, MappingError>> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| FieldMapping::parse(text, Path::new(&format!("<built-in {n}>"))))
    }

    /// A mapping file, or a built-in mapping when `spec` is a built-in name and no such file
    /// exists.
    pub fn load(spec: &Path) -> Result<FieldMapping, MappingError> {
        if !spec.exists() {
            if let Some(found) = spec.to_str().and_then(FieldMapping::builtin) {
                return found;
            }
            return Err(MappingError {
                file: spec.to_path_buf(),
                position: None,
                message: format!(
                    "no such mapping file, and no built-in mapping of that name (built-in: {})",
                    FieldMapping::builtin_names().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(spec).map_err(|e| MappingError {
            file: spec.to_path_buf(),
            position: None,
            message: format!("cannot read the mapping: {e}"),
        })?;
        FieldMapping::parse(&text, spec)
    }

    /// Parses mapping text; `file` names it in errors.
    pub fn parse(text: &str, file: &Path) -> Result<FieldMapping, MappingError> {
        let locator = std::cell::OnceCell::new();
        let fail = |path: &NodePath, message: String| MappingError {
            file: file.to_path_buf(),
            position: Some(locator.get_or_init(|| Locator::new(text)).locate(path)),
            message,
        };
        let documents = load_documents(text, &Limits::default()).map_err(|problem| {
            let position = match &problem.at {
                Where::Position(p) => *p,
                Where::Node(path) => locator.get_or_init(|| Locator::new(text)).locate(path),
            };
            MappingError {
                file: file.to_path_buf(),
                position: Some(position),
                message: problem.message,
            }
        })?;
        let root = NodePath::root(0);
        let [document] = documents.as_slice() else {
            return Err(fail(
                &root,
                "a mapping file holds exactly one YAML document".into(),
            ));
        };
        let Yaml::Mapping(top) = document else {
            return Err(fail(&root, "a mapping file is a YAML map".into()));
        };
        let mut mapping = FieldMapping {
            name: file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..FieldMapping::default()
        };
        for (key, value) in top {
            let key = scalar_text(key).unwrap_or_default();
            let path = root.key(&key);
            match key.as_str() {
                "name" => mapping.name = text_value(value, &path, &fail)?,
                "description" => mapping.description = Some(text_value(value, &path, &fail)?),
                "fields" => mapping.fields = renames(value, &path, &fail)?,
                "logsources" => {
                    let Yaml::Sequence(entries) = value else {
                        return Err(fail(&path, "`logsources` is a list of entries".into()));
                    };
                    for (i, entry) in entries.iter().enumerate() {
                        mapping
                            .logsources
                            .push(logsource_entry(entry, &path.index(i), &fail)?);
                    }
                }
                other => {
                    return Err(fail(
                        &root.key_name(other),
                        format!(
                            "unknown key `{other}` (expected name, description, fields, logsources)"
                        ),
                    ));
                }
            }
        }
        Ok(mapping)
    }

    /// The name `field` has in a rule of `logsource`.
    pub fn field_name<'a>(&'a self, field: &'a str, logsource: &LogSource) -> Cow<'a, str> {
        let mut matching = self
            .logsources
            .iter()
            .rev()
            .filter(|e| e.matches(logsource));
        if let Some(name) = matching.clone().find_map(|e| e.fields.get(field)) {
            return Cow::Borrowed(name);
        }
        if let Some(name) = self.fields.get(field) {
            return Cow::Borrowed(name);
        }
        match matching.find_map(|e| e.prefix.as_deref()) {
            Some(prefix) => Cow::Owned(format!("{prefix}{field}")),
            None => Cow::Borrowed(field),
        }
    }

    fn renamed(&self, field: &str, logsource: &LogSource) -> String {
        self.field_name(field, logsource).into_owned()
    }

    /// `document` with the mapping applied: fields renamed and the log-source conditions added
    /// to every condition (correlations get their `group-by` and field renamed by the global
    /// renames; filters are left alone).
    pub fn apply<'d>(&self, document: &'d Document) -> Cow<'d, Document> {
        match &document.kind {
            SigmaKind::Rule(rule) => {
                let mut rule = rule.clone();
                let logsource = rule.logsource.clone();
                for identifier in &mut rule.detection.identifiers {
                    self.rename_body(&mut identifier.body, &logsource);
                }
                for condition in &mut rule.detection.conditions {
                    if let Some(Aggregation::Function {
                        field, group_by, ..
                    }) = &mut condition.aggregation
                    {
                        for f in [field, group_by].into_iter().flatten() {
                            *f = self.renamed(f, &logsource);
                        }
                    }
                }
                let conditions: Vec<&(String, Vec<ConditionValue>)> = self
                    .logsources
                    .iter()
                    .filter(|e| e.matches(&logsource))
                    .flat_map(|e| e.conditions.iter())
                    .collect();
                if !conditions.is_empty() {
                    let path = NodePath::root(document.index).key("logsource");
                    let items = conditions
                        .into_iter()
                        .map(|(field, values)| condition_item(field, values, &path))
                        .collect();
                    rule.detection.identifiers.push(SearchIdentifier {
                        name: CONDITIONS_IDENTIFIER.to_string(),
                        body: SearchBody::AllOf(items),
                        path: path.clone(),
                    });
                    for condition in &mut rule.detection.conditions {
                        with_logsource_condition(condition);
                    }
                }
                Cow::Owned(Document {
                    index: document.index,
                    global: document.global,
                    kind: SigmaKind::Rule(rule),
                })
            }
            SigmaKind::Correlation(correlation) => {
                let mut correlation = correlation.clone();
                let none = LogSource::default();
                for f in &mut correlation.correlation.group_by {
                    *f = self.renamed(f, &none);
                }
                if let Some(f) = &mut correlation.correlation.field {
                    *f = self.renamed(f, &none);
                }
                Cow::Owned(Document {
                    index: document.index,
                    global: document.global,
                    kind: SigmaKind::Correlation(correlation),
                })
            }
            SigmaKind::Filter(_) => Cow::Borrowed(document),
        }
    }

    fn rename_body(&self, body: &mut SearchBody, logsource: &LogSource) {
        match body {
            SearchBody::AllOf(items) => {
                for item in items {
                    self.rename_item(item, logsource);
                }
            }
            SearchBody::Keywords(item) => self.rename_item(item, logsource),
            SearchBody::AnyOf(bodies) | SearchBody::All(bodies) => {
                for b in bodies {
                    self.rename_body(b, logsource);
                }
            }
        }
    }

    fn rename_item(&self, item: &mut FieldMatch, logsource: &LogSource) {
        if let Some(field) = &item.field {
            item.field = Some(self.renamed(field, logsource));
        }
        for value in item.values.iter_mut().flat_map(|g| g.variants.iter_mut()) {
            if let Value::FieldRef(other) = value {
                *other = self.renamed(other, logsource);
            }
        }
    }
}

/// `logsource_conditions and (…)`: the log-source identifier AND-ed with the condition, the
/// way sigmac put its configuration's conditions in front of the rule's.
fn with_logsource_condition(condition: &mut Condition) {
    let expr = std::mem::replace(&mut condition.expr, ConditionExpr::And(Vec::new()));
    condition.expr = ConditionExpr::And(vec![
        ConditionExpr::Identifier(CONDITIONS_IDENTIFIER.to_string()),
        expr,
    ]);
}

/// The detection item `field: value` (or a list of values) of a log-source condition.
fn condition_item(field: &str, values: &[ConditionValue], path: &NodePath) -> FieldMatch {
    let groups = values
        .iter()
        .map(|v| match v {
            ConditionValue::Text(t) => ValueGroup {
                original: RawValue::String(sigma_escaped(t)),
                variants: vec![Value::String(SigmaString::literal(t))],
                expanded: false,
            },
            ConditionValue::Number(n) => ValueGroup {
                original: RawValue::Number(n.clone()),
                variants: vec![Value::Number(n.clone())],
                expanded: false,
            },
        })
        .collect();
    FieldMatch {
        field: Some(field.to_string()),
        modifiers: Vec::new(),
        values: groups,
        combine: Combine::Any,
        is_list: values.len() > 1,
        cased: false,
        negated: false,
        time_part: None,
        path: path.clone(),
    }
}

/// `text` written as a Sigma string that means exactly `text` (wildcards and backslashes
/// escaped).
fn sigma_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

type Fail<'f> = dyn Fn(&NodePath, String) -> MappingError + 'f;

fn text_value(value: &Yaml, path: &NodePath, fail: &Fail<'_>) -> Result<String, MappingError> {
    match value {
        Yaml::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(fail(path, "expected a non-empty text".into())),
    }
}

fn renames(
    value: &Yaml,
    path: &NodePath,
    fail: &Fail<'_>,
) -> Result<HashMap<String, String>, MappingError> {
    let Yaml::Mapping(map) = value else {
        return Err(fail(
            path,
            "`fields` is a map of rule field name to target field name".into(),
        ));
    };
    let mut out = HashMap::with_capacity(map.len());
    for (key, target) in map {
        let Some(source) = scalar_text(key) else {
            return Err(fail(path, "field names are texts".into()));
        };
        let at = path.key(&source);
        let target = match target {
            Yaml::String(t) if !t.trim().is_empty() && !t.contains(char::is_whitespace) => {
                t.clone()
            }
            Yaml::Sequence(_) => {
                return Err(fail(
                    &at,
                    format!("`{source}` maps to a list; a field maps to one target field"),
                ));
            }
            _ => {
                return Err(fail(
                    &at,
                    format!("`{source}` must map to a field name (text without spaces)"),
                ));
            }
        };
        out.insert(source, target);
    }
    Ok(out)
}

fn logsource_entry(
    value: &Yaml,
    path: &NodePath,
    fail: &Fail<'_>,
) -> Result<LogSourceEntry, MappingError> {
    let Yaml::Mapping(map) = value else {
        return Err(fail(
            path,
            "a log-source entry is a map with `match` and `fields`, `prefix` or `conditions`"
                .into(),
        ));
    };
    let mut entry = LogSourceEntry::default();
    let mut has_match = false;
    for (key, value) in map {
        let key = scalar_text(key).unwrap_or_default();
        let at = path.key(&key);
        match key.as_str() {
            "match" => {
                has_match = true;
                let Yaml::Mapping(m) = value else {
                    return Err(fail(
                        &at,
                        "`match` is a map of category, product and/or service".into(),
                    ));
                };
                if m.is_empty() {
                    return Err(fail(
                        &at,
                        "`match` needs at least one of category, product, service".into(),
                    ));
                }
                for (k, v) in m {
                    let k = scalar_text(k).unwrap_or_default();
                    let v = text_value(v, &at.key(&k), fail)?;
                    match k.as_str() {
                        "category" => entry.category = Some(v),
                        "product" => entry.product = Some(v),
                        "service" => entry.service = Some(v),
                        other => {
                            return Err(fail(
                                &at.key_name(other),
                                format!(
                                    "unknown log-source key `{other}` (expected category, product, service)"
                                ),
                            ));
                        }
                    }
                }
            }
            "fields" => entry.fields = renames(value, &at, fail)?,
            "prefix" => entry.prefix = Some(text_value(value, &at, fail)?),
            "conditions" => {
                let Yaml::Mapping(m) = value else {
                    return Err(fail(&at, "`conditions` is a map of field to value".into()));
                };
                for (k, v) in m {
                    let Some(field) = scalar_text(k) else {
                        return Err(fail(&at, "condition fields are texts".into()));
                    };
                    let vat = at.key(&field);
                    let one = |v: &Yaml, p: &NodePath| match v {
                        Yaml::String(s) => Ok(ConditionValue::Text(s.clone())),
                        Yaml::Number(n) => Ok(ConditionValue::Number(Number::from_yaml(n))),
                        _ => Err(fail(
                            p,
                            format!("the value of `{field}` must be a text or a number"),
                        )),
                    };
                    let values = match v {
                        Yaml::Sequence(list) if !list.is_empty() => list
                            .iter()
                            .enumerate()
                            .map(|(i, x)| one(x, &vat.index(i)))
                            .collect::<Result<Vec<_>, _>>()?,
                        Yaml::Sequence(_) => {
                            return Err(fail(&vat, format!("`{field}` has an empty list")));
                        }
                        other => vec![one(other, &vat)?],
                    };
                    entry.conditions.push((field, values));
                }
            }
            other => {
                return Err(fail(
                    &path.key_name(other),
                    format!(
                        "unknown key `{other}` in a log-source entry (expected match, fields, prefix, conditions)"
                    ),
                ));
            }
        }
    }
    if !has_match {
        return Err(fail(path, "a log-source entry needs `match`".into()));
    }
    Ok(entry)
}

impl fmt::Display for FieldMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FieldMapping, MappingError> {
        FieldMapping::parse(text, Path::new("m.yml"))
    }

    fn logsource(product: &str, service: Option<&str>) -> LogSource {
        LogSource {
            product: Some(product.into()),
            service: service.map(String::from),
            ..LogSource::default()
        }
    }

    #[test]
    fn renames_follow_precedence() {
        let m = parse(
            "fields:\n  EventID: event.code\n  Image: global.image\nlogsources:\n  - match: {product: windows}\n    prefix: winlog.event_data.\n    fields:\n      Image: process.executable\n",
        )
        .unwrap();
        let win = logsource("windows", None);
        let lnx = logsource("linux", None);
        assert_eq!(m.renamed("Image", &win), "process.executable");
        assert_eq!(m.renamed("Image", &lnx), "global.image");
        assert_eq!(m.renamed("EventID", &win), "event.code");
        assert_eq!(m.renamed("Other", &win), "winlog.event_data.Other");
        assert_eq!(m.renamed("Other", &lnx), "Other");
    }

    #[test]
    fn logsource_match_is_case_insensitive_and_needs_every_key() {
        let e = LogSourceEntry {
            product: Some("Windows".into()),
            service: Some("sysmon".into()),
            ..LogSourceEntry::default()
        };
        assert!(e.matches(&logsource("windows", Some("SYSMON"))));
        assert!(!e.matches(&logsource("windows", None)));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse("fields:\n  EventID: [a, b]\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.line), Some(2));
        assert!(e.to_string().starts_with("m.yml:2:"), "{e}");
        let e = parse("name: x\nfeilds: {}\n").unwrap_err();
        assert_eq!(e.position.map(|p| p.line), Some(2));
        assert!(e.message.contains("unknown key `feilds`"));
        let e = parse("logsources:\n  - fields: {A: b}\n").unwrap_err();
        assert!(e.message.contains("needs `match`"));
        let e = parse("logsources:\n  - match: {product: windows, os: x}\n").unwrap_err();
        assert!(e.message.contains("unknown log-source key `os`"), "{e}");
        let e = parse("fields: [\n").unwrap_err();
        assert!(e.position.is_some());
        let e = parse("- a\n").unwrap_err();
        assert!(e.message.contains("YAML map"));
    }

    #[test]
    fn builtins_parse() {
        for name in FieldMapping::builtin_names() {
            let m = FieldMapping::builtin(name).unwrap().unwrap();
            assert_eq!(m.name, name);
        }
        assert!(FieldMapping::builtin("nope").is_none());
    }
}
