//! Rule files and rule sets: reading a file (limits, encoding, multi-document `action`s), turning
//! problems into positioned diagnostics, and resolving the references of correlation and filter
//! rules across the whole set.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml::{Mapping, Value as Yaml};

use super::detection::PatternBudget;
use super::diagnostic::{Code, Diagnostic, NodePath, Position, Problem, Severity, Where};
use super::rule::{DocumentOptions, LogSource, SigmaKind, parse_document_within, yaml_kind};
use super::yaml::{Limits, Locator, load_documents};

/// Options of rule parsing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    /// Resource limits.
    pub limits: Limits,
}

/// One Sigma document of a file that parsed without errors.
#[derive(Debug, Clone)]
pub struct Document {
    /// The index of the YAML document in the file.
    pub index: usize,
    /// What the document is.
    pub kind: SigmaKind,
    /// The index of the `action: global` document whose keys this document inherits, if any.
    /// Documents sharing a global document are variants of one Sigma 1.x rule and share its
    /// `id`.
    pub global: Option<usize>,
}

/// A parsed rule file.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// The file's path as found or given.
    pub path: PathBuf,
    /// The path relative to the folder it was found under (the file name for a file given
    /// directly); used for permalinks.
    pub relative: PathBuf,
    /// The file's text.
    pub source: Arc<str>,
    /// The documents that parsed without errors, in file order.
    pub documents: Vec<Document>,
    /// Errors and warnings, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// The file is YAML but no document of it has `detection`, `correlation` or `filter`: a
    /// workflow, a configuration, a SigmaHQ regression `info.yml`. A walk leaves such files
    /// out instead of reporting them (see [`RuleFile::is_skippable`]).
    pub not_a_sigma_document: bool,
}

impl RuleFile {
    /// Whether a walk should leave this file out rather than report it: it is YAML that is not
    /// a Sigma document. A file named on the command line is never skipped; the caller knows.
    pub fn is_skippable(&self) -> bool {
        self.not_a_sigma_document
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The line and column of `path` in this file.
    pub fn position_of(&self, path: &NodePath) -> Position {
        super::yaml::locate(&self.source, path)
    }
}

/// Opens `path` to read it. On Unix without blocking: opening a FIFO named like a rule would
/// otherwise wait for a writer forever, before the size check could turn it away.
fn open_for_reading(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Reads an open file whose metadata said `size` bytes: the file as it was when opened, in one
/// `read` for a file of that size (no second call to learn that the end was reached: at a
/// few thousand files that call was a visible share of the time). A file reporting no size
/// (the kernel's virtual files do) is read to its end, at most one byte past `limit`.
fn read_opened(file: &mut std::fs::File, size: u64, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    if size == 0 {
        file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
        return Ok(bytes);
    }
    let size = usize::try_from(size).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::OutOfMemory,
            "the file is larger than this machine can address",
        )
    })?;
    bytes.resize(size, 0);
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

