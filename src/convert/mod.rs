//! Query targets: one small backend per SIEM query language, all rendering the same condition
//! IR (the parsed [`Detection`](crate::sigma::Detection) of a rule).
//!
//! A backend implements [`Backend`]: its name, its page section, which IR features it can
//! express ([`Backend::support`]) and the rendering itself. The shared [`convert`] function
//! refuses a rule that uses a feature the backend cannot express, uniformly, with the construct
//! and its line, before the backend sees it.

use std::fmt;

pub mod batch;
pub mod eql;
pub mod es_qs;
pub mod esql;
pub mod graylog;
pub mod kusto;
pub mod legacy;
pub mod lucene;
pub mod mapping;
pub mod splunk;
pub mod text;
pub mod watcher;

use crate::pipeline::{Chain, ProcessingState};
use crate::sigma::diagnostic::NodePath;
use crate::sigma::{
    Aggregation, ConditionExpr, Document, FieldMatch, RuleFile, RuleSet, SearchBody, SigmaKind,
    Value,
};

/// An IR feature a backend may or may not be able to express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// Keyword (field-less, full-text) search.
    Keywords,
    /// Keyword search with `|all`.
    KeywordsAll,
    /// `|re` values.
    Regex,
    /// `|re` with `i`, `m` or `s` flags.
    RegexFlags,
    /// Several `|re` values in one item.
    RegexList,
    /// `|cidr` values.
    Cidr,
    /// `|exists`.
    Exists,
    /// `|gt`, `|gte`, `|lt`, `|lte`.
    Compare,
    /// `|fieldref`.
    FieldRef,
    /// `|cased`.
    Cased,
    /// `|neq`.
    Neq,
    /// `|expand` placeholders.
    Placeholder,
    /// Query parts a pipeline put in for placeholders (`query_expression_placeholders`).
    QueryExpression,
    /// Time modifiers (`|hour` …).
    TimePart,
    /// YAML booleans as values.
    Bool,
    /// `null` values.
    Null,
    /// `|windash` applied to a list of values.
    WindashList,
    /// Pipe aggregations (`| count() by …`).
    Aggregation,
    /// `| near`.
    Near,
    /// Correlation rules.
    Correlation,
    /// Filter rules.
    Filter,
}

impl Feature {
    /// What the feature is called in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Feature::Keywords => "keyword (field-less) search",
            Feature::KeywordsAll => "keyword search with `|all`",
            Feature::Regex => "regular expressions (`|re`)",
            Feature::RegexFlags => "regular expression flags (`|re|i`, `|m`, `|s`)",
            Feature::RegexList => "several regular expressions in one item",
            Feature::Cidr => "network ranges (`|cidr`)",
            Feature::Exists => "field existence checks (`|exists`)",
            Feature::Compare => "numeric comparisons (`|gt`, `|gte`, `|lt`, `|lte`)",
            Feature::FieldRef => "field references (`|fieldref`)",
            Feature::Cased => "case-sensitive matching (`|cased`)",
            Feature::Neq => "`|neq`",
            Feature::Placeholder => "placeholders (`|expand`)",
            Feature::QueryExpression => {
                "query expressions of a pipeline (`query_expression_placeholders`)"
            }
            Feature::TimePart => "time modifiers (`|hour`, `|day`…)",
            Feature::Bool => "boolean values",
            Feature::Null => "null values",
            Feature::WindashList => "`|windash` on a list of values",
            Feature::Aggregation => "pipe aggregations (`| count() …`)",
            Feature::Near => "`| near`",
            Feature::Correlation => "correlation rules",
            Feature::Filter => "filter rules",
        }
    }
}

/// Whether a backend can express a feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Rendered.
    Yes,
    /// Refused, with the reason (the target language's limitation).
    No(&'static str),
}

/// Why a rule could not be converted for a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// The construct at fault (`|cidr`, `keywords|all`…).
    pub construct: String,
    /// The line of the construct in the rule file (1-based), if known.
    pub line: Option<usize>,
    /// The explanation.
    pub message: String,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.construct, self.message),
            None => write!(f, "{}: {}", self.construct, self.message),
        }
    }
}

impl std::error::Error for ConvertError {}

