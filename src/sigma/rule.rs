//! The rule model: metadata shared by every kind of Sigma document, detection rules, correlation
//! rules and filter rules, and their construction from one YAML document.

use std::borrow::Cow;
use std::fmt;

use serde_yaml::{Mapping, Value as Yaml};

use super::condition::{
    Aggregation, Condition, ConditionExpr, Quantifier, SelectorTarget, parse_condition,
};
use super::detection::{Detection, PatternBudget, SearchIdentifier, key_string, parse_identifiers};
use super::diagnostic::{Code, NodePath, Problem};
use super::value::Number;

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

/// A detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Metadata.
    pub meta: Metadata,
    /// `logsource`.
    pub logsource: LogSource,
    /// `detection`.
    pub detection: Detection,
}

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

/// A reference from a correlation or filter to a rule, by `id` or `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// The id or name as written.
    pub reference: String,
    /// Where it is written.
    pub path: NodePath,
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

/// A parsed Sigma document of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaKind {
    /// A detection rule.
    Rule(Rule),
    /// A correlation rule.
    Correlation(CorrelationRule),
    /// A filter rule.
    Filter(FilterRule),
}

impl SigmaKind {
    /// The metadata.
    pub fn meta(&self) -> &Metadata {
        match self {
            SigmaKind::Rule(r) => &r.meta,
            SigmaKind::Correlation(c) => &c.meta,
            SigmaKind::Filter(f) => &f.meta,
        }
    }

    /// The log source, if the kind has one.
    pub fn logsource(&self) -> Option<&LogSource> {
        match self {
            SigmaKind::Rule(r) => Some(&r.logsource),
            SigmaKind::Filter(f) => Some(&f.logsource),
            SigmaKind::Correlation(_) => None,
        }
    }

    /// The kind's name: `rule`, `correlation` or `filter`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            SigmaKind::Rule(_) => "rule",
            SigmaKind::Correlation(_) => "correlation",
            SigmaKind::Filter(_) => "filter",
        }
    }
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

const TAG_NAMESPACES: [&str; 7] = ["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"];

/// Options of document parsing.
#[derive(Debug, Clone, Copy)]
pub struct DocumentOptions {
    /// Whether missing recommended fields are reported (not for the helper rules of a
    /// correlation file, which only the outermost rule describes).
    pub recommend_fields: bool,
    /// Deepest condition nesting.
    pub max_depth: usize,
}

/// Builds a Sigma document from a YAML mapping. Problems are appended; `None` if the document
/// has errors that make it unusable.
pub fn parse_document(
    doc: &Mapping,
    root: &NodePath,
    options: &DocumentOptions,
    problems: &mut Vec<Problem>,
) -> Option<SigmaKind> {
    parse_document_within(doc, root, options, problems, &mut PatternBudget::default())
}

/// [`parse_document`] drawing the values its modifiers expand to from `budget`, which the
/// documents of one file share.
pub fn parse_document_within(
    doc: &Mapping,
    root: &NodePath,
    options: &DocumentOptions,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Option<SigmaKind> {
    let errors_before = count_errors(problems);
    let meta = parse_metadata(doc, root, options, problems);
    let kind = if let Some(correlation) = doc.get("correlation") {
        let correlation = parse_correlation(correlation, doc, &root.key("correlation"), problems);
        correlation.map(|correlation| SigmaKind::Correlation(CorrelationRule { meta, correlation }))
    } else if is_filter_document(doc) {
        let logsource = required_logsource(doc, root, problems);
        let filter = parse_filter(
            &doc["filter"],
            &root.key("filter"),
            options,
            problems,
            budget,
        );
        match (logsource, filter) {
            (Some(logsource), Some(filter)) => Some(SigmaKind::Filter(FilterRule {
                meta,
                logsource,
                filter,
            })),
            _ => None,
        }
    } else {
        let logsource = required_logsource(doc, root, problems);
        let detection = match doc.get("detection") {
            Some(d) => parse_detection(d, &root.key("detection"), options, problems, budget),
            None => {
                problems.push(Problem::at(
                    Code::MissingField,
                    root,
                    "the required field `detection` is missing",
                ));
                None
            }
        };
        match (logsource, detection) {
            (Some(logsource), Some(detection)) => Some(SigmaKind::Rule(Rule {
                meta,
                logsource,
                detection,
            })),
            _ => None,
        }
    };
    if count_errors(problems) > errors_before {
        return None;
    }
    kind
}

/// Whether a document is a filter rule: a `filter` section and no `detection`.
fn is_filter_document(doc: &Mapping) -> bool {
    !doc.contains_key("correlation") && doc.contains_key("filter") && !doc.contains_key("detection")
}

/// The root of the document that `path` points into.
fn path_of_document(path: &NodePath) -> NodePath {
    NodePath::root(path.document)
}

fn count_errors(problems: &[Problem]) -> usize {
    problems
        .iter()
        .filter(|p| p.severity == super::diagnostic::Severity::Error)
        .count()
}

fn string_value(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Tagged(t) => string_value(&t.value),
        _ => None,
    }
}