/// Reads and parses the rule file at `path`. Never fails: I/O and encoding problems become
/// diagnostics of the returned file.
pub fn parse_file(path: &Path, relative: &Path, options: &ParseOptions) -> RuleFile {
    let fail = |code: Code, message: String| RuleFile {
        path: path.to_path_buf(),
        relative: relative.to_path_buf(),
        source: Arc::from(""),
        documents: Vec::new(),
        diagnostics: vec![Diagnostic::for_file(path, code, message)],
        not_a_sigma_document: false,
    };
    // One open, then the size from the open file: a path lookup per call was a visible share of
    // a corpus conversion, and reading into a buffer of the right size takes one `read`.
    let mut file = match open_for_reading(path) {
        Ok(file) => file,
        Err(e) => return fail(Code::Io, format!("cannot read file: {e}")),
    };
    let size = match file.metadata() {
        Ok(meta) if meta.len() > options.limits.max_file_size => {
            return fail(
                Code::FileTooLarge,
                format!(
                    "file is {} bytes, larger than the limit of {} bytes",
                    meta.len(),
                    options.limits.max_file_size
                ),
            );
        }
        Ok(meta) if !meta.is_file() => {
            return fail(Code::Io, "not a regular file".to_string());
        }
        Ok(meta) => meta.len(),
        Err(e) => return fail(Code::Io, format!("cannot read file: {e}")),
    };
    let bytes = match read_opened(&mut file, size, options.limits.max_file_size) {
        Ok(bytes) => bytes,
        Err(e) => return fail(Code::Io, format!("cannot read file: {e}")),
    };
    let limit = options.limits.max_file_size;
    if bytes.len() as u64 > limit {
        return fail(
            Code::FileTooLarge,
            format!("file is larger than the limit of {limit} bytes"),
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => parse_source(path, relative, text, options),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let mut file = fail(
                Code::InvalidUtf8,
                format!(
                    "the file is not valid UTF-8 (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            );
            file.diagnostics[0].line = line;
            file.diagnostics[0].column = column;
            file
        }
    }
}

/// Parses rule text.
pub fn parse_source(
    path: &Path,
    relative: &Path,
    text: String,
    options: &ParseOptions,
) -> RuleFile {
    // A byte order mark is an encoding signature, not text: YAML parsers and editors on
    // Windows write it, and kept it would start the title and the page's copy of the rule.
    let source: Arc<str> = match text.strip_prefix('\u{feff}') {
        Some(rest) => Arc::from(rest),
        None => Arc::from(text),
    };
    let mut not_a_sigma_document = false;
    let mut problems = Vec::new();
    let mut documents = Vec::new();
    // Where a document's inherited keys come from (its `action: global` document).
    let mut fallbacks: HashMap<usize, usize> = HashMap::new();
    if source.len() as u64 > options.limits.max_file_size {
        problems.push(Problem::at_position(
            Code::FileTooLarge,
            Position::START,
            format!(
                "file is {} bytes, larger than the limit of {} bytes",
                source.len(),
                options.limits.max_file_size
            ),
        ));
    } else {
        match load_documents(&source, &options.limits) {
            Err(problem) => {
                // YAML refused only for a repeated key is well-formed, so its text tells what
                // it is: with none of the Sigma keys at the start of a line it is some other
                // YAML file (SigmaHQ's `tests/sigma_cli_conf.yml`), not a broken rule. Any
                // other load error (syntax, nesting, alias bombs) stays an error.
                not_a_sigma_document =
                    problem.code == Code::DuplicateKey && !has_sigma_key_line(&source);
                problems.push(problem);
            }
            Ok(yaml) => {
                not_a_sigma_document = is_other_yaml(&yaml);
                documents = build_documents(&yaml, options, &mut problems, &mut fallbacks);
            }
        }
    }
    let diagnostics = resolve_problems(path, &source, problems, &fallbacks);
    RuleFile {
        path: path.to_path_buf(),
        relative: relative.to_path_buf(),
        source,
        documents,
        diagnostics,
        not_a_sigma_document,
    }
}

/// The keys that make a YAML map a Sigma document (or a rule that lost its `detection`).
const SIGMA_KEYS: [&str; 4] = ["detection", "correlation", "filter", "logsource"];

/// Whether a line of `text` starts with one of the Sigma keys (plain or quoted), as a
/// top-level key of a block-style document does.
fn has_sigma_key_line(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches(['"', '\'']);
        SIGMA_KEYS.iter().any(|key| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start_matches(['"', '\'']).starts_with(':'))
        })
    })
}