/// What a backend converts: one document of a parsed file, with the rule set around it (for
/// correlations and filters) and an optional field mapping.
#[derive(Debug, Clone, Copy)]
pub struct ConvertInput<'a> {
    /// The file.
    pub file: &'a RuleFile,
    /// The document to convert.
    pub document: &'a Document,
    /// Every rule, for resolving correlation and filter references.
    pub rules: &'a RuleSet,
    /// What processing pipelines set for the backend (`set_state`: `query_table`, `index`…),
    /// when the document went through pipelines.
    pub state: Option<&'a ProcessingState>,
}

impl<'a> ConvertInput<'a> {
    /// The input of a document that went through no pipeline.
    pub fn plain(file: &'a RuleFile, document: &'a Document, rules: &'a RuleSet) -> Self {
        ConvertInput {
            file,
            document,
            rules,
            state: None,
        }
    }

    /// A value processing pipelines set for the backend (`set_state`).
    pub fn state(&self, key: &str) -> Option<&crate::pipeline::PipelineValue> {
        self.state.and_then(|s| s.get(key))
    }

    /// The line of a node of the document.
    pub fn line_of(&self, path: &NodePath) -> usize {
        self.file.position_of(path).line
    }

    /// An error about the construct at `path`.
    pub fn error(
        &self,
        construct: impl Into<String>,
        path: &NodePath,
        message: impl Into<String>,
    ) -> ConvertError {
        ConvertError {
            construct: construct.into(),
            line: Some(self.line_of(path)),
            message: message.into(),
        }
    }
}

/// A query target.
pub trait Backend: Send + Sync {
    /// The name used on the command line (`es-qs`).
    fn name(&self) -> &'static str;

    /// The title of the target's section on rule pages ("Kibana query").
    fn title(&self) -> &'static str;

    /// Whether the backend can express `feature`.
    fn support(&self, feature: Feature) -> Support;

    /// Renders the document. Called only when every feature it uses is supported. Returns the
    /// exact text the target's reference converter prints for the rule, trailing newline
    /// included.
    fn render(&self, input: &ConvertInput<'_>) -> Result<String, ConvertError>;

    /// Whether `sigwiki convert` leaves out a rule every correlation of which leaves
    /// `generate` false, as pySigma does (only the correlation raises alerts). sigmac 0.23.1,
    /// which the legacy targets reproduce byte for byte, predates correlations and printed every
    /// rule file as it stands; es-qs and graylog cannot convert a correlation at all, so hiding
    /// its rules would leave nothing. Those targets say no. Filters tune the rules they name on
    /// every target, in `convert` as on pages.
    fn honours_correlation_generate(&self) -> bool {
        true
    }

    /// Joins the outputs of the documents of one file as the reference converter prints them
    /// (by default, one after the other).
    fn join_outputs(&self, outputs: Vec<String>) -> String {
        outputs.concat()
    }
}

/// Every backend, in the order pages show them.
pub fn backends() -> &'static [&'static dyn Backend] {
    &[
        &es_qs::EsQs,
        &watcher::XpackWatcher,
        &graylog::Graylog,
        &lucene::Lucene,
        &splunk::Splunk,
        &eql::Eql,
        &esql::Esql,
        &kusto::KUSTO,
    ]
}

/// The backend called `name`.
pub fn backend(name: &str) -> Option<&'static dyn Backend> {
    backends().iter().copied().find(|b| b.name() == name)
}

/// Converts every document of `file`, joined as the backend's reference prints a file. A file
/// with parse errors, or with a document that fails, is an error (the first one).
pub fn convert_file(
    backend: &dyn Backend,
    file: &RuleFile,
    rules: &RuleSet,
) -> Result<String, ConvertError> {
    convert_file_with(backend, file, rules, None)
}

/// What a file converts to as `sigwiki convert` prints it, the way `sigma convert` prints a rule
/// set: a filter document prints nothing (it is applied to the rules it names), nor does a rule
/// every correlation of which leaves `generate` false (only the correlation raises alerts).
pub fn convert_file_output(
    backend: &dyn Backend,
    file: &RuleFile,
    rules: &RuleSet,
    preprocess: Preprocess<'_>,
) -> Result<String, ConvertError> {
    let generate = backend.honours_correlation_generate();
    let printed = |document: &Document| {
        let filter = matches!(document.kind, SigmaKind::Filter(_));
        let taken_by_correlation =
            generate && rules.is_generated_only_by_correlation(file, document);
        !filter && !taken_by_correlation
    };
    if file.documents.iter().all(|d| !printed(d)) && !file.has_errors() {
        return Ok(String::new());
    }
    convert_documents(backend, file, rules, preprocess, printed)
}