/// Reads an optional string field; non-strings are an `invalid-type` error.
fn opt_string(
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
fn string_list(
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

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_metadata(
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

fn check_tags(tags: &[String], path: &NodePath, problems: &mut Vec<Problem>) {
    for (i, tag) in tags.iter().enumerate() {
        let at = path.index(i);
        let Some((namespace, rest)) = tag.split_once('.') else {
            problems.push(Problem::at(
                Code::InvalidTagFormat,
                &at,
                format!("tag `{tag}` has no namespace (expected `namespace.name`)"),
            ));
            continue;
        };
        let valid_chars = |s: &str, dots: bool| {
            !s.is_empty()
                && s.chars().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || c == '_'
                        || c == '-'
                        || (dots && c == '.')
                })
        };
        if !valid_chars(namespace, false) || !valid_chars(rest, true) {
            problems.push(Problem::at(
                Code::InvalidTagFormat,
                &at,
                format!("tag `{tag}` must use lower-case letters, digits, `_`, `-` and `.` only"),
            ));
            continue;
        }
        if let Some(v2) = v1_tag_replacement(namespace, rest) {
            problems.push(Problem::at(
                Code::Deprecated,
                &at,
                format!("tag `{tag}` is the Sigma 1.x form; Sigma 2 writes `{v2}`"),
            ));
            continue;
        }
        if !TAG_NAMESPACES.contains(&namespace) {
            problems.push(Problem::at(
                Code::NonStandardTag,
                &at,
                format!(
                    "tag namespace `{namespace}` is not one of the specification's (attack, car, cve, d3fend, detection, stp, tlp)"
                ),
            ));
        }
    }
}

/// The Sigma 2 spelling of a tag written in the 1.x form, if it is one: version 2.0 of the
/// specification replaced underscores by dashes in the `attack`, `cve` and `detection`
/// namespaces (`attack.defense_evasion`, `detection.threat_hunting`) and the dot of CVE
/// numbers by a dash (`cve.2021.44228`).
fn v1_tag_replacement(namespace: &str, rest: &str) -> Option<String> {
    match namespace {
        "attack" | "detection" if rest.contains('_') => {
            Some(format!("{namespace}.{}", rest.replace('_', "-")))
        }
        "cve" => {
            let (year, number) = rest.split_once('.')?;
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (year.len() == 4 && digits(year) && digits(number))
                .then(|| format!("cve.{year}-{number}"))
        }
        _ => None,
    }
}

fn required_logsource(
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

fn parse_conditions(
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

fn parse_detection(
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

fn parse_rule_refs(
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

fn parse_correlation(
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

fn parse_filter(
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
    fn timespans() {
        assert_eq!(Timespan::parse("90m").unwrap().seconds(), 5400);
        assert!(Timespan::parse("1x").is_err());
        assert!(Timespan::parse("h").is_err());
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("929a690e-bef0-4204-a928-ef5e620d6fcc"));
        assert!(!is_uuid("929a690e-bef0-4204-a928-ef5e620d6fc"));
        assert!(!is_uuid("my-rule"));
    }
}
