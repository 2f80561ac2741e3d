//! The page model: what the site knows about each rule file ([`RuleEntry`], computed once, in
//! parallel), the relations between rules (correlations, filters, `related`), and the typed
//! contexts the templates render ([`RulePage`], [`ListPage`]).
//!
//! Each enrichment is a typed field of the rule page — `tactics`, `techniques`, `data_needed`,
//! `triggers`, `queries` — and an empty field renders as an honest empty state, never as
//! made-up data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path};
use std::sync::Arc;

use serde::Serialize;

use crate::sigma::{Diagnostic, RuleFile, RuleSet, SigmaKind};

use super::enrichment::{DataNeeded, Enricher, Enrichment, OtherTag, Tactic, Technique, Trigger};

/// Where a page is: its path under the site root, without extension (`rules/windows/x`).
pub type PagePath = String;

/// A rule file that gets a page.
#[derive(Debug, Clone, Serialize)]
pub struct RuleEntry {
    /// Index of the file in the rule set.
    #[serde(skip)]
    pub file: usize,
    /// The enrichment's warnings about the file (revoked ATT&CK tags…).
    #[serde(skip)]
    pub diagnostics: Vec<Diagnostic>,
    /// The page path (`rules/windows/sysmon/x`).
    pub page: PagePath,
    /// The rule file's path relative to its input folder, `/`-separated.
    pub source_path: String,
    /// `rule`, `correlation` or `filter` (of the first document).
    pub kind: &'static str,
    /// Title.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `level`.
    pub level: Option<&'static str>,
    /// `status`.
    pub status: Option<&'static str>,
    /// `description`.
    pub description: Option<String>,
    /// `author`, as written.
    pub author: Option<String>,
    /// The authors, split on commas.
    pub authors: Vec<String>,
    /// `date`, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// `modified`, `YYYY-MM-DD`.
    pub modified: Option<String>,
    /// Log sources of the file's documents, without duplicates.
    pub logsources: Vec<LogSourceKey>,
    /// Tags as written, without duplicates.
    pub tags: Vec<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// The facts from the enricher, merged over the file's documents.
    #[serde(skip)]
    pub enrichment: Enrichment,
    /// `deprecated` or `unsupported` when the rule is retired (see [`retired`]): its page says
    /// so and it does not count towards the ATT&CK coverage.
    #[serde(skip)]
    pub retired: Option<&'static str>,
    /// The verdicts of the rule's regression tests (none when it has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regression: Vec<super::regression::RegressionSummary>,
    /// What the rule matched in the events given with `--events` (preview and serve).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events_check: Vec<super::regression::EventsCheck>,
}

/// Why a rule is retired, if it is: it sits in a `deprecated/` or `unsupported/` folder (where
/// SigmaHQ keeps rules it no longer maintains or that no backend can convert), or has that
/// `status`. Only the folders the user handed over count: the walked folder itself (or the
/// folder of a file named directly) and those below it, the ones `relative` spans. A folder
/// above the input root, like a checkout kept under `~/unsupported/`, says nothing about
/// the rules inside it.
pub fn retired(
    path: &std::path::Path,
    relative: &std::path::Path,
    status: Option<&'static str>,
) -> Option<&'static str> {
    if let Some(status @ ("deprecated" | "unsupported")) = status {
        return Some(status);
    }
    // `path` is the walked folder joined with `relative`, so the last as many folders of its
    // parent as `relative` has components are the walked folder and the folders below it.
    let folders: Vec<_> = path.parent()?.components().collect();
    let below_root = relative.components().count();
    folders[folders.len().saturating_sub(below_root)..]
        .iter()
        .rev()
        .find_map(|c| match c.as_os_str().to_str() {
            Some("deprecated") => Some("deprecated"),
            Some("unsupported") => Some("unsupported"),
            _ => None,
        })
}