/// [`convert_file`] with a field mapping applied to each document first.
pub fn convert_file_with(
    backend: &dyn Backend,
    file: &RuleFile,
    rules: &RuleSet,
    mapping: Option<&mapping::FieldMapping>,
) -> Result<String, ConvertError> {
    let preprocess = mapping.map_or(Preprocess::None, Preprocess::Mapping);
    convert_documents(backend, file, rules, preprocess, |_| true)
}

/// What is applied to each document before a backend renders it.
#[derive(Debug, Clone, Copy, Default)]
pub enum Preprocess<'a> {
    /// Nothing: the rule's own field names.
    #[default]
    None,
    /// A legacy field mapping (`--mapping`).
    Mapping(&'a mapping::FieldMapping),
    /// Processing pipelines (`-p`).
    Pipelines(&'a Chain),
}

/// [`convert_file`] after `preprocess`. A rule a pipeline refuses is an error naming the
/// pipeline and its reason.
pub fn convert_file_preprocessed(
    backend: &dyn Backend,
    file: &RuleFile,
    rules: &RuleSet,
    preprocess: Preprocess<'_>,
) -> Result<String, ConvertError> {
    convert_documents(backend, file, rules, preprocess, |_| true)
}

/// Converts the documents of `file` that `include` selects, each tuned by the filters that
/// apply to it (as a rule collection applies its filters before any pipeline) and
/// then preprocessed (mapped, or run through the pipelines).
fn convert_documents(
    backend: &dyn Backend,
    file: &RuleFile,
    rules: &RuleSet,
    preprocess: Preprocess<'_>,
    include: impl Fn(&Document) -> bool,
) -> Result<String, ConvertError> {
    if let Some(d) = file.diagnostics.iter().find(|d| d.is_error()) {
        return Err(ConvertError {
            construct: format!("{}[{}]", d.severity, d.code),
            line: Some(d.line),
            message: format!("the rule does not parse: {}", d.message),
        });
    }
    let mut outputs = Vec::with_capacity(file.documents.len());
    for document in file.documents.iter().filter(|d| include(d)) {
        let tuned = rules.tuned(file, document);
        let document = tuned.as_ref().unwrap_or(document);
        let output = match preprocess {
            Preprocess::None => convert(backend, &ConvertInput::plain(file, document, rules))?,
            Preprocess::Mapping(mapping) => {
                let mapped = mapping.apply(document);
                convert(backend, &ConvertInput::plain(file, &mapped, rules))?
            }
            Preprocess::Pipelines(chain) => {
                let processed = chain.apply(document).map_err(|refusal| ConvertError {
                    construct: match &refusal.item {
                        Some(id) => format!("pipeline {} ({id})", refusal.pipeline),
                        None => format!("pipeline {}", refusal.pipeline),
                    },
                    line: refusal.path.as_ref().map(|p| file.position_of(p).line),
                    message: refusal.message.clone(),
                })?;
                let input = ConvertInput {
                    file,
                    document: &processed.document,
                    rules,
                    state: Some(&processed.state),
                };
                convert(backend, &input)?
            }
        };
        outputs.push(output);
    }
    Ok(backend.join_outputs(outputs))
}

/// Converts a document with `backend`, refusing unsupported features uniformly.
pub fn convert(backend: &dyn Backend, input: &ConvertInput<'_>) -> Result<String, ConvertError> {
    for (feature, path) in features(input.document) {
        if let Support::No(reason) = backend.support(feature) {
            return Err(input.error(
                feature.describe(),
                &path,
                format!("not supported by {}: {reason}", backend.name()),
            ));
        }
    }
    backend.render(input)
}

/// Every feature a document uses, with where (first use of each).
pub fn features(document: &Document) -> Vec<(Feature, NodePath)> {
    let mut found: Vec<(Feature, NodePath)> = Vec::new();
    let mut add = |f: Feature, path: &NodePath| {
        if !found.iter().any(|(g, _)| *g == f) {
            found.push((f, path.clone()));
        }
    };
    match &document.kind {
        SigmaKind::Rule(rule) => {
            for item in rule.detection.field_matches() {
                item_features(item, &mut add);
            }
            for condition in &rule.detection.conditions {
                match &condition.aggregation {
                    Some(Aggregation::Function { .. }) => {
                        add(Feature::Aggregation, &condition.path)
                    }
                    Some(Aggregation::Near { .. }) => add(Feature::Near, &condition.path),
                    None => {}
                }
            }
        }
        SigmaKind::Correlation(_) => add(
            Feature::Correlation,
            &NodePath::root(document.index).key("correlation"),
        ),
        SigmaKind::Filter(f) => {
            add(
                Feature::Filter,
                &NodePath::root(document.index).key("filter"),
            );
            for identifier in &f.filter.identifiers {
                walk_body(&identifier.body, &mut |item| item_features(item, &mut add));
            }
        }
    }
    found.sort_by_key(|(f, _)| *f);
    found
}

fn walk_body(body: &SearchBody, f: &mut dyn FnMut(&FieldMatch)) {
    match body {
        SearchBody::AllOf(items) => items.iter().for_each(&mut *f),
        SearchBody::Keywords(item) => f(item),
        SearchBody::AnyOf(bodies) | SearchBody::All(bodies) => {
            bodies.iter().for_each(|b| walk_body(b, f))
        }
    }
}

fn item_features(item: &FieldMatch, add: &mut impl FnMut(Feature, &NodePath)) {
    use crate::sigma::Modifier;
    let path = &item.path;
    if item.field.is_none() {
        add(Feature::Keywords, path);
        if item.combine == crate::sigma::Combine::All {
            add(Feature::KeywordsAll, path);
        }
    }
    if item.cased {
        add(Feature::Cased, path);
    }
    if item.negated {
        add(Feature::Neq, path);
    }
    if item.time_part.is_some() {
        add(Feature::TimePart, path);
    }
    if item.modifiers.contains(&Modifier::Windash) && item.values.len() > 1 {
        add(Feature::WindashList, path);
    }
    let mut regexes = 0;
    for value in item.all_values() {
        match value {
            Value::Regex { flags, .. } => {
                regexes += 1;
                add(Feature::Regex, path);
                if !flags.is_empty() {
                    add(Feature::RegexFlags, path);
                }
            }
            Value::Cidr(_) => add(Feature::Cidr, path),
            Value::Exists(_) => add(Feature::Exists, path),
            Value::Compare(..) => add(Feature::Compare, path),
            Value::FieldRef(_) => add(Feature::FieldRef, path),
            Value::Bool(_) => add(Feature::Bool, path),
            Value::Null => add(Feature::Null, path),
            Value::String(s) if s.has_placeholders() => add(Feature::Placeholder, path),
            Value::QueryExpression { .. } => add(Feature::QueryExpression, path),
            _ => {}
        }
    }
    if regexes > 1 {
        add(Feature::RegexList, path);
    }
}

/// Flattening helpers backends opt into.
pub mod simplify {
    use super::ConditionExpr;

    /// Merges nested AND-in-AND and OR-in-OR nodes and drops one-operand groups.
    pub fn flatten(expr: &ConditionExpr) -> ConditionExpr {
        match expr {
            ConditionExpr::And(items) => {
                let mut out = Vec::new();
                for item in items {
                    match flatten(item) {
                        ConditionExpr::And(inner) => out.extend(inner),
                        other => out.push(other),
                    }
                }
                if out.len() == 1 {
                    out.pop().expect("one")
                } else {
                    ConditionExpr::And(out)
                }
            }
            ConditionExpr::Or(items) => {
                let mut out = Vec::new();
                for item in items {
                    match flatten(item) {
                        ConditionExpr::Or(inner) => out.extend(inner),
                        other => out.push(other),
                    }
                }
                if out.len() == 1 {
                    out.pop().expect("one")
                } else {
                    ConditionExpr::Or(out)
                }
            }
            ConditionExpr::Not(inner) => ConditionExpr::Not(Box::new(flatten(inner))),
            other => other.clone(),
        }
    }
}
