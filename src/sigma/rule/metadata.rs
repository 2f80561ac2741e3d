//! The metadata every Sigma document carries (title, id, status, level, dates, related rules,
//! tags, custom keys) and its reading from a document's top-level keys, with the checks the
//! specification makes of each value.

use std::fmt;

use serde_yaml::{Mapping, Value as Yaml};

use super::is_filter_document;
use super::tags::check_tags;
use super::yaml_values::{opt_string, string_list, string_value, yaml_kind};
use crate::sigma::detection::key_string;
use crate::sigma::diagnostic::{Code, NodePath, Problem};
use crate::sigma::rule::DocumentOptions;

/// `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// `stable`
    Stable,
    /// `test`
    Test,
    /// `experimental`
    Experimental,
    /// `deprecated`
    Deprecated,
    /// `unsupported`
    Unsupported,
}

impl Status {
    /// Every status, in the specification's order.
    pub const ALL: [Status; 5] = [
        Status::Stable,
        Status::Test,
        Status::Experimental,
        Status::Deprecated,
        Status::Unsupported,
    ];

    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Status::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// Every level, from least to most severe.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Level::ALL.into_iter().find(|x| x.name() == s)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A calendar date (`date`, `modified`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 1–31.
    pub day: u8,
}

impl Date {
    /// Parses `YYYY-MM-DD` (or the deprecated `YYYY/MM/DD`, reported by the caller). Returns
    /// the date and whether the deprecated separator was used.
    pub fn parse(text: &str) -> Result<(Date, bool), String> {
        let text = text.trim();
        let sep = if text.contains('/') { '/' } else { '-' };
        let parts: Vec<&str> = text.split(sep).collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(format!("`{text}` is not a date in YYYY-MM-DD form"));
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(format!("`{text}` is not a date in YYYY-MM-DD form"));
        }
        let num = |s: &str| {
            s.parse::<u16>()
                .ok()
                .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
        };
        let (Some(year), Some(month), Some(day)) = (num(y), num(m), num(d)) else {
            return Err(format!("`{text}` is not a date in YYYY-MM-DD form"));
        };
        if !(1..=12).contains(&month) {
            return Err(format!("`{text}`: month {month} does not exist"));
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        if day == 0 || day > days[usize::from(month) - 1] {
            return Err(format!(
                "`{text}`: day {day} does not exist in month {month}"
            ));
        }
        Ok((
            Date {
                year,
                month: month as u8,
                day: day as u8,
            },
            sep == '/',
        ))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The type of a `related` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationType {
    /// `derived`
    Derived,
    /// `obsolete` (v1: `obsoletes`)
    Obsolete,
    /// `merged`
    Merged,
    /// `renamed`
    Renamed,
    /// `similar`
    Similar,
}

impl RelationType {
    /// The name as written in rules.
    pub fn name(self) -> &'static str {
        match self {
            RelationType::Derived => "derived",
            RelationType::Obsolete => "obsolete",
            RelationType::Merged => "merged",
            RelationType::Renamed => "renamed",
            RelationType::Similar => "similar",
        }
    }
}

/// A `related` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The related rule's id.
    pub id: String,
    /// How it is related.
    pub kind: RelationType,
}