/// A log source: `(product, category, service)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LogSourceKey {
    /// `product`.
    pub product: Option<String>,
    /// `category`.
    pub category: Option<String>,
    /// `service`.
    pub service: Option<String>,
}

impl LogSourceKey {
    /// `product: windows · service: sysmon`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}: {v}"));
            }
        }
        if parts.is_empty() {
            "any".to_string()
        } else {
            parts.join(" · ")
        }
    }

    /// `windows-sysmon`: the page slug candidate.
    pub fn slug_source(&self) -> String {
        let parts: Vec<&str> = [&self.product, &self.category, &self.service]
            .into_iter()
            .map(|p| p.as_deref().unwrap_or("any"))
            .collect();
        parts.join("-")
    }
}

/// Computes the entry of a rule file. `page` is its page path.
pub fn entry(
    file_index: usize,
    file: &RuleFile,
    page: PagePath,
    enricher: &dyn Enricher,
) -> Option<RuleEntry> {
    let first = file.documents.first()?;
    let meta = first.kind.meta();
    let mut enrichment = Enrichment::default();
    let mut logsources = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    for document in &file.documents {
        merge(&mut enrichment, enricher.enrich(document));
        if let Some(ls) = document.kind.logsource() {
            let key = LogSourceKey {
                product: ls.product.clone(),
                category: ls.category.clone(),
                service: ls.service.clone(),
            };
            if !logsources.contains(&key) {
                logsources.push(key);
            }
        }
        for tag in &document.kind.meta().tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
    }
    let authors = meta
        .author
        .as_deref()
        .map(|a| {
            a.split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some(RuleEntry {
        file: file_index,
        diagnostics: enricher.diagnostics(file),
        page,
        source_path: file
            .relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
        kind: first.kind.kind_name(),
        title: meta.title.clone(),
        id: meta.id.clone(),
        name: meta.name.clone(),
        level: meta.level.map(|l| l.name()),
        status: meta.status.map(|s| s.name()),
        description: meta.description.clone(),
        author: meta.author.clone(),
        authors,
        date: meta.date.as_ref().map(ToString::to_string),
        modified: meta.modified.as_ref().map(ToString::to_string),
        logsources,
        tags,
        references: meta.references.clone(),
        falsepositives: meta.falsepositives.clone(),
        enrichment,
        retired: retired(&file.path, &file.relative, meta.status.map(|s| s.name())),
        regression: Vec::new(),
        events_check: Vec::new(),
    })
}

/// Drops from `entry` what only its own page and its `rules.json` element show (the
/// description, references, false positives, the author as written, the tags beyond ATT&CK,
/// the tactics of each technique): what stays is what the index pages, the rules table, the
/// coverage and the other exports read. The lists of tests of its triggers and of fields of
/// its Data Needed entries, the same for every rule that has them, go to `shared`, once, and
/// what is left of its tactics, techniques and Data Needed entries is shared with every other
/// entry that has the same. A large build holds every entry like this and makes the whole
/// entry again, from the whole file, when it renders the rule's page.
pub fn compact(entry: &mut RuleEntry, shared: &Shared) {
    entry.description = None;
    entry.author = None;
    entry.references = Vec::new();
    entry.falsepositives = Vec::new();
    let enrichment = &mut entry.enrichment;
    enrichment.other_tags = Vec::new();
    // What is left of a tactic, technique or Data Needed entry is what every rule that has it
    // has: one value, shared.
    for tactic in &mut enrichment.tactics {
        let mut kept = Tactic::clone(tactic);
        kept.implied_by = Vec::new();
        kept.former_name = None;
        *tactic = shared.tactics.intern(kept);
    }
    for technique in &mut enrichment.techniques {
        let mut kept = Technique::clone(technique);
        kept.tactics = Vec::new();
        *technique = shared.techniques.intern(kept);
    }
    if !enrichment.triggers.is_empty() {
        let mut tests = lock(&shared.tests);
        for trigger in &mut enrichment.triggers {
            let list = std::mem::take(&mut trigger.tests);
            tests
                .entry((trigger.technique.clone(), trigger.url.clone()))
                .or_insert(list);
        }
    }
    if !enrichment.data_needed.is_empty() {
        let mut fields = lock(&shared.fields);
        for d in &mut enrichment.data_needed {
            let mut kept = DataNeeded::clone(d);
            let list = std::mem::take(&mut kept.fields);
            fields.entry(kept.id.clone()).or_insert(list);
            *d = shared.data_needed.intern(kept);
        }
    }
    // Vectors grown by pushes keep room for more, which was much of a held entry's size.
    enrichment.tactics.shrink_to_fit();
    enrichment.techniques.shrink_to_fit();
    enrichment.data_needed.shrink_to_fit();
    enrichment.triggers.shrink_to_fit();
    entry.logsources.shrink_to_fit();
    entry.tags.shrink_to_fit();
    entry.authors.shrink_to_fit();
}

/// What compact entries leave out because every entry that has it has the same (see
/// [`compact`]), kept once for the index pages: they get it back with
/// [`super::indexes::Indexes::restore`].
#[derive(Debug, Default)]
pub struct Shared {
    /// `(technique, url)` of a trigger → its tests.
    pub(crate) tests: std::sync::Mutex<HashMap<(String, String), Vec<String>>>,
    /// Data Needed id → its fields.
    pub(crate) fields: std::sync::Mutex<HashMap<String, Vec<String>>>,
    /// The compact tactics, techniques and Data Needed entries, each held once.
    tactics: Pool<Tactic>,
    techniques: Pool<Technique>,
    data_needed: Pool<DataNeeded>,
}

/// Values held once, however many entries hold them.
#[derive(Debug)]
struct Pool<T>(std::sync::Mutex<std::collections::HashSet<Arc<T>>>);

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool(std::sync::Mutex::new(std::collections::HashSet::new()))
    }
}