/// Whether parsed YAML is some other kind of document: at least one non-empty document, each a
/// map without any of the keys that make a Sigma rule, correlation or filter (nor a
/// `logsource`: a rule that lost its `detection` is still reported as a rule). A scalar or a
/// list at the top is not taken for another kind of file: it is more likely a broken rule, and
/// is reported as one.
fn is_other_yaml(yaml: &[Yaml]) -> bool {
    let mut documents = yaml.iter().filter(|d| !matches!(d, Yaml::Null)).peekable();
    documents.peek().is_some()
        && documents.all(|d| match d {
            Yaml::Mapping(map) => !SIGMA_KEYS.iter().any(|key| map.contains_key(*key)),
            _ => false,
        })
}

fn build_documents(
    yaml: &[Yaml],
    options: &ParseOptions,
    problems: &mut Vec<Problem>,
    fallbacks: &mut HashMap<usize, usize>,
) -> Vec<Document> {
    let non_empty: Vec<(usize, &Yaml)> = yaml
        .iter()
        .enumerate()
        .filter(|(_, d)| !matches!(d, Yaml::Null))
        .collect();
    if non_empty.is_empty() {
        problems.push(Problem::at_position(
            Code::EmptyFile,
            Position::START,
            "the file contains no Sigma rule",
        ));
        return Vec::new();
    }
    let single = non_empty.len() == 1;
    let mut global: Option<(usize, Mapping)> = None;
    // Borrowed unless an action merged it: most files are one plain document, and cloning it
    // would copy every value of the rule.
    let mut previous: Option<Cow<'_, Mapping>> = None;
    let mut out = Vec::new();
    let mut budget = PatternBudget::default();
    for (index, doc) in non_empty {
        let root = NodePath::root(index);
        let Yaml::Mapping(map) = doc else {
            problems.push(Problem::at(
                Code::InvalidType,
                &root,
                format!(
                    "a Sigma document must be a map of fields, not {}",
                    yaml_kind(doc)
                ),
            ));
            continue;
        };
        let effective = match map.get("action") {
            Some(action) => {
                let action_path = root.key("action");
                let mut rest = map.clone();
                rest.remove("action");
                match action.as_str() {
                    Some("global") => {
                        problems.push(Problem::at(
                            Code::Deprecated,
                            &action_path,
                            "`action: global` multi-document rules are Sigma 1.x syntax",
                        ));
                        global = Some((index, rest));
                        continue;
                    }
                    Some("reset") => {
                        global = None;
                        continue;
                    }
                    Some("repeat") => match &previous {
                        Some(prev) => Cow::Owned(merge(prev.as_ref().clone(), &rest)),
                        None => {
                            problems.push(Problem::at(
                                Code::InvalidAction,
                                &action_path,
                                "`action: repeat` needs a previous document to repeat",
                            ));
                            continue;
                        }
                    },
                    _ => {
                        problems.push(Problem::at(
                            Code::InvalidAction,
                            &action_path,
                            format!(
                                "unknown action `{}`; use global, reset or repeat",
                                action.as_str().unwrap_or("?")
                            ),
                        ));
                        continue;
                    }
                }
            }
            None => match &global {
                Some((global_index, g)) => {
                    fallbacks.insert(index, *global_index);
                    Cow::Owned(merge(g.clone(), map))
                }
                None => Cow::Borrowed(map),
            },
        };
        let document_options = DocumentOptions {
            recommend_fields: single || (out.is_empty() && effective.contains_key("correlation")),
            max_depth: options.limits.max_depth,
        };
        if let Some(kind) =
            parse_document_within(&effective, &root, &document_options, problems, &mut budget)
        {
            out.push(Document {
                index,
                kind,
                global: fallbacks.get(&index).copied(),
            });
        }
        previous = Some(effective);
    }
    let has_errors = problems.iter().any(|p| p.severity == Severity::Error);
    if out.is_empty() && !has_errors {
        // Only `action` documents: nothing for them to apply to.
        problems.push(Problem::at_position(
            Code::EmptyFile,
            Position::START,
            "the file contains no Sigma rule, only `action` documents",
        ));
    }
    out
}