/// The metadata every Sigma document (rule, correlation, filter) can carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metadata {
    /// `title` (required).
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name`: a unique name correlations can refer to.
    pub name: Option<String>,
    /// `related`.
    pub related: Vec<Related>,
    /// `taxonomy`.
    pub taxonomy: Option<String>,
    /// `status`.
    pub status: Option<Status>,
    /// `description`.
    pub description: Option<String>,
    /// `license`.
    pub license: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `date`.
    pub date: Option<Date>,
    /// `modified`.
    pub modified: Option<Date>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `tags`, as written.
    pub tags: Vec<String>,
    /// `scope`.
    pub scope: Vec<String>,
    /// Keys the specification does not define, in the order written.
    pub custom: Vec<(String, Yaml)>,
}

/// The top-level keys the specification defines (for rules, correlations and filters).
const KNOWN_KEYS: [&str; 22] = [
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "tags",
    "scope",
    "correlation",
    "filter",
    "generate",
];

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub(super) fn parse_metadata(
    doc: &Mapping,
    root: &NodePath,
    options: &DocumentOptions,
    problems: &mut Vec<Problem>,
) -> Metadata {
    let mut meta = Metadata::default();
    match opt_string(doc, "title", root, problems) {
        Some(t) if !t.trim().is_empty() => {
            if t.chars().count() > 256 {
                problems.push(Problem::at(
                    Code::TooLong,
                    &root.key("title"),
                    "`title` is longer than the 256 characters the specification allows",
                ));
            }
            meta.title = t;
        }
        Some(_) => problems.push(Problem::at(
            Code::MissingField,
            &root.key("title"),
            "`title` is empty",
        )),
        None if doc.get("title").is_none() || matches!(doc.get("title"), Some(Yaml::Null)) => {
            problems.push(Problem::at(
                Code::MissingField,
                root,
                "the required field `title` is missing",
            ));
        }
        None => {}
    }
    meta.id = opt_string(doc, "id", root, problems);
    if let Some(id) = &meta.id {
        if !is_uuid(id) {
            problems.push(Problem::at(
                Code::IdNotUuid,
                &root.key("id"),
                format!("`id` `{id}` is not a UUID"),
            ));
        }
    }
    meta.name = opt_string(doc, "name", root, problems);
    meta.taxonomy = opt_string(doc, "taxonomy", root, problems);
    meta.description = opt_string(doc, "description", root, problems);
    if meta
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 65_535)
    {
        problems.push(Problem::at(
            Code::TooLong,
            &root.key("description"),
            "`description` is longer than the 65,535 characters the specification allows",
        ));
    }
    meta.license = opt_string(doc, "license", root, problems);
    meta.author = match doc.get("author") {
        // Some rules list their authors; join them as the specification's comma form.
        Some(Yaml::Sequence(_)) => Some(string_list(doc, "author", root, problems).join(", ")),
        _ => opt_string(doc, "author", root, problems),
    };
    meta.references = string_list(doc, "references", root, problems);
    meta.fields = string_list(doc, "fields", root, problems);
    meta.falsepositives = string_list(doc, "falsepositives", root, problems);
    meta.tags = string_list(doc, "tags", root, problems);
    meta.scope = string_list(doc, "scope", root, problems);
    if let Some(s) = opt_string(doc, "status", root, problems) {
        meta.status = Status::parse(&s);
        if meta.status.is_none() {
            problems.push(Problem::at(
                Code::InvalidStatus,
                &root.key("status"),
                format!(
                    "`{s}` is not a status; use one of stable, test, experimental, deprecated, unsupported"
                ),
            ));
        }
    }
    if let Some(s) = opt_string(doc, "level", root, problems) {
        meta.level = Level::parse(&s);
        if meta.level.is_none() {
            problems.push(Problem::at(
                Code::InvalidLevel,
                &root.key("level"),
                format!(
                    "`{s}` is not a level; use one of informational, low, medium, high, critical"
                ),
            ));
        }
    }
    for key in ["date", "modified"] {
        let Some(text) = opt_string(doc, key, root, problems) else {
            continue;
        };
        match Date::parse(&text) {
            Ok((date, slashes)) => {
                if slashes {
                    problems.push(Problem::at(
                        Code::Deprecated,
                        &root.key(key),
                        format!("`{key}: {text}` uses the Sigma 1.x form; write {date}"),
                    ));
                }
                if key == "date" {
                    meta.date = Some(date);
                } else {
                    meta.modified = Some(date);
                }
            }
            Err(message) => problems.push(Problem::at(Code::InvalidDate, &root.key(key), message)),
        }
    }
    meta.related = parse_related(doc, root, problems);
    check_tags(&meta.tags, &root.key("tags"), problems);
    for (key, value) in doc {
        let Some(key) = key_string(key) else { continue };
        if !KNOWN_KEYS.contains(&key.as_ref()) && key != "action" {
            meta.custom.push((key.into_owned(), value.clone()));
        }
    }
    if options.recommend_fields {
        // The filter specification gives filters no `status` or `level`: they only tune rules.
        let is_filter = is_filter_document(doc);
        let missing: Vec<&str> = [
            ("id", meta.id.is_none()),
            (
                "status",
                !is_filter && meta.status.is_none() && doc.get("status").is_none(),
            ),
            ("description", meta.description.is_none()),
            ("author", meta.author.is_none()),
            ("date", meta.date.is_none() && doc.get("date").is_none()),
            (
                "level",
                !is_filter && meta.level.is_none() && doc.get("level").is_none(),
            ),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        if !missing.is_empty() {
            problems.push(Problem::at(
                Code::MissingRecommendedField,
                root,
                format!(
                    "recommended field{} missing: {}",
                    if missing.len() > 1 { "s" } else { "" },
                    missing.join(", ")
                ),
            ));
        }
    }
    meta
}

fn parse_related(doc: &Mapping, root: &NodePath, problems: &mut Vec<Problem>) -> Vec<Related> {
    let path = root.key("related");
    let items = match doc.get("related") {
        None | Some(Yaml::Null) => return Vec::new(),
        Some(Yaml::Sequence(items)) => items,
        Some(other) => {
            problems.push(Problem::at(
                Code::InvalidType,
                &path,
                format!(
                    "`related` must be a list of {{id, type}} maps, not {}",
                    yaml_kind(other)
                ),
            ));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_path = path.index(i);
        let Yaml::Mapping(map) = item else {
            problems.push(Problem::at(
                Code::InvalidRelated,
                &item_path,
                "a `related` entry must be a map with `id` and `type`",
            ));
            continue;
        };
        let id = map.get("id").and_then(string_value);
        let kind = map.get("type").and_then(string_value);
        let (Some(id), Some(kind_text)) = (id, kind) else {
            problems.push(Problem::at(
                Code::InvalidRelated,
                &item_path,
                "a `related` entry needs both `id` and `type`",
            ));
            continue;
        };
        let kind = match kind_text.as_str() {
            "derived" => RelationType::Derived,
            "obsolete" => RelationType::Obsolete,
            "obsoletes" => {
                problems.push(Problem::at(
                    Code::Deprecated,
                    &item_path.key("type"),
                    "related type `obsoletes` is the Sigma 1.x name; write `obsolete`",
                ));
                RelationType::Obsolete
            }
            "merged" => RelationType::Merged,
            "renamed" => RelationType::Renamed,
            "similar" => RelationType::Similar,
            other => {
                problems.push(Problem::at(
                    Code::InvalidRelated,
                    &item_path.key("type"),
                    format!("`{other}` is not a related type; use derived, obsolete, merged, renamed or similar"),
                ));
                continue;
            }
        };
        if !is_uuid(&id) {
            problems.push(Problem::at(
                Code::IdNotUuid,
                &item_path.key("id"),
                format!("related id `{id}` is not a UUID"),
            ));
        }
        out.push(Related { id, kind });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            Date::parse("2023-06-16").unwrap().0.to_string(),
            "2023-06-16"
        );
        assert!(Date::parse("2017/11/04").unwrap().1);
        assert!(Date::parse("2023-02-29").is_err());
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2023-13-01").is_err());
        assert!(Date::parse("23-01-01").is_err());
        assert!(Date::parse("yesterday").is_err());
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("929a690e-bef0-4204-a928-ef5e620d6fcc"));
        assert!(!is_uuid("929a690e-bef0-4204-a928-ef5e620d6fc"));
        assert!(!is_uuid("my-rule"));
    }
}