impl<T: Eq + std::hash::Hash> Pool<T> {
    /// The pool's value equal to `value`, `value` itself when it is the first.
    fn intern(&self, value: T) -> Arc<T> {
        let mut values = lock(&self.0);
        if let Some(held) = values.get(&value) {
            return Arc::clone(held);
        }
        let held = Arc::new(value);
        values.insert(Arc::clone(&held));
        held
    }
}

/// `mutex` locked; a poisoned lock still holds whole lists (they are inserted whole).
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn merge(into: &mut Enrichment, more: Enrichment) {
    for t in more.tactics {
        if !into.tactics.iter().any(|x| x.id == t.id) {
            into.tactics.push(t);
        }
    }
    for t in more.techniques {
        if !into
            .techniques
            .iter()
            .any(|x| x.technique.id == t.technique.id)
        {
            into.techniques.push(t);
        }
    }
    for d in more.data_needed {
        if !into.data_needed.iter().any(|x| x.id == d.id) {
            into.data_needed.push(d);
        }
    }
    into.data_needed.sort_by(|a, b| a.id.cmp(&b.id));
    for t in more.triggers {
        if !into.triggers.iter().any(|x| x.technique == t.technique) {
            into.triggers.push(t);
        }
    }
    for t in more.other_tags {
        if !into.other_tags.iter().any(|x| x.tag == t.tag) {
            into.other_tags.push(t);
        }
    }
}

/// How two rules are related.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Relation {
    /// The other rule (index into the entries), if it is in the site.
    #[serde(skip)]
    pub other: Option<usize>,
    /// The other rule's id or name as referenced.
    pub reference: String,
    /// What the relation is, from this rule's side ("uses", "used by correlation",
    /// "derived from", "derived into" …).
    pub label: String,
}

