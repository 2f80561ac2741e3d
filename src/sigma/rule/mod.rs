//! The rule model: metadata shared by every kind of Sigma document, detection rules, correlation
//! rules and filter rules, and their construction from one YAML document.
//!
//! One submodule per part of a document: `metadata` (top-level keys), `tags`, the
//! `logsource` section, the `detection` section, correlations, filters and the rule references
//! both use, and the value readers they share. This module dispatches a document to them.

mod correlation;
mod detection_section;
mod filter;
mod logsource;
mod metadata;
mod rule_refs;
mod tags;
mod yaml_values;

use serde_yaml::Mapping;

use super::detection::{Detection, PatternBudget};
use super::diagnostic::{Code, NodePath, Problem, Severity};

pub use correlation::{
    Correlation, CorrelationOp, CorrelationRule, CorrelationType, FieldAlias, Timespan,
};
pub use filter::{Filter, FilterRule};
pub use logsource::LogSource;
pub use metadata::{Date, Level, Metadata, Related, RelationType, Status};
pub use rule_refs::RuleRef;
pub use yaml_values::yaml_kind;

use correlation::parse_correlation;
use detection_section::parse_detection;
use filter::parse_filter;
use logsource::required_logsource;
use metadata::parse_metadata;

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
pub(super) fn is_filter_document(doc: &Mapping) -> bool {
    !doc.contains_key("correlation") && doc.contains_key("filter") && !doc.contains_key("detection")
}

fn count_errors(problems: &[Problem]) -> usize {
    problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count()
}