/// Deep-merges `overlay` into `base`: maps merge key by key, anything else is replaced.
fn merge(mut base: Mapping, overlay: &Mapping) -> Mapping {
    for (key, value) in overlay {
        match (base.get_mut(key), value) {
            (Some(Yaml::Mapping(b)), Yaml::Mapping(o)) => {
                let merged = merge(std::mem::take(b), o);
                *b = merged;
            }
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
    base
}

/// Turns problems into diagnostics with positions, building the locator only if needed.
fn resolve_problems(
    path: &Path,
    source: &str,
    problems: Vec<Problem>,
    fallbacks: &HashMap<usize, usize>,
) -> Vec<Diagnostic> {
    if problems.is_empty() {
        return Vec::new();
    }
    let needs_locator = problems.iter().any(|p| matches!(p.at, Where::Node(_)));
    let locator = needs_locator.then(|| Locator::new(source));
    let mut diagnostics: Vec<Diagnostic> = problems
        .into_iter()
        .map(|problem| {
            let position = match (&problem.at, &locator) {
                (Where::Position(p), _) => *p,
                (Where::Node(node), Some(locator)) => {
                    locate_with_fallback(locator, node, fallbacks)
                }
                (Where::Node(_), None) => Position::START,
            };
            Diagnostic {
                file: path.to_path_buf(),
                line: position.line,
                column: position.column,
                severity: problem.severity,
                code: problem.code,
                message: problem.message,
            }
        })
        .collect();
    diagnostics.sort();
    diagnostics.dedup();
    diagnostics
}

fn locate_with_fallback(
    locator: &Locator,
    node: &NodePath,
    fallbacks: &HashMap<usize, usize>,
) -> Position {
    let primary = locator.locate(node);
    if let Some(global) = fallbacks.get(&node.document) {
        if !node.is_root() && primary == locator.locate(&NodePath::root(node.document)) {
            let mut in_global = node.clone();
            in_global.document = *global;
            return locator.locate(&in_global);
        }
    }
    primary
}

/// A correlation and the rules it refers to: (where the reference is written, the reference,
/// the document it resolves to).
type CorrelationEdges = (DocumentRef, Vec<(NodePath, String, DocumentRef)>);

/// Correlations that refer back to themselves through a chain of correlations: each one in a
/// cycle gets an error at its first reference that leads back to it.
fn correlation_cycles(correlations: &[CorrelationEdges]) -> Vec<(usize, NodePath, Code, String)> {
    let edges: HashMap<DocumentRef, Vec<DocumentRef>> = correlations
        .iter()
        .map(|(c, refs)| (*c, refs.iter().map(|(_, _, t)| *t).collect()))
        .collect();
    let reaches = |from: DocumentRef, goal: DocumentRef| {
        let mut stack = vec![from];
        let mut seen = std::collections::HashSet::new();
        while let Some(node) = stack.pop() {
            if node == goal {
                return true;
            }
            if seen.insert(node) {
                stack.extend(edges.get(&node).into_iter().flatten().copied());
            }
        }
        false
    };
    let mut out = Vec::new();
    for (correlation, refs) in correlations {
        if let Some((path, reference, _)) = refs.iter().find(|(_, _, t)| reaches(*t, *correlation))
        {
            out.push((
                correlation.file,
                path.clone(),
                Code::InvalidCorrelation,
                format!(
                    "`{reference}` leads back to this correlation: correlations cannot refer to each other in a cycle"
                ),
            ));
        }
    }
    out
}

/// Whether a filter with log source `filter` applies to a rule with log source `rule`: every
/// field the filter sets must be the rule's.
fn covers(filter: &LogSource, rule: &LogSource) -> bool {
    [
        (&filter.category, &rule.category),
        (&filter.product, &rule.product),
        (&filter.service, &rule.service),
    ]
    .into_iter()
    .all(|(f, r)| match (f, r) {
        (None, _) => true,
        (Some(f), Some(r)) => f.eq_ignore_ascii_case(r),
        (Some(_), None) => false,
    })
}

/// Where an `id` or `name` was first seen, for duplicate diagnostics.
#[derive(Clone, Copy)]
struct FirstUse<'a> {
    file: usize,
    path: &'a Path,
    document: usize,
    global: Option<usize>,
}

impl FirstUse<'_> {
    /// "document 1 of this file" or the other file's path, seen from file `from`.
    fn describe(&self, from: usize) -> String {
        if self.file == from {
            format!("document {} of this file", self.document + 1)
        } else {
            self.path.display().to_string()
        }
    }
}