/// The relations of every entry, both directions.
#[derive(Debug, Default)]
pub struct Relations {
    /// Per entry: rules this correlation or filter uses.
    pub uses: Vec<Vec<Relation>>,
    /// Per entry: correlations and filters that use this rule.
    pub used_by: Vec<Vec<Relation>>,
    /// Per entry: `related` links, both the rule's own and those pointing at it.
    pub related: Vec<Vec<Relation>>,
    /// Redirects: old id → the entry that renamed, obsoleted or merged it.
    pub redirects: BTreeMap<String, usize>,
}

/// Resolves correlation, filter and `related` references between entries.
pub fn relations(entries: &[RuleEntry], rules: &RuleSet) -> Relations {
    let n = entries.len();
    let mut out = Relations {
        uses: vec![Vec::new(); n],
        used_by: vec![Vec::new(); n],
        related: vec![Vec::new(); n],
        redirects: BTreeMap::new(),
    };
    let by_file: HashMap<usize, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.file, i))
        .collect();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(id) = &e.id {
            by_id.entry(id.as_str()).or_insert(i);
        }
    }
    for (i, e) in entries.iter().enumerate() {
        let Some(file) = rules.files.get(e.file) else {
            continue;
        };
        for document in &file.documents {
            let (refs, what) = match &document.kind {
                SigmaKind::Correlation(c) => (c.correlation.rules.as_slice(), "correlation"),
                SigmaKind::Filter(f) => (f.filter.rules.as_slice(), "filter"),
                SigmaKind::Rule(_) => (&[][..], "rule"),
            };
            for r in refs {
                let other = rules
                    .lookup(&r.reference)
                    .and_then(|d| by_file.get(&d.file).copied());
                out.uses[i].push(Relation {
                    other,
                    reference: r.reference.clone(),
                    label: if what == "filter" {
                        "filters".to_string()
                    } else {
                        "uses".to_string()
                    },
                });
                if let Some(o) = other {
                    if o != i {
                        out.used_by[o].push(Relation {
                            other: Some(i),
                            reference: e.id.clone().or_else(|| e.name.clone()).unwrap_or_default(),
                            label: if what == "filter" {
                                "filtered by".to_string()
                            } else {
                                "used by correlation".to_string()
                            },
                        });
                    }
                }
            }
            let meta = document.kind.meta();
            for rel in &meta.related {
                let kind = rel.kind.name();
                let other = by_id.get(rel.id.as_str()).copied();
                out.related[i].push(Relation {
                    other,
                    reference: rel.id.clone(),
                    label: forward_label(kind).to_string(),
                });
                if let Some(o) = other {
                    if o != i {
                        out.related[o].push(Relation {
                            other: Some(i),
                            reference: e.id.clone().unwrap_or_default(),
                            label: backward_label(kind).to_string(),
                        });
                    }
                } else if matches!(kind, "renamed" | "obsolete" | "merged") {
                    out.redirects.entry(rel.id.clone()).or_insert(i);
                }
            }
        }
    }
    for list in out
        .uses
        .iter_mut()
        .chain(out.used_by.iter_mut())
        .chain(out.related.iter_mut())
    {
        list.sort_by(|a, b| {
            (a.other, &a.label, &a.reference).cmp(&(b.other, &b.label, &b.reference))
        });
        list.dedup();
    }
    out
}

fn forward_label(kind: &str) -> &'static str {
    match kind {
        "derived" => "derived from",
        "obsolete" => "replaces (obsolete)",
        "merged" => "merged from",
        "renamed" => "renamed from",
        _ => "similar to",
    }
}

fn backward_label(kind: &str) -> &'static str {
    match kind {
        "derived" => "has derived rule",
        "obsolete" => "replaced by",
        "merged" => "merged into",
        "renamed" => "renamed to",
        _ => "similar to",
    }
}

/// A link to another page, relative to the page that shows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// The text.
    pub title: String,
    /// The relative href (to a `.md` page in Markdown; the HTML conversion rewrites it).
    pub href: String,
}

/// A tactic on a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct TacticItem<'a> {
    /// The tactic.
    #[serde(flatten)]
    pub tactic: &'a Tactic,
    /// Its index page.
    pub href: String,
}

/// A technique on a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct TechniqueItem<'a> {
    /// The technique.
    #[serde(flatten)]
    pub technique: &'a Technique,
    /// The index page of the effective technique.
    pub href: String,
}

/// A Data Needed entry on a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct DataNeededItem<'a> {
    /// The entry.
    #[serde(flatten)]
    pub entry: &'a DataNeeded,
    /// Its page.
    pub href: String,
}

/// A tag on a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct TagItem<'a> {
    /// The tag.
    #[serde(flatten)]
    pub tag: &'a OtherTag,
    /// Its index page.
    pub href: String,
}

/// A relation on a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct RelationItem {
    /// What the relation is.
    pub label: String,
    /// The referenced id or name.
    pub reference: String,
    /// The other rule's title, if it is in the site.
    pub title: Option<String>,
    /// The other rule's page, if it is in the site.
    pub href: Option<String>,
}

/// One query target section of a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct QueryItem {
    /// The target's name (`es-qs`).
    pub target: String,
    /// The entry as configured: the target and its pipelines (`splunk+sysmon`).
    pub spec: String,
    /// The processing pipelines the query went through, as the entry names them.
    pub pipelines: Vec<String>,
    /// The section title ("Kibana query").
    pub title: String,
    /// The code block's language.
    pub language: &'static str,
    /// The query, when the rule could be converted.
    pub output: Option<String>,
    /// Why it could not be.
    pub error: Option<String>,
}

/// A metadata key the specification does not define, shown as written.
#[derive(Debug, Clone, Serialize)]
pub struct CustomField {
    /// The key.
    pub key: String,
    /// The value, as YAML text.
    pub value: String,
}

/// A correlation's definition, for its page.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationItem {
    /// `event_count` …
    pub kind: String,
    /// `group-by` fields.
    pub group_by: Vec<String>,
    /// `timespan` as written.
    pub timespan: String,
    /// The condition, e.g. `>= 10`.
    pub condition: String,
    /// The `field` of a value_count correlation.
    pub field: Option<String>,
    /// Whether the used rules also generate alerts themselves.
    pub generate: bool,
}

/// A log source on a rule page.
#[derive(Debug, Clone, Serialize)]
pub struct LogSourceItem {
    /// The summary (`product: windows · service: sysmon`).
    pub summary: String,
    /// Its index page.
    pub href: String,
    /// `definition`, if written.
    pub definition: Option<String>,
}

/// Everything a rule page shows. Rendered by `rule.md`; the HTML page is that Markdown inside
/// `rule.html`.
#[derive(Debug, Serialize)]
pub struct RulePage<'a> {
    /// `../../`: the way from this page to the site root.
    pub root: String,
    /// Whether an ATT&CK catalog was available (for the empty states).
    pub catalog: bool,
    /// The rule's metadata.
    pub rule: &'a RuleEntry,
    /// Link to the level's index page.
    pub level_href: Option<String>,
    /// Link to the status's index page.
    pub status_href: Option<String>,
    /// Authors with links to their pages.
    pub authors: Vec<Link>,
    /// `license`.
    pub license: Option<String>,
    /// `fields`.
    pub fields: Vec<String>,
    /// `scope`.
    pub scope: Vec<String>,
    /// The log sources.
    pub logsources: Vec<LogSourceItem>,
    /// ATT&CK tactics.
    pub tactics: Vec<TacticItem<'a>>,
    /// ATT&CK techniques.
    pub techniques: Vec<TechniqueItem<'a>>,
    /// Data Needed entries.
    pub data_needed: Vec<DataNeededItem<'a>>,
    /// Triggers.
    pub triggers: &'a [Trigger],
    /// Tags that are not tactics or techniques.
    pub other_tags: Vec<TagItem<'a>>,
    /// Keys the specification does not define.
    pub custom: Vec<CustomField>,
    /// Correlation definition, for correlation rules.
    pub correlation: Option<CorrelationItem>,
    /// Rules this correlation or filter uses.
    pub uses: Vec<RelationItem>,
    /// Correlations and filters using this rule.
    pub used_by: Vec<RelationItem>,
    /// `related` rules, both directions.
    pub related: Vec<RelationItem>,
    /// The rule file's text, verbatim.
    pub source: &'a str,
    /// The rule file's name.
    pub file_name: String,
    /// Query sections, one per configured target, in order.
    pub queries: Vec<QueryItem>,
    /// The name of the field mapping the queries were converted with, if any.
    pub field_mapping: Option<String>,
    /// Warnings about the rule file (`file:line:col: message`).
    pub warnings: Vec<String>,
    /// `deprecated` or `unsupported` for a retired rule.
    pub retired: Option<&'static str>,
    /// The filters that tune this rule's queries, in the order they apply.
    pub tuned_by: Vec<RelationItem>,
    /// On a filter's page: the rules it tunes, each with its tuned queries.
    pub tuned_rules: Vec<TunedRule>,
}