/// Every parsed file of a build or check, with cross-file references resolved.
#[derive(Debug, Default)]
pub struct RuleSet {
    /// The files, sorted by path.
    pub files: Vec<RuleFile>,
    /// Every `id` and `name` → its first document, built once: converters look up the rules
    /// of every correlation for every target.
    by_reference: HashMap<String, DocumentRef>,
    /// The filters that apply to a rule document, in rule-set order: by the rule file's path,
    /// then the document's index in its file. Empty when the set has no filters.
    filters_by_rule: HashMap<PathBuf, Vec<(usize, Vec<DocumentRef>)>>,
    /// The rule documents each filter tunes, in rule-set order.
    rules_by_filter: HashMap<DocumentRef, Vec<DocumentRef>>,
    /// Rule documents (file path, document index) that correlations refer to, each with
    /// whether one of those correlations leaves `generate` false.
    correlated: HashMap<(PathBuf, usize), bool>,
}

/// The address of a document within a [`RuleSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentRef {
    /// Index into [`RuleSet::files`].
    pub file: usize,
    /// Index into that file's [`RuleFile::documents`].
    pub document: usize,
}

impl RuleSet {
    /// Builds a rule set and resolves correlation and filter references, duplicate ids and
    /// duplicate names, adding diagnostics to the files concerned.
    pub fn new(mut files: Vec<RuleFile>) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut set = RuleSet {
            files,
            ..RuleSet::default()
        };
        set.resolve();
        set.by_reference = set
            .index()
            .into_iter()
            .map(|(key, r)| (key.to_string(), r))
            .collect();
        set.match_filters();
        set
    }

    /// Finds the rules every filter tunes: the rules it names (by `id` or `name`), or with
    /// `rules: any` every rule, in both cases only those whose log source the filter covers
    /// (the others got an `ineffective-filter` warning). Correlations are never filtered.
    fn match_filters(&mut self) {
        let mut rules_by_filter: HashMap<DocumentRef, Vec<DocumentRef>> = HashMap::new();
        for (r, _, doc) in self.documents() {
            let SigmaKind::Filter(filter) = &doc.kind else {
                continue;
            };
            let mut targets: Vec<DocumentRef> = if filter.filter.all_rules {
                self.documents()
                    .filter(|(_, _, d)| matches!(d.kind, SigmaKind::Rule(_)))
                    .map(|(t, _, _)| t)
                    .collect()
            } else {
                filter
                    .filter
                    .rules
                    .iter()
                    .filter_map(|rule_ref| self.lookup(&rule_ref.reference))
                    .collect()
            };
            targets.retain(|t| match &self.document(*t).kind {
                SigmaKind::Rule(rule) => covers(&filter.logsource, &rule.logsource),
                _ => false,
            });
            targets.sort();
            targets.dedup();
            if !targets.is_empty() {
                rules_by_filter.insert(r, targets);
            }
        }
        let mut filters: Vec<(&DocumentRef, &Vec<DocumentRef>)> = rules_by_filter.iter().collect();
        filters.sort();
        let mut filters_by_rule: HashMap<PathBuf, Vec<(usize, Vec<DocumentRef>)>> = HashMap::new();
        for (filter, targets) in filters {
            for target in targets {
                let file = &self.files[target.file];
                let index = file.documents[target.document].index;
                let entry = filters_by_rule.entry(file.path.clone()).or_default();
                match entry.iter_mut().find(|(i, _)| *i == index) {
                    Some((_, list)) => list.push(*filter),
                    None => entry.push((index, vec![*filter])),
                }
            }
        }
        self.filters_by_rule = filters_by_rule;
        self.rules_by_filter = rules_by_filter;
        let mut referenced: HashMap<DocumentRef, bool> = HashMap::new();
        for (_, _, doc) in self.documents() {
            let SigmaKind::Correlation(c) = &doc.kind else {
                continue;
            };
            for rule_ref in &c.correlation.rules {
                if let Some(target) = self.lookup(&rule_ref.reference) {
                    *referenced.entry(target).or_insert(false) |= !c.correlation.generate;
                }
            }
        }
        self.correlated = referenced
            .into_iter()
            .map(|(r, hidden)| {
                let file = &self.files[r.file];
                (
                    (file.path.clone(), file.documents[r.document].index),
                    hidden,
                )
            })
            .collect();
    }

    /// Whether `document` of `file` is a rule whose own query is not emitted: a correlation
    /// with `generate: false` (the default) refers to it. As in pySigma, one such correlation
    /// is enough, even if another one sets `generate: true`.
    pub fn is_generated_only_by_correlation(&self, file: &RuleFile, document: &Document) -> bool {
        !self.correlated.is_empty()
            && self
                .correlated
                .get(&(file.path.clone(), document.index))
                .is_some_and(|hidden| *hidden)
    }

    /// Whether a correlation refers to `document` of `file`. pySigma prints such a rule's
    /// query as the correlation uses it, without the wrapping its backend adds to a rule of its
    /// own (EQL's `any where`, ES|QL's `from …`, Splunk's `| table`).
    pub fn is_used_by_correlation(&self, file: &RuleFile, document: &Document) -> bool {
        !self.correlated.is_empty()
            && self
                .correlated
                .contains_key(&(file.path.clone(), document.index))
    }

    /// The filters that tune `document` of `file`, in the order they apply.
    pub fn filters_of(&self, file: &RuleFile, document: &Document) -> &[DocumentRef] {
        self.filters_by_rule
            .get(&file.path)
            .and_then(|docs| docs.iter().find(|(i, _)| *i == document.index))
            .map_or(&[], |(_, filters)| filters.as_slice())
    }

    /// The rule documents the filter at `filter` tunes.
    pub fn tuned_by(&self, filter: DocumentRef) -> &[DocumentRef] {
        self.rules_by_filter.get(&filter).map_or(&[], Vec::as_slice)
    }

    /// `document` of `file` with the filters that apply to it applied, or `None` when none
    /// does (the document is then used as it is).
    pub fn tuned(&self, file: &RuleFile, document: &Document) -> Option<Document> {
        let filters = self.filters_of(file, document);
        let SigmaKind::Rule(rule) = &document.kind else {
            return None;
        };
        if filters.is_empty() {
            return None;
        }
        let filters: Vec<&super::rule::FilterRule> = filters
            .iter()
            .filter_map(|f| match &self.document(*f).kind {
                SigmaKind::Filter(filter) => Some(filter),
                _ => None,
            })
            .collect();
        Some(Document {
            index: document.index,
            kind: SigmaKind::Rule(super::filters::tune(rule, &filters)),
            global: document.global,
        })
    }

    /// The document at `r`.
    pub fn document(&self, r: DocumentRef) -> &Document {
        &self.files[r.file].documents[r.document]
    }

    /// Every document, in file order.
    pub fn documents(&self) -> impl Iterator<Item = (DocumentRef, &RuleFile, &Document)> {
        self.files.iter().enumerate().flat_map(|(f, file)| {
            file.documents.iter().enumerate().map(move |(d, doc)| {
                (
                    DocumentRef {
                        file: f,
                        document: d,
                    },
                    file,
                    doc,
                )
            })
        })
    }

    /// Finds the document whose `id` or `name` is `reference`.
    pub fn lookup(&self, reference: &str) -> Option<DocumentRef> {
        self.by_reference.get(reference).copied()
    }

    fn index(&self) -> HashMap<&str, DocumentRef> {
        let mut index = HashMap::new();
        for (r, _, doc) in self.documents() {
            let meta = doc.kind.meta();
            for key in [&meta.id, &meta.name].into_iter().flatten() {
                index.entry(key.as_str()).or_insert(r);
            }
        }
        index
    }

    fn resolve(&mut self) {
        let mut additions: Vec<(usize, NodePath, Code, String)> = Vec::new();
        {
            let index = self.index();
            let mut correlations: Vec<CorrelationEdges> = Vec::new();
            let mut seen_ids: HashMap<&str, FirstUse<'_>> = HashMap::new();
            let mut seen_names: HashMap<&str, FirstUse<'_>> = HashMap::new();
            for (r, file, doc) in self.documents() {
                let meta = doc.kind.meta();
                let root = NodePath::root(doc.index);
                let this = FirstUse {
                    file: r.file,
                    path: &file.path,
                    document: doc.index,
                    global: doc.global,
                };
                if let Some(id) = &meta.id {
                    match seen_ids.get(id.as_str()) {
                        // Variants of one `action: global` rule inherit its id.
                        Some(first)
                            if first.file == r.file
                                && first.global.is_some()
                                && first.global == doc.global => {}
                        Some(first) => additions.push((
                            r.file,
                            root.key("id"),
                            Code::DuplicateId,
                            format!("id `{id}` is also used by {}", first.describe(r.file)),
                        )),
                        None => {
                            seen_ids.insert(id, this);
                        }
                    }
                }
                if let Some(name) = &meta.name {
                    match seen_names.get(name.as_str()) {
                        Some(first) => additions.push((
                            r.file,
                            root.key("name"),
                            Code::DuplicateName,
                            format!("name `{name}` is also used by {}", first.describe(r.file)),
                        )),
                        None => {
                            seen_names.insert(name, this);
                        }
                    }
                }
                let refs = match &doc.kind {
                    SigmaKind::Correlation(c) => &c.correlation.rules,
                    SigmaKind::Filter(f) => &f.filter.rules,
                    SigmaKind::Rule(_) => continue,
                };
                let mut targets = Vec::with_capacity(refs.len());
                for rule_ref in refs {
                    let Some(&target) = index.get(rule_ref.reference.as_str()) else {
                        additions.push((
                            r.file,
                            rule_ref.path.clone(),
                            Code::UnresolvedReference,
                            format!(
                                "no rule in the rule set has the id or name `{}`",
                                rule_ref.reference
                            ),
                        ));
                        continue;
                    };
                    targets.push((rule_ref, target));
                    let reference = &rule_ref.reference;
                    match (&doc.kind, &self.document(target).kind) {
                        (
                            SigmaKind::Filter(_),
                            SigmaKind::Correlation(_) | SigmaKind::Filter(_),
                        )
                        | (SigmaKind::Correlation(_), SigmaKind::Filter(_)) => {
                            let (code, what) = match doc.kind {
                                SigmaKind::Filter(_) => (Code::InvalidFilter, "a filter"),
                                _ => (Code::InvalidCorrelation, "a correlation"),
                            };
                            additions.push((
                                r.file,
                                rule_ref.path.clone(),
                                code,
                                format!(
                                    "`{reference}` is a {} rule; {what} applies to detection rules{}",
                                    self.document(target).kind.kind_name(),
                                    if code == Code::InvalidCorrelation {
                                        " and correlations"
                                    } else {
                                        ""
                                    }
                                ),
                            ));
                        }
                        (SigmaKind::Filter(filter), SigmaKind::Rule(rule))
                            if !covers(&filter.logsource, &rule.logsource) =>
                        {
                            additions.push((
                                r.file,
                                rule_ref.path.clone(),
                                Code::IneffectiveFilter,
                                format!(
                                    "the filter's log source ({}) does not cover rule `{reference}` ({}), so it never applies to it",
                                    filter.logsource.summary(),
                                    rule.logsource.summary()
                                ),
                            ));
                        }
                        _ => {}
                    }
                }
                if let SigmaKind::Correlation(c) = &doc.kind {
                    for alias in &c.correlation.aliases {
                        for (rule, _) in &alias.fields {
                            let used = index
                                .get(rule.as_str())
                                .is_some_and(|t| targets.iter().any(|(_, u)| u == t));
                            if !used {
                                additions.push((
                                    r.file,
                                    root.key("correlation")
                                        .key("aliases")
                                        .key(&alias.alias)
                                        .key_name(rule),
                                    Code::InvalidCorrelation,
                                    format!(
                                        "alias `{}` names rule `{rule}`, which is not one of the correlation's `rules`",
                                        alias.alias
                                    ),
                                ));
                            }
                        }
                    }
                    correlations.push((
                        r,
                        targets
                            .iter()
                            .map(|(rule_ref, t)| {
                                (rule_ref.path.clone(), rule_ref.reference.clone(), *t)
                            })
                            .collect::<Vec<_>>(),
                    ));
                }
            }
            additions.extend(correlation_cycles(&correlations));
        }
        for (file_index, node, code, message) in additions {
            let file = &mut self.files[file_index];
            let position = file.position_of(&node);
            file.diagnostics.push(Diagnostic {
                file: file.path.clone(),
                line: position.line,
                column: position.column,
                severity: code.default_severity(),
                code,
                message,
            });
            file.diagnostics.sort();
            if code.default_severity() == Severity::Error {
                // A correlation or filter with a dangling reference cannot be used.
                let doc_index = node.document;
                file.documents.retain(|d| d.index != doc_index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> RuleFile {
        parse_source(
            Path::new("t.yml"),
            Path::new("t.yml"),
            text.to_string(),
            &ParseOptions::default(),
        )
    }

    #[test]
    fn global_action_merges_into_following_documents() {
        let file = parse(
            "action: global\ntitle: T\nstatus: test\ndetection:\n    condition: sel\n---\nlogsource:\n    product: windows\ndetection:\n    sel:\n        EventID: 1\n---\nlogsource:\n    product: linux\ndetection:\n    sel:\n        foo: bar\n",
        );
        assert_eq!(file.documents.len(), 2, "{:?}", file.diagnostics);
        assert!(file.diagnostics.iter().all(|d| !d.is_error()));
        assert_eq!(file.documents[1].kind.meta().title, "T");
    }

    #[test]
    fn unknown_action_is_an_error() {
        let file = parse("action: frobnicate\ntitle: T\n");
        assert!(
            file.diagnostics
                .iter()
                .any(|d| d.code == Code::InvalidAction && d.line == 1)
        );
    }

    #[test]
    fn references_are_resolved_across_files() {
        let rule = parse(
            "title: A\nname: failed_login\nlogsource:\n    product: windows\ndetection:\n    sel:\n        EventID: 4625\n    condition: sel\n",
        );
        let correlation = parse(
            "title: C\ncorrelation:\n    type: event_count\n    rules:\n        - failed_login\n        - nothing_here\n    group-by:\n        - User\n    timespan: 1h\n    condition:\n        gte: 10\n",
        );
        let set = RuleSet::new(vec![rule, correlation]);
        let unresolved: Vec<_> = set
            .files
            .iter()
            .flat_map(|f| &f.diagnostics)
            .filter(|d| d.code == Code::UnresolvedReference)
            .collect();
        assert_eq!(unresolved.len(), 1);
        assert_eq!(unresolved[0].line, 6);
        assert!(set.lookup("failed_login").is_some());
    }
}