/// A rule a filter tunes, on the filter's page.
#[derive(Debug, Clone, Serialize)]
pub struct TunedRule {
    /// The rule's title.
    pub title: String,
    /// Its page.
    pub href: Option<String>,
    /// Its queries with the filters applied.
    pub queries: Vec<QueryItem>,
}

/// A row of a rules table on an index page.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    /// Title.
    pub title: String,
    /// The rule page, relative to the listing page.
    pub href: String,
    /// Level.
    pub level: Option<&'static str>,
    /// Status.
    pub status: Option<&'static str>,
    /// Log sources, summarised.
    pub logsource: String,
    /// `date`.
    pub date: Option<String>,
}

/// A labelled fact on an index page (a tactic's ATT&CK link, a Data Needed channel…).
#[derive(Debug, Clone, Serialize)]
pub struct Fact {
    /// Label.
    pub label: String,
    /// Text.
    pub value: String,
    /// Link, when the value links somewhere (relative or http(s)).
    pub href: Option<String>,
}

/// A group on an index-of-indexes page (all tactics, all tags…).
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// Name.
    pub title: String,
    /// Page.
    pub href: String,
    /// How many rules.
    pub count: usize,
    /// The section it belongs to (tag namespace), if any.
    pub section: Option<String>,
}

/// An index page, rendered by `list.md`.
#[derive(Debug, Clone, Serialize)]
pub struct ListPage {
    /// The way to the site root.
    pub root: String,
    /// Heading.
    pub title: String,
    /// One-line explanation.
    pub intro: Option<String>,
    /// Facts, shown as a table.
    pub facts: Vec<Fact>,
    /// Sub-pages.
    pub groups: Vec<Group>,
    /// Rules.
    pub rules: Vec<RuleRow>,
    /// Triggers (technique pages).
    pub triggers: Vec<Trigger>,
    /// The Markdown page of the parent listing.
    pub parent: Option<Link>,
}

/// The page path of a rule file: `rules/` + its relative path without extension, each segment
/// kept when it is a plain name and made safe otherwise.
pub fn page_path(relative: &Path) -> PagePath {
    let mut parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if let Some(last) = parts.last_mut() {
        let stem = Path::new(last.as_str())
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        *last = stem;
    }
    let safe: Vec<String> = parts
        .iter()
        .map(|p| {
            let plain = !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if plain { p.clone() } else { path_segment(p) }
        })
        .collect();
    if safe.is_empty() {
        "rules/rule".to_string()
    } else {
        format!("rules/{}", safe.join("/"))
    }
}

/// A rule file without a page, for the error page.
#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    /// The file as given or found.
    pub file: String,
    /// Its errors.
    pub errors: Vec<FailedDiagnostic>,
}

/// One error of a failed file.
#[derive(Debug, Clone, Serialize)]
pub struct FailedDiagnostic {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
    /// Stable code.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl FailedFile {
    /// The entry of `file`, which failed with `errors` (none: it holds no usable document).
    pub fn new(file: &RuleFile, errors: Vec<&Diagnostic>) -> FailedFile {
        let errors = if errors.is_empty() {
            vec![FailedDiagnostic {
                line: 1,
                column: 1,
                code: "empty-file".to_string(),
                message: "the file contains no usable Sigma document".to_string(),
            }]
        } else {
            errors
                .into_iter()
                .map(|d| FailedDiagnostic {
                    line: d.line,
                    column: d.column,
                    code: d.code.to_string(),
                    message: d.message.clone(),
                })
                .collect()
        };
        FailedFile {
            file: file.path.display().to_string(),
            errors,
        }
    }
}

/// The relative way from a page at `path` to the site root (`rules/a/b` → `../../`).
pub fn root_of(path: &str) -> String {
    "../".repeat(path.matches('/').count())
}

/// A unique, filesystem-safe slug for each key of a namespace, assigned in key order so the
/// result is deterministic.
#[derive(Debug, Default)]
pub struct Slugs {
    taken: BTreeSet<String>,
}

impl Slugs {
    /// A slug set with `reserved` names unavailable.
    pub fn new(reserved: &[&str]) -> Slugs {
        Slugs {
            taken: reserved.iter().map(|s| s.to_ascii_lowercase()).collect(),
        }
    }

    /// The slug for `text`: ASCII letters, digits, `.`, `_` and `-`, unique regardless of case
    /// (so pages do not collide on case-insensitive filesystems).
    pub fn assign(&mut self, text: &str) -> String {
        let base = path_segment(text);
        let mut slug = base.clone();
        let mut n = 2;
        while !self.taken.insert(slug.to_ascii_lowercase()) {
            slug = format!("{base}-{n}");
            n += 1;
        }
        slug
    }
}

/// A safe path segment for `text`: ASCII letters, digits, `.`, `_` and `-`; other runs become
/// one `-`; spaces-only or empty text becomes `x`.
pub fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.').to_string();
    if trimmed.is_empty() {
        "x".to_string()
    } else {
        trimmed.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::retired;
    use std::path::Path;

    #[test]
    fn retired_looks_at_the_input_root_and_below_only() {
        // Found under the walked `deprecated/` folder.
        assert_eq!(
            retired(
                Path::new("sigma/deprecated/windows/a.yml"),
                Path::new("windows/a.yml"),
                None
            ),
            Some("deprecated")
        );
        // Found when the checkout's root is walked.
        assert_eq!(
            retired(
                Path::new("/src/sigma/unsupported/linux/b.yml"),
                Path::new("unsupported/linux/b.yml"),
                None
            ),
            Some("unsupported")
        );
        // A file named directly inside a deprecated folder.
        assert_eq!(
            retired(Path::new("deprecated/c.yml"), Path::new("c.yml"), None),
            Some("deprecated")
        );
        // Folders above the input root say nothing.
        assert_eq!(
            retired(
                Path::new("/home/me/unsupported/sigma/rules/windows/d.yml"),
                Path::new("rules/windows/d.yml"),
                None
            ),
            None
        );
        assert_eq!(
            retired(
                Path::new("/deprecated/work/rules/e.yml"),
                Path::new("e.yml"),
                None
            ),
            None
        );
        // The status decides wherever the file is.
        assert_eq!(
            retired(
                Path::new("rules/f.yml"),
                Path::new("f.yml"),
                Some("deprecated")
            ),
            Some("deprecated")
        );
        assert_eq!(
            retired(Path::new("rules/g.yml"), Path::new("g.yml"), Some("stable")),
            None
        );
    }
}
